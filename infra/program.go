// Package infra assembles the identity layer from its components. Program is the table of
// contents of the whole deployment; main.go runs it, and the unit tests run the same function
// under mocks.
package infra

import (
	"fmt"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ssm"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/ory-identity-layer/identity/infra/cockroach"
	"github.com/ory-identity-layer/identity/infra/eks"
	"github.com/ory-identity-layer/identity/infra/network"
	"github.com/ory-identity-layer/identity/infra/ory/deploy"
	"github.com/ory-identity-layer/identity/infra/peering"
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
	if err := ctx.Log.Info(cfg.Summary(), nil); err != nil {
		return nil, fmt.Errorf("logging the configuration: %w", err)
	}
	d := &Deployment{Outputs: map[string]pulumi.Input{}}

	eksNet, err := network.NewNetwork(ctx, "eks", &network.NetworkArgs{
		Cidr:              cfg.Network.EksVpcCidr,
		AvailabilityZones: cfg.AvailabilityZones,
		NATGateways:       cfg.Network.NATGateways,
		Tags:              cfg.Tags(),
		PublicSubnetTags:  map[string]string{"kubernetes.io/role/elb": "1"},
		PrivateSubnetTags: map[string]string{"kubernetes.io/role/internal-elb": "1"},
	})
	if err != nil {
		return nil, err
	}

	target, err := newDatabase(ctx, cfg, eksNet, d)
	if err != nil {
		return nil, err
	}

	cluster, err := eks.NewCluster(ctx, cfg.Project+"-"+cfg.Stack, &eks.ClusterArgs{
		KubernetesVersion: cfg.EKS.KubernetesVersion,
		VpcID:             eksNet.VpcID,
		PrivateSubnetIDs:  eksNet.PrivateSubnetIDs,
		PublicSubnetIDs:   eksNet.PublicSubnetIDs,
		NodeInstanceType:  cfg.EKS.NodeInstanceType,
		NodeDesiredSize:   cfg.EKS.NodeDesiredSize,
		NodeMinSize:       cfg.EKS.NodeMinSize,
		NodeMaxSize:       cfg.EKS.NodeMaxSize,
		PublicAccessCidrs: cfg.EKS.PublicAccessCidrs,
		Tags:              cfg.Tags(),
	})
	if err != nil {
		return nil, err
	}

	releases, err := newOry(ctx, cfg, target, cluster)
	if err != nil {
		return nil, err
	}

	d.addEKS(cluster)
	d.addOry(cfg, releases)
	return d, nil
}

// newDatabase builds the CockroachDB side: in self-hosted mode its VPC, the cluster and the
// peering to the EKS VPC; in external mode nothing, only the connection to the given cluster.
func newDatabase(ctx *pulumi.Context, cfg *stacks.Config, eksNet *network.Network,
	d *Deployment,
) (dbTarget, error) {
	if !cfg.SelfHosted() {
		if cfg.Database.External.Network == stacks.NetworkInternet {
			d.Outputs[OutEgressIPs] = eksNet.NATPublicIPs
		}
		return externalTarget(cfg), nil
	}

	crdbNet, err := network.NewNetwork(ctx, "crdb", &network.NetworkArgs{
		Cidr:              cfg.Network.CockroachVpcCidr,
		AvailabilityZones: cfg.AvailabilityZones,
		NATGateways:       cfg.Network.NATGateways,
		Tags:              cfg.Tags(),
	})
	if err != nil {
		return dbTarget{}, err
	}

	crdb, err := newCockroach(ctx, cfg, crdbNet)
	if err != nil {
		return dbTarget{}, err
	}

	link, err := peering.NewPeering(ctx, "eks-to-crdb", &peering.PeeringArgs{
		Requester: peering.Side{
			VpcID: eksNet.VpcID, Cidr: eksNet.Cidr,
			RouteTableIDs: eksNet.PrivateRouteTableIDs,
		},
		Accepter: peering.Side{
			VpcID: crdbNet.VpcID, Cidr: crdbNet.Cidr,
			RouteTableIDs: crdbNet.PrivateRouteTableIDs,
		},
		Tags: cfg.Tags(),
	})
	if err != nil {
		return dbTarget{}, err
	}

	d.addCockroach(crdb)
	return selfHostedTarget(crdb, link), nil
}

func newCockroach(ctx *pulumi.Context, cfg *stacks.Config,
	net *network.Network,
) (*cockroach.Cluster, error) {
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
		SQLClientCidrs:       []string{cfg.Network.EksVpcCidr},
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

// Output names of the EKS cluster and the Ory endpoints, as documented in the README. The six
// endpoint names follow the tutorial's environment variables.
const (
	OutEKSClusterName = "eksClusterName"
	OutKubeconfig     = "kubeconfig"
	OutHydraAdmin     = "hydraAdminUrl"
	OutHydraPublic    = "hydraPublicUrl"
	OutKratosAdmin    = "kratosAdminUrl"
	OutKratosPublic   = "kratosPublicUrl"
	OutKetoRead       = "ketoReadUrl"
	OutKetoWrite      = "ketoWriteUrl"
	OutOryEnv         = "oryEndpointsEnv"
	// OutEgressIPs is exported only for an external database reached over the internet.
	OutEgressIPs = "eksEgressIps"
)

func (d *Deployment) addEKS(c *eks.Cluster) {
	d.Outputs[OutEKSClusterName] = c.Name
	d.Outputs[OutKubeconfig] = c.Kubeconfig
}

// clusterURL is the in-cluster address of a release's service. Admin APIs are reachable only
// there (or through `kubectl port-forward`), never from the internet.
func clusterURL(service string, port int) string {
	return fmt.Sprintf("http://ory-%s.%s.svc.cluster.local:%d", service, OryNamespace, port)
}

func (d *Deployment) addOry(cfg *stacks.Config, releases *deploy.Releases) {
	urls := []struct {
		output, env string
		value       string
	}{
		{OutHydraAdmin, "HYDRA_ADMIN_URL", clusterURL("hydra-admin", hydraAdminPort)},
		{OutHydraPublic, "HYDRA_PUBLIC_URL", strings.TrimSuffix(cfg.Ory.HydraIssuerURL, "/")},
		{OutKratosAdmin, "KRATOS_ADMIN_URL", clusterURL("kratos-admin", kratosAdminPort)},
		{OutKratosPublic, "KRATOS_PUBLIC_URL", strings.TrimSuffix(cfg.Ory.KratosPublicURL, "/")},
		{OutKetoRead, "KETO_READ_REMOTE", clusterURL("keto-read", ketoReadPort)},
		{OutKetoWrite, "KETO_WRITE_REMOTE", clusterURL("keto-write", ketoWritePort)},
	}
	var env strings.Builder
	for _, u := range urls {
		d.Outputs[u.output] = pulumi.String(u.value)
		fmt.Fprintf(&env, "%s=%s\n", u.env, u.value)
	}
	// The lines appear once every release is deployed, so they never point at nothing.
	var statuses []any
	for _, chart := range services {
		statuses = append(statuses, releases.Statuses[chart])
	}
	text := env.String()
	d.Outputs[OutOryEnv] = pulumi.ToSecret(pulumi.All(statuses...).ApplyT(
		func([]any) string { return text }))
}
