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

// Program is the Pulumi program: it deploys the stack and exports its outputs.
func Program(ctx *pulumi.Context) error {
	d, err := Deploy(ctx)
	if err != nil {
		return err
	}
	for name, value := range d.Outputs {
		ctx.Export(name, value)
	}
	return nil
}

// Deployment is what Deploy built: the stack outputs by their documented names.
type Deployment struct {
	Outputs map[string]pulumi.Input
}

// Deploy loads the stack configuration and builds the components in order. Configuration errors
// stop it before any resource is registered.
func Deploy(ctx *pulumi.Context) (*Deployment, error) {
	cfg, err := stacks.Load(ctx, ctx.Project(), ctx.Stack())
	if err != nil {
		return nil, err
	}

	crdbNet, err := network.NewNetwork(ctx, "crdb", &network.NetworkArgs{
		Cidr:              cfg.Network.CockroachVpcCidr,
		AvailabilityZones: cfg.AvailabilityZones,
		NATGateways:       cfg.Network.NATGateways,
		Tags:              cfg.Tags(),
	})
	if err != nil {
		return nil, err
	}

	crdb, err := newCockroach(ctx, cfg, crdbNet)
	if err != nil {
		return nil, err
	}

	d := &Deployment{Outputs: map[string]pulumi.Input{}}
	d.addCockroach(crdb)
	return d, nil
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

func (d *Deployment) addCockroach(c *cockroach.Cluster) {
	d.Outputs[OutCockroachLoadBalancer] = c.LoadBalancerDNSName
	d.Outputs[OutCockroachConsole] = c.ConsoleURL
	d.Outputs[OutCockroachConnection] = c.ConnectionString
	d.Outputs[OutCockroachNodeIPs] = c.NodeIPs
	d.Outputs[OutCockroachCACert] = c.CACert
	d.Outputs[OutCockroachRootCert] = c.RootClientCert
	d.Outputs[OutCockroachRootKey] = c.RootClientKey
}
