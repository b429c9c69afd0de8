// Package stacks reads a stack's configuration into one typed, validated struct. It is the only
// place in the program that reads Pulumi config. Every key it reads is declared, with its type,
// description and default, in Pulumi.yaml; a test keeps the two in step.
package stacks

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Environment names accepted by the `environment` key.
const (
	EnvDev     = "dev"
	EnvStaging = "staging"
	EnvProd    = "prod"
)

// NAT gateway layouts accepted by the `natGateways` key.
const (
	NATSingle = "single"
	NATPerAZ  = "perAz"
)

// Config is the whole typed configuration of one stack. Its sections follow the order in which
// the program builds its components.
type Config struct {
	// Project and Stack name the Pulumi project and stack; they seed names and tags.
	Project string
	Stack   string
	// Environment is one of dev, staging or prod (key `environment`, default dev). Only prod
	// turns on the production rules of Validate.
	Environment string
	// Region is the AWS region (key `aws:region`, required).
	Region string
	// AvailabilityZones are the zones to spread over (key `availabilityZones`; at least 3, all
	// in Region, no repeats).
	AvailabilityZones []string
	// Owner is written into the Owner tag (key `owner`, default platform).
	Owner string

	Network   NetworkConfig
	Cockroach CockroachConfig
	EKS       EKSConfig
	Database  DatabaseConfig
	Ory       OryConfig
}

// EKSConfig holds the Kubernetes cluster settings.
type EKSConfig struct {
	// KubernetesVersion is the EKS control plane version, 1.MINOR (key `eksKubernetesVersion`,
	// default 1.33).
	KubernetesVersion string
	// NodeInstanceType is the managed node group's EC2 type (key `eksNodeInstanceType`,
	// default m5.xlarge, as in the tutorial).
	NodeInstanceType string
	// NodeDesiredSize, NodeMinSize and NodeMaxSize size the node group (keys
	// `eksNodeDesiredSize` 3, `eksNodeMinSize` 1, `eksNodeMaxSize` 4; min <= desired <= max).
	NodeDesiredSize, NodeMinSize, NodeMaxSize int
	// PublicAccessCidrs may reach the Kubernetes API endpoint (key `eksPublicAccessCidrs`,
	// default 0.0.0.0/0; prod requires a narrower list).
	PublicAccessCidrs []string
}

// Database bootstrap paths accepted by `databaseBootstrap`, and user layouts accepted by
// `databaseUsers`.
const (
	BootstrapJob      = "job"
	BootstrapProvider = "provider"
	UsersPerService   = "perService"
	UsersShared       = "shared"
)

// Database modes accepted by `databaseMode`, and how an external cluster is reached
// (`externalDbNetwork`).
const (
	ModeSelfHosted   = "self-hosted"
	ModeExternal     = "external"
	NetworkVPC       = "vpc"
	NetworkInternet  = "internet"
	SSLVerifyFull    = "verify-full"
	DefaultSQLPort   = 26257
	placeholderToken = "REPLACE"
)

// DatabaseConfig holds where the Ory state lives and how its databases and users are created.
type DatabaseConfig struct {
	// Mode is self-hosted (the program builds the CockroachDB cluster on EC2; default) or
	// external (an existing cluster, such as CockroachDB Cloud) (key `databaseMode`).
	Mode string
	// External describes the existing cluster. Its keys are required exactly in external mode.
	External ExternalDatabase
	// Bootstrap is job (a Kubernetes Job running idempotent SQL; default) or provider (the
	// Pulumi PostgreSQL provider, which needs SQL that stock CockroachDB may reject) (key
	// `databaseBootstrap`).
	Bootstrap string
	// Users is perService (one login role per service; default) or shared (the tutorial's
	// single `ory` role) (key `databaseUsers`).
	Users string
	// MaxConns, MaxIdleConns and MaxConnLifetime tune each Ory process's pool (keys
	// `oryDbMaxConns` 20, `oryDbMaxIdleConns` 5, `oryDbMaxConnLifetime` 5m).
	MaxConns, MaxIdleConns int
	MaxConnLifetime        time.Duration
}

// ExternalDatabase is an existing CockroachDB cluster the program does not manage.
type ExternalDatabase struct {
	// Host and Port reach SQL (keys `externalDbHost`, required; `externalDbPort`, default 26257).
	Host string
	Port int
	// User is a SQL user allowed to create databases and roles (key `externalDbUser`,
	// required) and Password its password (secret key `externalDbPassword`, required).
	User     string
	Password Secret
	// CACert is the PEM CA that signs the cluster's certificate (key `externalDbCaCert`);
	// empty trusts the system roots, which CockroachDB Cloud's certificates chain to.
	CACert string
	// SSLMode must be verify-full (key `externalDbSslMode`, default verify-full): it is the only
	// mode that checks the host name, and nothing weaker is accepted for a remote database.
	SSLMode string
	// Options is the libpq options parameter, such as --cluster=<routing-id> for CockroachDB
	// Cloud Basic and Standard (key `externalDbOptions`, optional).
	Options string
	// Network is vpc (reachable privately from the EKS VPC, through your own peering or
	// PrivateLink) or internet (over NAT; the NAT addresses are exported for the cluster's IP
	// allowlist) (key `externalDbNetwork`, default internet).
	Network string
}

// OryConfig holds the Ory releases' settings.
type OryConfig struct {
	// ChartRepository is the Ory Helm repository (key `oryChartRepository`, default
	// https://k8s.ory.com/helm/charts).
	ChartRepository string
	// ChartVersion pins the hydra, kratos and keto charts (key `oryChartVersion`, default
	// 0.58.0, whose appVersions match the default image tags).
	ChartVersion string
	// HydraImageTag, KratosImageTag and KetoImageTag pin the images (keys `hydraImageTag`
	// v2.3.0, `kratosImageTag` v1.3.1, `ketoImageTag` v0.14.0).
	HydraImageTag, KratosImageTag, KetoImageTag string
	// HydraIssuerURL is Hydra's issuer, the public URL clients reach it at (key
	// `hydraIssuerUrl`, required; https in prod).
	HydraIssuerURL string
	// KratosPublicURL is Kratos' public base URL (key `kratosPublicUrl`, required; https in
	// prod) and KratosReturnURL its default browser return URL (key `kratosBrowserReturnUrl`,
	// required).
	KratosPublicURL, KratosReturnURL string
	// Replicas per service (key `oryReplicas`, default 1; 2 or more in prod).
	Replicas int
	// PublicServices lists the services behind internet-facing NLBs (key `oryPublicServices`,
	// default hydra-public, kratos-public, keto-read; admin APIs are never accepted).
	PublicServices []string
	// PasswordBreachCheck turns on Kratos' haveibeenpwned check (key
	// `kratosPasswordBreachCheck`, default true).
	PasswordBreachCheck bool
	// KetoNamespaces are the Keto namespaces; the position is the ID (key `ketoNamespaces`,
	// default default_namespace, documents, users).
	KetoNamespaces []string
	// SMTPURI points Kratos' courier at a mail server (secret key `kratosSmtpUri`, optional;
	// empty disables the courier).
	SMTPURI Secret
	// Secrets given in config; the program generates and keeps any that are absent (secret
	// keys `hydraSystemSecret`, `hydraCookieSecret`, `kratosDefaultSecret`,
	// `kratosCookieSecret` at least 32 characters; `kratosCipherSecret` exactly 32).
	HydraSystemSecret, HydraCookieSecret                        Secret
	KratosDefaultSecret, KratosCookieSecret, KratosCipherSecret Secret
}

// NetworkConfig holds the VPC settings.
type NetworkConfig struct {
	// CockroachVpcCidr is the CockroachDB VPC block (key `cockroachVpcCidr`, default
	// 10.1.0.0/16, an IPv4 prefix between /16 and /22).
	CockroachVpcCidr string
	// EksVpcCidr is the EKS VPC block (key `eksVpcCidr`, default 10.2.0.0/16). It must not
	// overlap CockroachVpcCidr because the two VPCs are peered.
	EksVpcCidr string
	// NATGateways is single (one shared NAT gateway) or perAz (key `natGateways`, default
	// single). perAz survives the loss of a zone and is required in prod.
	NATGateways string
}

// CockroachConfig holds the CockroachDB cluster settings.
type CockroachConfig struct {
	// Version is the pinned CockroachDB release, vMAJOR.MINOR.PATCH (key `cockroachVersion`).
	Version string
	// BinarySHA256 is the expected SHA-256 of the release tarball (key `cockroachSha256`,
	// optional). When empty, boot checks the tarball against the checksum file Cockroach Labs
	// publishes beside it.
	BinarySHA256 string
	// NodeCount is the number of nodes (key `cockroachNodeCount`, default 3; at least 3 and a
	// multiple of the number of zones, so that every zone holds the same share of replicas).
	NodeCount int
	// InstanceType is the EC2 type of every node (key `cockroachInstanceType`, default
	// m6i.xlarge). In prod it must not be burstable and must have 4 or more vCPUs with 4 GiB of
	// memory per vCPU or more.
	InstanceType string
	// RootVolumeGiB is the size of the encrypted gp3 root volume (key `cockroachRootVolumeGiB`,
	// default 20, from 8 to 1024).
	RootVolumeGiB int
	// DataVolumeGiB is the size of the encrypted gp3 store volume (key `cockroachDataVolumeGiB`,
	// default 100, from 10 to 16384).
	DataVolumeGiB int
	// DataVolumeIops is the provisioned IOPS of the store volume (key `cockroachDataVolumeIops`,
	// default 3000, from 3000 to 16000).
	DataVolumeIops int
	// DataVolumeThroughput is the store volume throughput in MiB/s (key
	// `cockroachDataVolumeThroughput`, default 125, from 125 to 1000).
	DataVolumeThroughput int
	// PublicLoadBalancer makes the NLB internet-facing (key `cockroachPublicLoadBalancer`,
	// default false). Even then, only AllowedCidrs reach it.
	PublicLoadBalancer bool
	// AllowedCidrs may reach SQL (26257) and the DB Console (8080) besides the VPC itself (key
	// `cockroachAllowedCidrs`, default empty). 0.0.0.0/0 and ::/0 are always rejected.
	AllowedCidrs []string
	// AmiParameter is the SSM parameter that names the node AMI (key
	// `cockroachAmiParameter`, default the Amazon Linux 2023 x86_64 parameter).
	AmiParameter string
}

// Summary is the effective configuration in one line, for the log at the start of a run. It
// holds no secret.
func (c *Config) Summary() string {
	db := fmt.Sprintf("self-hosted CockroachDB %s, %d x %s", c.Cockroach.Version,
		c.Cockroach.NodeCount, c.Cockroach.InstanceType)
	if !c.SelfHosted() {
		db = fmt.Sprintf("external CockroachDB at %s:%d (%s)", c.Database.External.Host,
			c.Database.External.Port, c.Database.External.Network)
	}
	return fmt.Sprintf("stack %s (%s) in %s over %s: %s; EKS %s, %d x %s; "+
		"bootstrap %s, users %s; Ory chart %s, %d replicas",
		c.Stack, c.Environment, c.Region, strings.Join(c.AvailabilityZones, ","), db,
		c.EKS.KubernetesVersion, c.EKS.NodeDesiredSize, c.EKS.NodeInstanceType,
		c.Database.Bootstrap, c.Database.Users, c.Ory.ChartVersion, c.Ory.Replicas)
}

// SelfHosted reports whether the program builds its own CockroachDB cluster.
func (c *Config) SelfHosted() bool { return c.Database.Mode == ModeSelfHosted }

// Production reports whether the production rules apply.
func (c *Config) Production() bool { return c.Environment == EnvProd }

// Tags returns the tags every AWS resource of the stack carries.
func (c *Config) Tags() map[string]string {
	return map[string]string{
		"Project":     c.Project,
		"Stack":       c.Stack,
		"Environment": c.Environment,
		"Owner":       c.Owner,
		"ManagedBy":   "pulumi",
	}
}

// Defaults used when a key is absent. Pulumi.yaml declares the same values; a test checks it.
const (
	DefaultCockroachVersion      = "v25.2.4"
	DefaultCockroachInstanceType = "m6i.xlarge"
	DefaultAmiParameter          = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"
)

// Connection pool defaults of every Ory process. The local stack uses them too; the benchmark
// in the README shows what they gain over Ory's own defaults.
const (
	DefaultMaxConns        = 20
	DefaultMaxIdleConns    = 5
	DefaultMaxConnLifetime = 5 * time.Minute
)

// DefaultOryChartRepository is where Ory publishes its charts since it left k8s.ory.sh.
const DefaultOryChartRepository = "https://k8s.ory.com/helm/charts"

// Service names accepted in `oryPublicServices`: the public APIs only.
const (
	ServiceHydraPublic  = "hydra-public"
	ServiceKratosPublic = "kratos-public"
	ServiceKetoRead     = "keto-read"
)

// DefaultPublicServices exposes the three public APIs, as the tutorial does, and no admin API.
var DefaultPublicServices = []string{ServiceHydraPublic, ServiceKratosPublic, ServiceKetoRead}

// DefaultKetoNamespaces are the tutorial's namespaces; the position is the namespace ID.
var DefaultKetoNamespaces = []string{"default_namespace", "documents", "users"}

// DefaultAvailabilityZones matches the tutorial's region, us-east-1.
var DefaultAvailabilityZones = []string{"us-east-1a", "us-east-1b", "us-east-1c"}

// Load reads and validates the configuration of the running stack. It returns every problem
// found at once, each naming its key, and creates nothing.
func Load(src Source, project, stack string) (*Config, error) {
	cfg, _, err := load(src, project, stack)
	return cfg, err
}

func load(src Source, project, stack string) (*Config, []string, error) {
	r := &reader{src: src, project: project}
	cfg := &Config{
		Project:           project,
		Stack:             stack,
		Environment:       r.str("environment", EnvDev),
		Region:            r.str("aws:region", ""),
		AvailabilityZones: r.strings("availabilityZones", DefaultAvailabilityZones),
		Owner:             r.str("owner", "platform"),
		Network: NetworkConfig{
			CockroachVpcCidr: r.str("cockroachVpcCidr", "10.1.0.0/16"),
			EksVpcCidr:       r.str("eksVpcCidr", "10.2.0.0/16"),
			NATGateways:      r.str("natGateways", NATSingle),
		},
		Cockroach: CockroachConfig{
			Version:              r.str("cockroachVersion", DefaultCockroachVersion),
			BinarySHA256:         r.str("cockroachSha256", ""),
			NodeCount:            r.integer("cockroachNodeCount", 3),
			InstanceType:         r.str("cockroachInstanceType", DefaultCockroachInstanceType),
			RootVolumeGiB:        r.integer("cockroachRootVolumeGiB", 20),
			DataVolumeGiB:        r.integer("cockroachDataVolumeGiB", 100),
			DataVolumeIops:       r.integer("cockroachDataVolumeIops", 3000),
			DataVolumeThroughput: r.integer("cockroachDataVolumeThroughput", 125),
			PublicLoadBalancer:   r.boolean("cockroachPublicLoadBalancer", false),
			AllowedCidrs:         r.strings("cockroachAllowedCidrs", nil),
			AmiParameter:         r.str("cockroachAmiParameter", DefaultAmiParameter),
		},
		EKS: EKSConfig{
			KubernetesVersion: r.str("eksKubernetesVersion", "1.33"),
			NodeInstanceType:  r.str("eksNodeInstanceType", "m5.xlarge"),
			NodeDesiredSize:   r.integer("eksNodeDesiredSize", 3),
			NodeMinSize:       r.integer("eksNodeMinSize", 1),
			NodeMaxSize:       r.integer("eksNodeMaxSize", 4),
			PublicAccessCidrs: r.strings("eksPublicAccessCidrs", []string{"0.0.0.0/0"}),
		},
		Database: DatabaseConfig{
			Mode: r.str("databaseMode", ModeSelfHosted),
			External: ExternalDatabase{
				Host:     r.str("externalDbHost", ""),
				Port:     r.integer("externalDbPort", DefaultSQLPort),
				User:     r.str("externalDbUser", ""),
				Password: r.secret("externalDbPassword"),
				CACert:   r.str("externalDbCaCert", ""),
				SSLMode:  r.str("externalDbSslMode", SSLVerifyFull),
				Options:  r.str("externalDbOptions", ""),
				Network:  r.str("externalDbNetwork", NetworkInternet),
			},
			Bootstrap:       r.str("databaseBootstrap", BootstrapJob),
			Users:           r.str("databaseUsers", UsersPerService),
			MaxConns:        r.integer("oryDbMaxConns", DefaultMaxConns),
			MaxIdleConns:    r.integer("oryDbMaxIdleConns", DefaultMaxIdleConns),
			MaxConnLifetime: r.duration("oryDbMaxConnLifetime", DefaultMaxConnLifetime),
		},
		Ory: OryConfig{
			ChartRepository:     r.str("oryChartRepository", DefaultOryChartRepository),
			ChartVersion:        r.str("oryChartVersion", "0.58.0"),
			HydraImageTag:       r.str("hydraImageTag", "v2.3.0"),
			KratosImageTag:      r.str("kratosImageTag", "v1.3.1"),
			KetoImageTag:        r.str("ketoImageTag", "v0.14.0"),
			HydraIssuerURL:      r.str("hydraIssuerUrl", ""),
			KratosPublicURL:     r.str("kratosPublicUrl", ""),
			KratosReturnURL:     r.str("kratosBrowserReturnUrl", ""),
			Replicas:            r.integer("oryReplicas", 1),
			PublicServices:      r.strings("oryPublicServices", DefaultPublicServices),
			PasswordBreachCheck: r.boolean("kratosPasswordBreachCheck", true),
			KetoNamespaces:      r.strings("ketoNamespaces", DefaultKetoNamespaces),
			SMTPURI:             r.secret("kratosSmtpUri"),
			HydraSystemSecret:   r.secret("hydraSystemSecret"),
			HydraCookieSecret:   r.secret("hydraCookieSecret"),
			KratosDefaultSecret: r.secret("kratosDefaultSecret"),
			KratosCookieSecret:  r.secret("kratosCookieSecret"),
			KratosCipherSecret:  r.secret("kratosCipherSecret"),
		},
	}
	if len(r.errs) > 0 {
		return nil, r.asked, configError(r.errs)
	}
	if err := cfg.Validate(); err != nil {
		return nil, r.asked, err
	}
	return cfg, r.asked, nil
}

func configError(errs []error) error {
	// The first problem goes on the first line, which is all a preview summary shows.
	return fmt.Errorf("invalid stack configuration: %w", errors.Join(errs...))
}
