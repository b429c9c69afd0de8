// Package stacks reads a stack's configuration into one typed, validated struct. It is the only
// place in the program that reads Pulumi config. Every key it reads is declared, with its type,
// description and default, in Pulumi.yaml; a test keeps the two in step.
package stacks

import (
	"errors"
	"fmt"
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
	return fmt.Errorf("invalid stack configuration:\n%w", errors.Join(errs...))
}
