// Package database creates the Ory databases, their login roles and grants in CockroachDB, by
// one of two paths: a Kubernetes Job that runs idempotent SQL with the cockroach CLI (the
// default), or the Pulumi PostgreSQL provider.
package database

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi-random/sdk/v4/go/random"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Bootstrap paths for BootstrapArgs.Mode.
const (
	ModeJob      = "job"
	ModeProvider = "provider"
)

// BootstrapArgs configures a Bootstrap.
type BootstrapArgs struct {
	// Mode is ModeJob or ModeProvider. Required.
	Mode string
	// Logins are the databases and roles to create. Required.
	Logins []Login
	// Admin is how the bootstrap connects. Required.
	Admin Admin
	// CockroachVersion tags the cockroachdb/cockroach image the Job runs. Required.
	CockroachVersion string
	// Namespace and Provider place the Job and its Secrets. Required for both modes: the
	// provider mode also runs a readiness Job before it connects.
	Namespace pulumi.StringInput
	Provider  *kubernetes.Provider
	// Labels go on every Kubernetes object. Optional.
	Labels map[string]string
	// WaitFor are resources the bootstrap must come after, such as the cluster and peering.
	WaitFor []pulumi.Resource
}

// Admin is a connection as a SQL user allowed to create databases and roles: root with its
// client certificate on the self-hosted cluster, or a password user on an external one.
type Admin struct {
	// Host and Port reach SQL, for example the internal NLB on 26257. Required.
	Host pulumi.StringInput
	Port int
	// User is the SQL user. Required.
	User string
	// SSLMode is verify-full or verify-ca. Required.
	SSLMode string
	// CACert is the PEM CA that verifies the server. Optional; nil trusts the system roots.
	CACert pulumi.StringInput
	// ClientCert and ClientKey authenticate with a certificate. Optional, together.
	ClientCert, ClientKey pulumi.StringInput
	// Password authenticates with a password. Optional; one of the two ways is required.
	Password pulumi.StringInput
	// Options is the libpq options parameter, such as --cluster=<routing-id>. Optional.
	Options string
}

func (a Admin) validate() error {
	switch {
	case a.Host == nil || a.User == "" || a.Port == 0:
		return fmt.Errorf("admin connection needs a host, a port and a user")
	case a.SSLMode != "verify-full" && a.SSLMode != "verify-ca":
		return fmt.Errorf("admin sslmode %q; want verify-full or verify-ca", a.SSLMode)
	case (a.ClientCert == nil) != (a.ClientKey == nil):
		return fmt.Errorf("admin client certificate and key go together")
	case a.ClientCert == nil && a.Password == nil:
		return fmt.Errorf("admin connection needs a client certificate or a password")
	}
	return nil
}

// Bootstrap is the databases and roles, ready for the Ory migrations.
type Bootstrap struct {
	pulumi.ResourceState

	// Passwords holds each role's generated password, by role name. Secret.
	Passwords map[string]pulumi.StringOutput
	// Done lists the resources that finish the bootstrap; Ory releases depend on them.
	Done []pulumi.Resource
}

// NewBootstrap creates the databases and roles.
func NewBootstrap(ctx *pulumi.Context, name string, args *BootstrapArgs,
	opts ...pulumi.ResourceOption,
) (*Bootstrap, error) {
	if args.Mode != ModeJob && args.Mode != ModeProvider {
		return nil, fmt.Errorf("database bootstrap %s: mode %q; want %s or %s",
			name, args.Mode, ModeJob, ModeProvider)
	}
	if err := args.Admin.validate(); err != nil {
		return nil, fmt.Errorf("database bootstrap %s: %w", name, err)
	}
	b := &Bootstrap{Passwords: map[string]pulumi.StringOutput{}}
	if err := ctx.RegisterComponentResource("identity:database:Bootstrap", name, b, opts...); err != nil {
		return nil, fmt.Errorf("registering database bootstrap %s: %w", name, err)
	}
	parent := pulumi.Parent(b)
	for _, l := range args.Logins {
		if _, ok := b.Passwords[l.User]; ok {
			continue
		}
		// Letters and digits only: 32 of them carry about 190 bits, and the SQL and the DSNs
		// need no quoting. The value lives in state, so it never changes unless replaced.
		pw, err := random.NewRandomPassword(ctx, name+"-"+l.User, &random.RandomPasswordArgs{
			Length:  pulumi.Int(32),
			Special: pulumi.Bool(false),
		}, parent)
		if err != nil {
			return nil, fmt.Errorf("database bootstrap %s: password for %s: %w", name, l.User, err)
		}
		b.Passwords[l.User] = pw.Result
	}

	var err error
	if args.Mode == ModeJob {
		b.Done, err = b.viaJob(ctx, name, args, parent)
	} else {
		b.Done, err = b.viaProvider(ctx, name, args, parent)
	}
	if err != nil {
		return nil, fmt.Errorf("database bootstrap %s: %w", name, err)
	}
	if err := ctx.RegisterResourceOutputs(b, pulumi.Map{}); err != nil {
		return nil, fmt.Errorf("registering database bootstrap %s outputs: %w", name, err)
	}
	return b, nil
}

// sql renders the bootstrap statements once every password is known.
func (b *Bootstrap) sql(logins []Login) pulumi.StringOutput {
	users := make([]string, 0, len(b.Passwords))
	values := make([]any, 0, len(b.Passwords))
	for user, pw := range b.Passwords {
		users = append(users, user)
		values = append(values, pw)
	}
	return pulumi.All(values...).ApplyT(func(vs []any) (string, error) {
		pw := map[string]string{}
		for i, v := range vs {
			pw[users[i]] = v.(string)
		}
		return BootstrapSQL(logins, pw)
	}).(pulumi.StringOutput)
}

func (b *Bootstrap) viaJob(ctx *pulumi.Context, name string, args *BootstrapArgs,
	parent pulumi.ResourceOption,
) ([]pulumi.Resource, error) {
	job, err := newSQLJob(ctx, name, args, pulumi.ToSecret(b.sql(args.Logins)).(pulumi.StringOutput),
		parent)
	if err != nil {
		return nil, err
	}
	return []pulumi.Resource{job}, nil
}

// caFile writes the CA to a file for the PostgreSQL provider, whose sslrootcert takes a path.
func caFile(name string, ca pulumi.StringInput) pulumi.StringOutput {
	return ca.ToStringOutput().ApplyT(func(pem string) (string, error) {
		path := filepath.Join(os.TempDir(), name+"-ca.crt")
		if err := os.WriteFile(path, []byte(pem), 0o600); err != nil {
			return "", fmt.Errorf("writing CA for the PostgreSQL provider: %w", err)
		}
		return path, nil
	}).(pulumi.StringOutput)
}
