// Package infra assembles the identity layer from its components. Program is the table of
// contents of the whole deployment; main.go runs it, and the unit tests run the same function
// under mocks.
package infra

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ssm"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/ory-identity-layer/identity/infra/cockroach"
	"github.com/ory-identity-layer/identity/infra/network"
	"github.com/ory-identity-layer/identity/stacks"
)

// Program loads the stack configuration, builds the components in order and exports the
// outputs. Configuration errors stop it before any resource is registered.
func Program(ctx *pulumi.Context) error {
	cfg, err := stacks.Load(ctx, ctx.Project(), ctx.Stack())
	if err != nil {
		return err
	}

	crdbNet, err := network.NewNetwork(ctx, "crdb", &network.NetworkArgs{
		Cidr:              cfg.Network.CockroachVpcCidr,
		AvailabilityZones: cfg.AvailabilityZones,
		NATGateways:       cfg.Network.NATGateways,
		Tags:              cfg.Tags(),
	})
	if err != nil {
		return err
	}

	crdb, err := newCockroach(ctx, cfg, crdbNet)
	if err != nil {
		return err
	}

	exportCockroach(ctx, crdb)
	return nil
}

func newCockroach(ctx *pulumi.Context, cfg *stacks.Config,
	net *network.Network) (*cockroach.Cluster, error) {
	c := cfg.Cockroach
	ami := ssm.LookupParameterOutput(ctx, ssm.LookupParameterOutputArgs{
		Name: pulumi.String(c.AmiParameter),
	})
	cluster, err := cockroach.NewCluster(ctx, "crdb", &cockroach.ClusterArgs{
		Version:              c.Version,
		SHA256:               c.BinarySHA256,
		Region:               cfg.Region,
		Zones:                net.Zones,
		SubnetIDs:            net.PrivateSubnetIDs,
		SubnetCidrs:          net.PrivateSubnetCidrs,
		PublicSubnetIDs:      net.PublicSubnetIDs,
		VpcID:                net.VpcID,
		VpcCidr:              net.Cidr,
		NodeCount:            c.NodeCount,
		InstanceType:         c.InstanceType,
		AmiID:                ami.InsecureValue(),
		RootVolumeGiB:        c.RootVolumeGiB,
		DataVolumeGiB:        c.DataVolumeGiB,
		DataVolumeIops:       c.DataVolumeIops,
		DataVolumeThroughput: c.DataVolumeThroughput,
		PublicLoadBalancer:   c.PublicLoadBalancer,
		AllowedCidrs:         c.AllowedCidrs,
		ParameterPrefix:      fmt.Sprintf("/%s/%s/cockroach", cfg.Project, cfg.Stack),
		Tags:                 cfg.Tags(),
	})
	if err != nil {
		return nil, err
	}
	return cluster, nil
}

// Output names, as documented in the README.
const (
	OutCockroachLoadBalancer = "cockroachLoadBalancerDnsName"
	OutCockroachConsole      = "cockroachConsoleUrl"
	OutCockroachConnection   = "cockroachConnectionString"
	OutCockroachNodeIPs      = "cockroachNodePrivateIps"
	OutCockroachCACert       = "cockroachCaCertificate"
	OutCockroachRootCert     = "cockroachRootClientCertificate"
	OutCockroachRootKey      = "cockroachRootClientPrivateKey"
)

func exportCockroach(ctx *pulumi.Context, c *cockroach.Cluster) {
	ctx.Export(OutCockroachLoadBalancer, c.LoadBalancerDNSName)
	ctx.Export(OutCockroachConsole, c.ConsoleURL)
	ctx.Export(OutCockroachConnection, c.ConnectionString)
	ctx.Export(OutCockroachNodeIPs, c.NodeIPs)
	ctx.Export(OutCockroachCACert, c.CACert)
	ctx.Export(OutCockroachRootCert, c.RootClientCert)
	ctx.Export(OutCockroachRootKey, c.RootClientKey)
}
