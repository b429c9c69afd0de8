package database

import (
	"fmt"

	"github.com/pulumi/pulumi-postgresql/sdk/v3/go/postgresql"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// expectedVersion is the PostgreSQL version CockroachDB reports for compatibility. Setting it
// keeps the provider from probing the server for features.
const expectedVersion = "13.0.0"

// viaProvider manages the databases, roles and grants with the PostgreSQL provider. A readiness
// Job runs first, so the provider connects only to an initialised, answering cluster.
func (b *Bootstrap) viaProvider(ctx *pulumi.Context, name string, args *BootstrapArgs,
	parent pulumi.ResourceOption,
) ([]pulumi.Resource, error) {
	ready, err := newSQLJob(ctx, name+"-ready", args, pulumi.String("SELECT 1;").ToStringOutput(),
		parent)
	if err != nil {
		return nil, err
	}
	a := args.Admin
	pargs := &postgresql.ProviderArgs{
		Host:            a.Host,
		Port:            pulumi.Int(a.Port),
		Database:        pulumi.String("defaultdb"),
		Username:        pulumi.String(a.User),
		Password:        a.Password,
		Sslmode:         pulumi.String(a.SSLMode),
		ExpectedVersion: pulumi.String(expectedVersion),
		Superuser:       pulumi.Bool(false),
	}
	// Without a CA file the provider verifies against the system roots.
	if a.CACert != nil {
		pargs.Sslrootcert = caFile(name, a.CACert)
	}
	if a.ClientCert != nil {
		pargs.Clientcert = &postgresql.ProviderClientcertArgs{
			Cert:      a.ClientCert,
			Key:       pulumi.ToSecret(a.ClientKey).(pulumi.StringOutput),
			Sslinline: pulumi.Bool(true),
		}
	}
	provider, err := postgresql.NewProvider(ctx, name, pargs, parent,
		pulumi.DependsOn([]pulumi.Resource{ready}))
	if err != nil {
		return nil, fmt.Errorf("creating PostgreSQL provider: %w", err)
	}
	opts := []pulumi.ResourceOption{parent, pulumi.Provider(provider)}
	roles := map[string]*postgresql.Role{}
	var done []pulumi.Resource
	for _, l := range args.Logins {
		role, ok := roles[l.User]
		if !ok {
			role, err = postgresql.NewRole(ctx, name+"-"+l.User, &postgresql.RoleArgs{
				Name:     pulumi.String(l.User),
				Login:    pulumi.Bool(true),
				Password: b.Passwords[l.User],
				// Never DROP a role that may still own Ory's tables.
				SkipDropRole:      pulumi.Bool(true),
				SkipReassignOwned: pulumi.Bool(true),
			}, opts...)
			if err != nil {
				return nil, fmt.Errorf("creating role %s: %w", l.User, err)
			}
			roles[l.User] = role
		}
		db, err := postgresql.NewDatabase(ctx, name+"-"+l.Database, &postgresql.DatabaseArgs{
			Name: pulumi.String(l.Database),
		}, append(opts, pulumi.Protect(true))...)
		if err != nil {
			return nil, fmt.Errorf("creating database %s: %w", l.Database, err)
		}
		grant, err := postgresql.NewGrant(ctx, name+"-"+l.Database+"-"+l.User, &postgresql.GrantArgs{
			Database:   db.Name,
			Role:       role.Name,
			ObjectType: pulumi.String("database"),
			Privileges: pulumi.ToStringArray([]string{"ALL"}),
		}, opts...)
		if err != nil {
			return nil, fmt.Errorf("granting %s on %s: %w", l.User, l.Database, err)
		}
		// As on the Job path: migrations create tables in the public schema, which the grant
		// on the database alone does not cover in CockroachDB.
		schema, err := postgresql.NewGrant(ctx, name+"-"+l.Database+"-public-"+l.User,
			&postgresql.GrantArgs{
				Database:   db.Name,
				Role:       role.Name,
				Schema:     pulumi.String("public"),
				ObjectType: pulumi.String("schema"),
				Privileges: pulumi.ToStringArray([]string{"CREATE", "USAGE"}),
			}, opts...)
		if err != nil {
			return nil, fmt.Errorf("granting %s on %s.public: %w", l.User, l.Database, err)
		}
		done = append(done, db, role, grant, schema)
	}
	return done, nil
}
