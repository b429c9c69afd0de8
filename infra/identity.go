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

// oryNamespace creates the namespace with the restricted Pod Security Standard enforced.
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

// oryDSN is the connection of one service to CockroachDB: verify-full against the cluster CA,
// which the releases mount at deploy.CAMountPath.
func oryDSN(cfg *stacks.Config, host, database, user, password string) ory.DSN {
	return ory.DSN{
		Engine:          ory.EngineCockroach,
		Host:            host,
		Port:            cockroach.SQLPort,
		Database:        database,
		User:            user,
		Password:        password,
		SSLMode:         ory.SSLVerifyFull,
		SSLRootCert:     deploy.CAMountPath + "/ca.crt",
		MaxConns:        cfg.Database.MaxConns,
		MaxIdleConns:    cfg.Database.MaxIdleConns,
		MaxConnLifetime: cfg.Database.MaxConnLifetime,
	}
}

// dsnOutput renders a DSN once the host and password are known. It is secret.
func dsnOutput(cfg *stacks.Config, host pulumi.StringOutput, database, user string,
	password pulumi.StringOutput,
) pulumi.StringOutput {
	return pulumi.All(host, password).ApplyT(func(v []any) (string, error) {
		return oryDSN(cfg, v[0].(string), database, user, v[1].(string)).URL()
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
	dbHost    pulumi.StringOutput
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
	w := deploy.Workload{Replicas: o.Replicas, Production: cfg.Production(), CASecret: caSecretName}
	user := map[string]string{}
	for _, l := range in.logins {
		user[l.Database] = l.User
	}
	dsn := func(svc string) pulumi.StringOutput {
		return dsnOutput(cfg, in.dbHost, svc, user[svc], in.passwords[user[svc]])
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

	hydraCfg, err := hydraConfig(cfg)
	if err != nil {
		return nil, err
	}
	kratosCfg, err := kratosConfig(cfg)
	if err != nil {
		return nil, err
	}
	ketoCfg, err := ketoConfig(cfg)
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

func placeholderDSN(cfg *stacks.Config, svc string) ory.DSN {
	return oryDSN(cfg, "cockroach.invalid", svc, svc, "")
}

func hydraConfig(cfg *stacks.Config) (map[string]any, error) {
	c, err := ory.HydraConfig(ory.HydraSettings{
		DSN:           placeholderDSN(cfg, "hydra"),
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

func kratosConfig(cfg *stacks.Config) (map[string]any, error) {
	c, err := ory.KratosConfig(ory.KratosSettings{
		DSN:                     placeholderDSN(cfg, "kratos"),
		PublicPort:              kratosPublicPort,
		AdminPort:               kratosAdminPort,
		PublicBaseURL:           cfg.Ory.KratosPublicURL,
		DefaultBrowserReturnURL: cfg.Ory.KratosReturnURL,
		HaveIBeenPwned:          cfg.Ory.PasswordBreachCheck,
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

func ketoConfig(cfg *stacks.Config) (map[string]any, error) {
	namespaces := make([]ory.KetoNamespace, len(cfg.Ory.KetoNamespaces))
	for i, n := range cfg.Ory.KetoNamespaces {
		namespaces[i] = ory.KetoNamespace{ID: i, Name: n}
	}
	c, err := ory.KetoConfig(ory.KetoSettings{
		DSN:        placeholderDSN(cfg, "keto"),
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
// that order. This is the point where the CockroachDB and EKS branches of the graph meet.
func newOry(ctx *pulumi.Context, cfg *stacks.Config, crdb *cockroach.Cluster,
	cluster *ekscomp.Cluster, link *peering.Peering,
) (*deploy.Releases, error) {
	k8s := pulumi.Provider(cluster.Provider)
	ns, err := oryNamespace(ctx, cfg, k8s)
	if err != nil {
		return nil, err
	}
	labels := k8sLabels(cfg)
	ca, err := corev1.NewSecret(ctx, caSecretName, &corev1.SecretArgs{
		Metadata: &metav1.ObjectMetaArgs{
			Name:      pulumi.String(caSecretName),
			Namespace: ns.Metadata.Name().Elem(),
			Labels:    pulumi.ToStringMap(labels),
		},
		StringData: pulumi.StringMap{"ca.crt": crdb.CACert},
	}, k8s)
	if err != nil {
		return nil, fmt.Errorf("creating CA secret: %w", err)
	}
	logins := database.Logins(services, cfg.Database.Users == stacks.UsersShared)
	boot, err := database.NewBootstrap(ctx, "ory-db", &database.BootstrapArgs{
		Mode:             cfg.Database.Bootstrap,
		Logins:           logins,
		Host:             crdb.LoadBalancerDNSName,
		Port:             cockroach.SQLPort,
		CACert:           crdb.CACert,
		RootCert:         crdb.RootClientCert,
		RootKey:          crdb.RootClientKey,
		CockroachVersion: cfg.Cockroach.Version,
		Namespace:        ns.Metadata.Name().Elem(),
		Provider:         cluster.Provider,
		Labels:           labels,
		WaitFor:          append(append([]pulumi.Resource{ns}, crdb.Ready...), link.Ready...),
	})
	if err != nil {
		return nil, err
	}
	specs, err := oryServices(ctx, cfg, oryInputs{
		dbHost: crdb.LoadBalancerDNSName, logins: logins, passwords: boot.Passwords,
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
		WaitFor:         append([]pulumi.Resource{ca}, boot.Done...),
	})
}
