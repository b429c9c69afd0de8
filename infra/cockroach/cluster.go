// Package cockroach builds a secure CockroachDB cluster on EC2: one node per zone slot, each with
// its own encrypted store volume, certificates from a private CA, and an internal Network Load
// Balancer in front.
package cockroach

import (
	"fmt"
	"net/netip"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/ory-identity-layer/identity/infra/network"
)

// firstNodeHost is the host number of the first node in each private subnet. Node addresses are
// fixed from the subnet plan, so the --join list and the certificates are known at preview.
const firstNodeHost = 10

// ClusterArgs configures a Cluster.
type ClusterArgs struct {
	// Version is the pinned release, vMAJOR.MINOR.PATCH. Required.
	Version string
	// SHA256 is the expected tarball checksum. Optional; see stacks.CockroachConfig.
	SHA256 string
	// Region is the AWS region, for --locality. Required.
	Region string
	// Zones are the availability zones, ordered as the subnets. Required, 3 or more.
	Zones []string
	// SubnetIDs and SubnetCidrs are the private subnets, one per zone. Required.
	SubnetIDs   pulumi.StringArrayInput
	SubnetCidrs []netip.Prefix
	// PublicSubnetIDs are used only when PublicLoadBalancer is true.
	PublicSubnetIDs pulumi.StringArrayInput
	// VpcID and VpcCidr locate the VPC. Required.
	VpcID   pulumi.StringInput
	VpcCidr string
	// NodeCount is the number of nodes, a multiple of len(Zones). Required, 3 or more.
	NodeCount int
	// InstanceType is the EC2 type of every node. Required.
	InstanceType string
	// AmiID is the node image, Amazon Linux 2023. Required.
	AmiID pulumi.StringInput
	// RootVolumeGiB, DataVolumeGiB (GiB), DataVolumeIops and DataVolumeThroughput (MiB/s)
	// size the gp3 volumes. Required.
	RootVolumeGiB, DataVolumeGiB, DataVolumeIops, DataVolumeThroughput int
	// PublicLoadBalancer makes the NLB internet-facing. Default false (internal).
	PublicLoadBalancer bool
	// AllowedCidrs may reach 26257 and 8080 besides the VPC. Optional; never 0.0.0.0/0.
	AllowedCidrs []string
	// SQLClientCidrs may reach SQL (26257) through the load balancer only, for example the
	// peered EKS VPC. Optional.
	SQLClientCidrs []string
	// ParameterPrefix is the SSM path under which certificates are stored, for example
	// /identity/dev/cockroach. Required.
	ParameterPrefix string
	// Tags go on every AWS resource. Optional.
	Tags map[string]string
}

// Cluster is a running, initialised CockroachDB cluster in secure mode.
type Cluster struct {
	pulumi.ResourceState

	// LoadBalancerDNSName is the NLB's DNS name; clients connect to it on 26257.
	LoadBalancerDNSName pulumi.StringOutput `pulumi:"loadBalancerDnsName"`
	// ConsoleURL is the DB Console address (HTTPS on 8080).
	ConsoleURL pulumi.StringOutput `pulumi:"consoleUrl"`
	// ConnectionString is a root connection URL with verify-full TLS. Secret.
	ConnectionString pulumi.StringOutput `pulumi:"connectionString"`
	// NodeIPs are the nodes' private addresses, in node order.
	NodeIPs pulumi.StringArrayOutput `pulumi:"nodePrivateIps"`
	// CACert is the PEM certificate of the cluster CA.
	CACert pulumi.StringOutput `pulumi:"caCertificate"`
	// RootClientCert and RootClientKey authenticate the root SQL user. The key is secret.
	RootClientCert pulumi.StringOutput `pulumi:"rootClientCertificate"`
	RootClientKey  pulumi.StringOutput `pulumi:"rootClientPrivateKey"`
	// NodeSecurityGroupID and LoadBalancerSecurityGroupID let other stacks' networks in.
	NodeSecurityGroupID         pulumi.StringOutput `pulumi:"nodeSecurityGroupId"`
	LoadBalancerSecurityGroupID pulumi.StringOutput `pulumi:"loadBalancerSecurityGroupId"`

	// Ready lists the resources that finish the cluster: instances, store attachments and load
	// balancer targets. Depend on these, not on the component: a dependency on a component
	// covers only the children registered by the time it is resolved.
	Ready []pulumi.Resource
}

// node is one planned node: its zone, subnet and fixed address.
type node struct {
	index  int
	zone   string
	subnet int
	ip     netip.Addr
}

// NewCluster builds the cluster.
func NewCluster(ctx *pulumi.Context, name string, args *ClusterArgs,
	opts ...pulumi.ResourceOption,
) (*Cluster, error) {
	nodes, err := planNodes(args)
	if err != nil {
		return nil, fmt.Errorf("cockroach cluster %s: %w", name, err)
	}
	c := &Cluster{}
	if err := ctx.RegisterComponentResource("identity:cockroach:Cluster", name, c, opts...); err != nil {
		return nil, fmt.Errorf("registering cockroach cluster %s: %w", name, err)
	}
	b := &clusterBuilder{ctx: ctx, name: name, args: args, nodes: nodes, parent: pulumi.Parent(c)}
	if err := b.build(c); err != nil {
		return nil, fmt.Errorf("cockroach cluster %s: %w", name, err)
	}
	if err := ctx.RegisterResourceOutputs(c, pulumi.Map{
		"loadBalancerDnsName":         c.LoadBalancerDNSName,
		"consoleUrl":                  c.ConsoleURL,
		"connectionString":            c.ConnectionString,
		"nodePrivateIps":              c.NodeIPs,
		"caCertificate":               c.CACert,
		"rootClientCertificate":       c.RootClientCert,
		"rootClientPrivateKey":        c.RootClientKey,
		"nodeSecurityGroupId":         c.NodeSecurityGroupID,
		"loadBalancerSecurityGroupId": c.LoadBalancerSecurityGroupID,
	}); err != nil {
		return nil, fmt.Errorf("registering cockroach cluster %s outputs: %w", name, err)
	}
	return c, nil
}

// planNodes places node i in zone i mod zones, at host firstNodeHost + i/zones of that zone's
// private subnet.
func planNodes(args *ClusterArgs) ([]node, error) {
	zones := len(args.Zones)
	switch {
	case zones < 3:
		return nil, fmt.Errorf("got %d zones; want 3 or more", zones)
	case len(args.SubnetCidrs) != zones:
		return nil, fmt.Errorf("got %d subnet blocks for %d zones", len(args.SubnetCidrs), zones)
	case args.NodeCount < 3 || args.NodeCount%zones != 0:
		return nil, fmt.Errorf("got %d nodes; want 3 or more, a multiple of %d zones",
			args.NodeCount, zones)
	}
	nodes := make([]node, args.NodeCount)
	for i := range nodes {
		z := i % zones
		ip, err := network.Host(args.SubnetCidrs[z], firstNodeHost+i/zones)
		if err != nil {
			return nil, fmt.Errorf("placing node %d: %w", i, err)
		}
		nodes[i] = node{index: i, zone: args.Zones[z], subnet: z, ip: ip}
	}
	return nodes, nil
}

type clusterBuilder struct {
	ctx    *pulumi.Context
	name   string
	args   *ClusterArgs
	nodes  []node
	parent pulumi.ResourceOption
}

func (b *clusterBuilder) tags(name string) pulumi.StringMap {
	out := pulumi.StringMap{"Name": pulumi.String(name)}
	for k, v := range b.args.Tags {
		out[k] = pulumi.String(v)
	}
	return out
}

func (b *clusterBuilder) nodeIPs() []string {
	ips := make([]string, len(b.nodes))
	for i, n := range b.nodes {
		ips[i] = n.ip.String()
	}
	return ips
}

func (b *clusterBuilder) build(c *Cluster) error {
	sgs, err := b.securityGroups()
	if err != nil {
		return err
	}
	lb, err := b.loadBalancer(sgs.loadBalancer)
	if err != nil {
		return err
	}
	pki, err := b.certificates(lb.DnsName)
	if err != nil {
		return err
	}
	params, err := b.parameters(pki)
	if err != nil {
		return err
	}
	instances, volumes, err := b.instances(sgs.node, params)
	if err != nil {
		return err
	}
	targets, err := b.attachTargets(lb, instances)
	if err != nil {
		return err
	}
	for _, inst := range instances {
		c.Ready = append(c.Ready, inst)
	}
	c.Ready = append(append(c.Ready, volumes...), targets...)

	dns := lb.DnsName
	c.LoadBalancerDNSName = dns
	c.ConsoleURL = pulumi.Sprintf("https://%s:%d", dns, HTTPPort)
	c.ConnectionString = pulumi.ToSecret(pulumi.Sprintf(
		"postgresql://root@%s:%d/defaultdb?sslmode=verify-full&sslrootcert=ca.crt"+
			"&sslcert=client.root.crt&sslkey=client.root.key", dns, SQLPort)).(pulumi.StringOutput)
	c.NodeIPs = pulumi.ToStringArray(b.nodeIPs()).ToStringArrayOutput()
	c.CACert = pki.caCert
	c.RootClientCert = pki.rootCert
	c.RootClientKey = pulumi.ToSecret(pki.rootKey).(pulumi.StringOutput)
	c.NodeSecurityGroupID = sgs.node.ID().ToStringOutput()
	c.LoadBalancerSecurityGroupID = sgs.loadBalancer.ID().ToStringOutput()
	return nil
}
