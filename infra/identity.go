package infra

import (
	"fmt"
	"strings"

	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi-random/sdk/v4/go/random"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/ory-identity-layer/identity/infra/cockroach"
	"github.com/ory-identity-layer/identity/infra/database"
	ekscomp "github.com/ory-identity-layer/identity/infra/eks"
	"github.com/ory-identity-layer/identity/infra/ory"
	"github.com/ory-identity-layer/identity/infra/ory/deploy"
	"github.com/ory-identity-layer/identity/infra/peering"
	"github.com/ory-identity-layer/identity/stacks"
)

// OryNamespace is the Kubernetes namespace of the Ory releases and the database bootstrap.
const OryNamespace = "ory"

// services are the Ory servers, which are also their database names.
var services = []string{"hydra", "kratos", "keto"}

// Service ports, as the tutorial exposes them.
const (
	hydraPublicPort, hydraAdminPort   = 4444, 4445
	kratosPublicPort, kratosAdminPort = 4433, 4434
	ketoReadPort, ketoWritePort       = 4466, 4467
)

// placeholderSecret stands in for Ory secrets while rendering the chart values: the values never
// carry secrets (the chart strips them), but the renderer validates their presence.
var placeholderSecret = strings.Repeat("p", 32)

// oryNamespace creates the namespace with the baseline Pod Security Standard enforced and the
// restricted one warned about: the Ory charts' migration init containers carry no security
// context, which restricted would refuse.
func oryNamespace(ctx *pulumi.Context, cfg *stacks.Config,
	k8s pulumi.ResourceOption,
) (*corev1.Namespace, error) {
	labels := k8sLabels(cfg)
	labels["pod-security.kubernetes.io/enforce"] = "baseline"
	labels["pod-security.kubernetes.io/warn"] = "restricted"
	ns, err := corev1.NewNamespace(ctx, OryNamespace, &corev1.NamespaceArgs{
		Metadata: &metav1.ObjectMetaArgs{
			Name:   pulumi.String(OryNamespace),
			Labels: pulumi.ToStringMap(labels),
		},
	}, k8s)
	if err != nil {
		return nil, fmt.Errorf("creating namespace %s: %w", OryNamespace, err)
	}
	return ns, nil
}

// k8sLabels are the standard labels of every Kubernetes object the program owns.
func k8sLabels(cfg *stacks.Config) map[string]string {
	return map[string]string{
		"app.kubernetes.io/part-of":    cfg.Project,
		"app.kubernetes.io/managed-by": "pulumi",
		"identity.stack":               cfg.Stack,
		"identity.environment":         cfg.Environment,
	}
}

// dbTarget is the CockroachDB cluster Ory uses: the program's own, or an external one.
type dbTarget struct {
	// admin creates the databases and roles.
	admin database.Admin
	// host and port are where Ory connects.
	host pulumi.StringOutput
	port int
	// caCert verifies the server; nil trusts the system roots.
	caCert pulumi.StringInput
	// sslMode is verify-full, and options the libpq options parameter.
	sslMode, options string
	// ready lists what must exist before anything connects.
	ready []pulumi.Resource
}

func selfHostedTarget(crdb *cockroach.Cluster, link *peering.Peering) dbTarget {
	return dbTarget{
		admin: database.Admin{
			Host: crdb.LoadBalancerDNSName, Port: cockroach.SQLPort, User: "root",
			SSLMode: ory.SSLVerifyFull, CACert: crdb.CACert,
			ClientCert: crdb.RootClientCert, ClientKey: crdb.RootClientKey,
		},
		host:    crdb.LoadBalancerDNSName,
		port:    cockroach.SQLPort,
		caCert:  crdb.CACert,
		sslMode: ory.SSLVerifyFull,
		ready:   append(append([]pulumi.Resource(nil), crdb.Ready...), link.Ready...),
	}
}

func externalTarget(cfg *stacks.Config) dbTarget {
	e := cfg.Database.External
	host := pulumi.String(e.Host).ToStringOutput()
	t := dbTarget{
		admin: database.Admin{
			Host: host, Port: e.Port, User: e.User, SSLMode: e.SSLMode, Options: e.Options,
			Password: pulumi.ToSecret(pulumi.String(e.Password.Reveal())).(pulumi.StringOutput),
		},
		host:    host,
		port:    e.Port,
		sslMode: e.SSLMode,
		options: e.Options,
	}
	if e.CACert != "" {
		t.caCert = pulumi.String(e.CACert)
		t.admin.CACert = t.caCert
	}
	return t
}

// oryDSN is the connection of one service to CockroachDB: verified TLS against the CA the
// releases mount at deploy.CAMountPath, or against the system roots when there is none.
func oryDSN(cfg *stacks.Config, t dbTarget, host, database, user, password string) ory.DSN {
	d := ory.DSN{
		Engine:          ory.EngineCockroach,
		Host:            host,
		Port:            t.port,
		Database:        database,
		User:            user,
		Password:        password,
		SSLMode:         t.sslMode,
		Options:         t.options,
		MaxConns:        cfg.Database.MaxConns,
		MaxIdleConns:    cfg.Database.MaxIdleConns,
		MaxConnLifetime: cfg.Database.MaxConnLifetime,
	}
	if t.caCert != nil {
		d.SSLRootCert = deploy.CAMountPath + "/ca.crt"
	} else {
		d.UseSystemRoots = true
	}
	return d
}

// dsnOutput renders a DSN once the host and password are known. It is secret.
func dsnOutput(cfg *stacks.Config, t dbTarget, database, user string,
	password pulumi.StringOutput,
) pulumi.StringOutput {
	return pulumi.All(t.host, password).ApplyT(func(v []any) (string, error) {
		return oryDSN(cfg, t, v[0].(string), database, user, v[1].(string)).URL()
	}).(pulumi.StringOutput)
}

// orySecret returns the secret from config, or generates one that Pulumi keeps in state, so a
// later `pulumi up` never rotates it by accident.
func orySecret(ctx *pulumi.Context, name string, given stacks.Secret,
	length int,
) (pulumi.StringOutput, error) {
	if given.IsSet() {
		return pulumi.ToSecret(pulumi.String(given.Reveal())).(pulumi.StringOutput), nil
	}
	pw, err := random.NewRandomPassword(ctx, name, &random.RandomPasswordArgs{
		Length:  pulumi.Int(length),
		Special: pulumi.Bool(false),
	})
	if err != nil {
		return pulumi.StringOutput{}, fmt.Errorf("generating %s: %w", name, err)
	}
	return pw.Result, nil
}

type oryInputs struct {
	target    dbTarget
	logins    []database.Login
	passwords map[string]pulumi.StringOutput
}

// oryServices renders the three releases: values from the same configuration functions the
// local stack runs, and the Secret content with the real DSNs and Ory secrets.
func oryServices(ctx *pulumi.Context, cfg *stacks.Config, in oryInputs) ([]deploy.ServiceSpec, error) {
	o := cfg.Ory
	public := map[string]bool{}
	for _, s := range o.PublicServices {
		public[s] = true
	}
	w := deploy.Workload{Replicas: o.Replicas, Production: cfg.Production()}
	if in.target.caCert != nil {
		w.CASecret = caSecretName
	}
	user := map[string]string{}
	for _, l := range in.logins {
		user[l.Database] = l.User
	}
	dsn := func(svc string) pulumi.StringOutput {
		return dsnOutput(cfg, in.target, svc, user[svc], in.passwords[user[svc]])
	}

	secrets := map[string]pulumi.StringOutput{}
	for _, s := range []struct {
		name   string
		given  stacks.Secret
		length int
	}{
		{"hydra-system-secret", o.HydraSystemSecret, 48},
		{"hydra-cookie-secret", o.HydraCookieSecret, 48},
		{"kratos-default-secret", o.KratosDefaultSecret, 48},
		{"kratos-cookie-secret", o.KratosCookieSecret, 48},
		{"kratos-cipher-secret", o.KratosCipherSecret, 32},
	} {
		v, err := orySecret(ctx, s.name, s.given, s.length)
		if err != nil {
			return nil, err
		}
		secrets[s.name] = v
	}

	hydraCfg, err := hydraConfig(cfg, in.target)
	if err != nil {
		return nil, err
	}
	kratosCfg, err := kratosConfig(cfg, in.target)
	if err != nil {
		return nil, err
	}
	ketoCfg, err := ketoConfig(cfg, in.target)
	if err != nil {
		return nil, err
	}
	kratosSecret := pulumi.StringMap{
		"dsn":            dsn("kratos"),
		"secretsDefault": secrets["kratos-default-secret"],
		"secretsCookie":  secrets["kratos-cookie-secret"],
		"secretsCipher":  secrets["kratos-cipher-secret"],
	}
	if o.SMTPURI.IsSet() {
		kratosSecret["smtpConnectionURI"] = pulumi.String(o.SMTPURI.Reveal())
	}
	return []deploy.ServiceSpec{
		{
			Chart:    "hydra",
			ImageTag: o.HydraImageTag,
			Values: deploy.HydraValues(hydraCfg, w, deploy.Exposure{
				PublicPort: hydraPublicPort, PrivatePort: hydraAdminPort,
				Public: public[stacks.ServiceHydraPublic],
			}),
			SecretData: pulumi.StringMap{
				"dsn":           dsn("hydra"),
				"secretsSystem": secrets["hydra-system-secret"],
				"secretsCookie": secrets["hydra-cookie-secret"],
			},
		},
		{
			Chart:    "kratos",
			ImageTag: o.KratosImageTag,
			Values: deploy.KratosValues(kratosCfg,
				map[string]string{kratosSchemaFile: string(ory.IdentitySchema())},
				o.SMTPURI.IsSet(), w, deploy.Exposure{
					PublicPort: kratosPublicPort, PrivatePort: kratosAdminPort,
					Public: public[stacks.ServiceKratosPublic],
				}),
			SecretData: kratosSecret,
		},
		{
			Chart:    "keto",
			ImageTag: o.KetoImageTag,
			Values: deploy.KetoValues(ketoCfg, w, deploy.Exposure{
				PublicPort: ketoReadPort, PrivatePort: ketoWritePort,
				Public: public[stacks.ServiceKetoRead],
			}),
			SecretData: pulumi.StringMap{"dsn": dsn("keto")},
		},
	}, nil
}

// kratosSchemaFile is the identity schema's file name in the chart's config volume.
const kratosSchemaFile = "identity.default.schema.json"

// caSecretName holds the CockroachDB CA for the Ory pods.
const caSecretName = "cockroach-ca"

// withoutSecrets drops the keys the charts take from the Secret instead of the values.
func withoutSecrets(config map[string]any) map[string]any {
	delete(config, "dsn")
	delete(config, "secrets")
	return config
}

func placeholderDSN(cfg *stacks.Config, t dbTarget, svc string) ory.DSN {
	return oryDSN(cfg, t, "cockroach.invalid", svc, svc, "")
}

func hydraConfig(cfg *stacks.Config, t dbTarget) (map[string]any, error) {
	c, err := ory.HydraConfig(ory.HydraSettings{
		DSN:           placeholderDSN(cfg, t, "hydra"),
		PublicPort:    hydraPublicPort,
		AdminPort:     hydraAdminPort,
		Issuer:        cfg.Ory.HydraIssuerURL,
		SystemSecrets: []string{placeholderSecret},
		CookieSecrets: []string{placeholderSecret},
		Production:    cfg.Production(),
	})
	if err != nil {
		return nil, fmt.Errorf("rendering hydra configuration: %w", err)
	}
	return withoutSecrets(c), nil
}

// smtpFromSecret stands in for the SMTP URI in the chart values. The chart reads the real URI
// from the Secret (key smtpConnectionURI), but only when the values name one, and it strips this
// stand-in from the rendered configuration.
const smtpFromSecret = "smtps://smtp-uri-from-secret.invalid:465/"

func kratosConfig(cfg *stacks.Config, t dbTarget) (map[string]any, error) {
	smtp := ""
	if cfg.Ory.SMTPURI.IsSet() {
		smtp = smtpFromSecret
	}
	c, err := ory.KratosConfig(ory.KratosSettings{
		DSN:                     placeholderDSN(cfg, t, "kratos"),
		PublicPort:              kratosPublicPort,
		AdminPort:               kratosAdminPort,
		PublicBaseURL:           cfg.Ory.KratosPublicURL,
		DefaultBrowserReturnURL: cfg.Ory.KratosReturnURL,
		HaveIBeenPwned:          cfg.Ory.PasswordBreachCheck,
		CourierSMTPURI:          smtp,
		DefaultSecrets:          []string{placeholderSecret},
		CookieSecrets:           []string{placeholderSecret},
		CipherSecrets:           []string{placeholderSecret},
		Production:              cfg.Production(),
	})
	if err != nil {
		return nil, fmt.Errorf("rendering kratos configuration: %w", err)
	}
	// In the cluster the schema is a file the chart mounts; locally it is a base64 URL.
	if identity, ok := c["identity"].(map[string]any); ok {
		identity["schemas"] = []any{map[string]any{
			"id":  ory.KratosSchemaID,
			"url": "file:///etc/config/" + kratosSchemaFile,
		}}
	}
	return withoutSecrets(c), nil
}

func ketoConfig(cfg *stacks.Config, t dbTarget) (map[string]any, error) {
	namespaces := make([]ory.KetoNamespace, len(cfg.Ory.KetoNamespaces))
	for i, n := range cfg.Ory.KetoNamespaces {
		namespaces[i] = ory.KetoNamespace{ID: i, Name: n}
	}
	c, err := ory.KetoConfig(ory.KetoSettings{
		DSN:        placeholderDSN(cfg, t, "keto"),
		ReadPort:   ketoReadPort,
		WritePort:  ketoWritePort,
		Namespaces: namespaces,
	})
	if err != nil {
		return nil, fmt.Errorf("rendering keto configuration: %w", err)
	}
	return withoutSecrets(c), nil
}

// newOry creates the namespace, the CA Secret, the databases and roles, and the releases, in
// that order. This is the point where the database and EKS branches of the graph meet.
func newOry(ctx *pulumi.Context, cfg *stacks.Config, target dbTarget,
	cluster *ekscomp.Cluster,
) (*deploy.Releases, error) {
	k8s := pulumi.Provider(cluster.Provider)
	ns, err := oryNamespace(ctx, cfg, k8s)
	if err != nil {
		return nil, err
	}
	labels := k8sLabels(cfg)
	waitFor := []pulumi.Resource{}
	if target.caCert != nil {
		ca, err := corev1.NewSecret(ctx, caSecretName, &corev1.SecretArgs{
			Metadata: &metav1.ObjectMetaArgs{
				Name:      pulumi.String(caSecretName),
				Namespace: ns.Metadata.Name().Elem(),
				Labels:    pulumi.ToStringMap(labels),
			},
			StringData: pulumi.StringMap{"ca.crt": target.caCert},
		}, k8s)
		if err != nil {
			return nil, fmt.Errorf("creating CA secret: %w", err)
		}
		waitFor = append(waitFor, ca)
	}
	logins := database.Logins(services, cfg.Database.Users == stacks.UsersShared)
	boot, err := database.NewBootstrap(ctx, "ory-db", &database.BootstrapArgs{
		Mode:             cfg.Database.Bootstrap,
		Logins:           logins,
		Admin:            target.admin,
		CockroachVersion: cfg.Cockroach.Version,
		Namespace:        ns.Metadata.Name().Elem(),
		Provider:         cluster.Provider,
		Labels:           labels,
		WaitFor:          append([]pulumi.Resource{ns}, target.ready...),
	})
	if err != nil {
		return nil, err
	}
	specs, err := oryServices(ctx, cfg, oryInputs{
		target: target, logins: logins, passwords: boot.Passwords,
	})
	if err != nil {
		return nil, err
	}
	return deploy.NewReleases(ctx, "ory", &deploy.ReleasesArgs{
		Namespace:       ns.Metadata.Name().Elem(),
		ChartRepository: cfg.Ory.ChartRepository,
		ChartVersion:    cfg.Ory.ChartVersion,
		Services:        specs,
		Provider:        cluster.Provider,
		Labels:          labels,
		WaitFor:         append(waitFor, boot.Done...),
	})
}
