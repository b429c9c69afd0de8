// Package network builds a VPC spread over several availability zones: private subnets for the
// workloads, public subnets for NAT gateways and internet-facing load balancers.
package network

import (
	"fmt"
	"net/netip"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// NAT gateway layouts for NetworkArgs.NATGateways.
const (
	NATSingle = "single"
	NATPerAZ  = "perAz"
)

// subnetBits cuts the VPC block into 16 equal subnets: private ones from index 0, public ones
// from index 8. That leaves room for up to 8 zones.
const (
	subnetBits   = 4
	publicOffset = 8
	maxZones     = 8
)

// NetworkArgs configures a Network.
type NetworkArgs struct {
	// Cidr is the VPC's IPv4 block, /16 to /24. Required.
	Cidr string
	// AvailabilityZones lists the zones to use, one private and one public subnet in each.
	// Required, 1 to 8 distinct zones.
	AvailabilityZones []string
	// NATGateways is NATSingle (default, one gateway in the first zone) or NATPerAZ.
	NATGateways string
	// Tags go on every resource. Optional.
	Tags map[string]string
	// PrivateSubnetTags and PublicSubnetTags are added to the subnets of that kind, for
	// example the Kubernetes load balancer role tags. Optional.
	PrivateSubnetTags map[string]string
	PublicSubnetTags  map[string]string
}

// Network is a VPC with a private and a public subnet per zone, an internet gateway and NAT.
type Network struct {
	pulumi.ResourceState

	// VpcID is the VPC's ID.
	VpcID pulumi.StringOutput `pulumi:"vpcId"`
	// Cidr is the VPC's block.
	Cidr string
	// PrivateSubnetIDs and PublicSubnetIDs are ordered as AvailabilityZones.
	PrivateSubnetIDs pulumi.StringArrayOutput `pulumi:"privateSubnetIds"`
	PublicSubnetIDs  pulumi.StringArrayOutput `pulumi:"publicSubnetIds"`
	// PrivateSubnetCidrs are the private blocks, ordered as AvailabilityZones.
	PrivateSubnetCidrs []netip.Prefix
	// PrivateRouteTableIDs are the private route tables, one per zone, for peering routes.
	PrivateRouteTableIDs []pulumi.StringOutput
	// Zones repeats AvailabilityZones.
	Zones []string
	// NATPublicIPs are the addresses the private subnets reach the internet from, for
	// allowlists on the far side.
	NATPublicIPs pulumi.StringArrayOutput `pulumi:"natPublicIps"`
}

// NewNetwork builds the VPC and everything in it.
func NewNetwork(ctx *pulumi.Context, name string, args *NetworkArgs,
	opts ...pulumi.ResourceOption,
) (*Network, error) {
	plan, err := planSubnets(args)
	if err != nil {
		return nil, fmt.Errorf("network %s: %w", name, err)
	}
	n := &Network{Cidr: args.Cidr, Zones: args.AvailabilityZones, PrivateSubnetCidrs: plan.private}
	if err := ctx.RegisterComponentResource("identity:network:Network", name, n, opts...); err != nil {
		return nil, fmt.Errorf("registering network %s: %w", name, err)
	}
	b := &builder{ctx: ctx, name: name, args: args, parent: pulumi.Parent(n)}
	if err := b.build(n, plan); err != nil {
		return nil, fmt.Errorf("network %s: %w", name, err)
	}
	n.NATPublicIPs = b.natIPs
	if err := ctx.RegisterResourceOutputs(n, pulumi.Map{
		"vpcId":            n.VpcID,
		"privateSubnetIds": n.PrivateSubnetIDs,
		"publicSubnetIds":  n.PublicSubnetIDs,
		"natPublicIps":     n.NATPublicIPs,
	}); err != nil {
		return nil, fmt.Errorf("registering network %s outputs: %w", name, err)
	}
	return n, nil
}

type subnetPlan struct {
	private, public []netip.Prefix
}

func planSubnets(args *NetworkArgs) (subnetPlan, error) {
	base, err := netip.ParsePrefix(args.Cidr)
	if err != nil {
		return subnetPlan{}, fmt.Errorf("cidr %q: %w", args.Cidr, err)
	}
	zones := len(args.AvailabilityZones)
	if zones == 0 || zones > maxZones {
		return subnetPlan{}, fmt.Errorf("got %d availability zones; want 1 to %d", zones, maxZones)
	}
	if args.NATGateways != "" && args.NATGateways != NATSingle && args.NATGateways != NATPerAZ {
		return subnetPlan{}, fmt.Errorf("natGateways %q; want %s or %s",
			args.NATGateways, NATSingle, NATPerAZ)
	}
	var plan subnetPlan
	for i := range zones {
		priv, err := Subnet(base, subnetBits, i)
		if err != nil {
			return subnetPlan{}, err
		}
		pub, err := Subnet(base, subnetBits, publicOffset+i)
		if err != nil {
			return subnetPlan{}, err
		}
		plan.private = append(plan.private, priv)
		plan.public = append(plan.public, pub)
	}
	return plan, nil
}

type builder struct {
	ctx    *pulumi.Context
	name   string
	args   *NetworkArgs
	parent pulumi.ResourceOption
	natIPs pulumi.StringArrayOutput
}

func (b *builder) tags(name string, extra map[string]string) pulumi.StringMap {
	out := pulumi.StringMap{"Name": pulumi.String(name)}
	for k, v := range b.args.Tags {
		out[k] = pulumi.String(v)
	}
	for k, v := range extra {
		out[k] = pulumi.String(v)
	}
	return out
}

func (b *builder) build(n *Network, plan subnetPlan) error {
	vpc, err := ec2.NewVpc(b.ctx, b.name+"-vpc", &ec2.VpcArgs{
		CidrBlock:          pulumi.String(b.args.Cidr),
		EnableDnsHostnames: pulumi.Bool(true),
		EnableDnsSupport:   pulumi.Bool(true),
		Tags:               b.tags(b.name, nil),
	}, b.parent)
	if err != nil {
		return fmt.Errorf("creating vpc: %w", err)
	}
	n.VpcID = vpc.ID().ToStringOutput()

	// The default security group allows all traffic between its members. Nothing here uses
	// it, so take it over and leave it with no rules at all.
	if _, err := ec2.NewDefaultSecurityGroup(b.ctx, b.name+"-default-sg", &ec2.DefaultSecurityGroupArgs{
		VpcId: vpc.ID(),
		Tags:  b.tags(b.name+"-default-locked", nil),
	}, b.parent); err != nil {
		return fmt.Errorf("locking the default security group: %w", err)
	}

	igw, err := ec2.NewInternetGateway(b.ctx, b.name+"-igw", &ec2.InternetGatewayArgs{
		VpcId: vpc.ID(),
		Tags:  b.tags(b.name, nil),
	}, b.parent)
	if err != nil {
		return fmt.Errorf("creating internet gateway: %w", err)
	}

	public, err := b.publicSubnets(vpc, igw, plan.public)
	if err != nil {
		return err
	}
	nats, err := b.natGateways(public)
	if err != nil {
		return err
	}
	return b.privateSubnets(n, vpc, nats, plan.private, public)
}

func (b *builder) publicSubnets(vpc *ec2.Vpc, igw *ec2.InternetGateway,
	cidrs []netip.Prefix,
) ([]*ec2.Subnet, error) {
	rt, err := ec2.NewRouteTable(b.ctx, b.name+"-public", &ec2.RouteTableArgs{
		VpcId: vpc.ID(),
		Routes: ec2.RouteTableRouteArray{&ec2.RouteTableRouteArgs{
			CidrBlock: pulumi.String("0.0.0.0/0"),
			GatewayId: igw.ID(),
		}},
		Tags: b.tags(b.name+"-public", nil),
	}, b.parent)
	if err != nil {
		return nil, fmt.Errorf("creating public route table: %w", err)
	}
	var subnets []*ec2.Subnet
	for i, zone := range b.args.AvailabilityZones {
		name := fmt.Sprintf("%s-public-%s", b.name, zone)
		// Instances here get no public address by default: only NAT gateways and load
		// balancers live in the public subnets, and they bring their own.
		sn, err := ec2.NewSubnet(b.ctx, name, &ec2.SubnetArgs{
			VpcId:               vpc.ID(),
			CidrBlock:           pulumi.String(cidrs[i].String()),
			AvailabilityZone:    pulumi.String(zone),
			MapPublicIpOnLaunch: pulumi.Bool(false),
			Tags:                b.tags(name, b.args.PublicSubnetTags),
		}, b.parent)
		if err != nil {
			return nil, fmt.Errorf("creating public subnet in %s: %w", zone, err)
		}
		if _, err := ec2.NewRouteTableAssociation(b.ctx, name, &ec2.RouteTableAssociationArgs{
			SubnetId:     sn.ID(),
			RouteTableId: rt.ID(),
		}, b.parent); err != nil {
			return nil, fmt.Errorf("associating public subnet in %s: %w", zone, err)
		}
		subnets = append(subnets, sn)
	}
	return subnets, nil
}

func (b *builder) natGateways(public []*ec2.Subnet) ([]*ec2.NatGateway, error) {
	count := 1
	if b.args.NATGateways == NATPerAZ {
		count = len(public)
	}
	var nats []*ec2.NatGateway
	var ips pulumi.StringArray
	for i := range count {
		zone := b.args.AvailabilityZones[i]
		name := fmt.Sprintf("%s-nat-%s", b.name, zone)
		eip, err := ec2.NewEip(b.ctx, name, &ec2.EipArgs{
			Domain: pulumi.String("vpc"),
			Tags:   b.tags(name, nil),
		}, b.parent)
		if err != nil {
			return nil, fmt.Errorf("creating NAT address in %s: %w", zone, err)
		}
		nat, err := ec2.NewNatGateway(b.ctx, name, &ec2.NatGatewayArgs{
			AllocationId: eip.ID(),
			SubnetId:     public[i].ID(),
			Tags:         b.tags(name, nil),
		}, b.parent)
		if err != nil {
			return nil, fmt.Errorf("creating NAT gateway in %s: %w", zone, err)
		}
		nats = append(nats, nat)
		ips = append(ips, eip.PublicIp)
	}
	b.natIPs = ips.ToStringArrayOutput()
	return nats, nil
}

func (b *builder) privateSubnets(n *Network, vpc *ec2.Vpc, nats []*ec2.NatGateway,
	cidrs []netip.Prefix, public []*ec2.Subnet,
) error {
	var privateIDs, publicIDs pulumi.StringArray
	for i, zone := range b.args.AvailabilityZones {
		name := fmt.Sprintf("%s-private-%s", b.name, zone)
		nat := nats[min(i, len(nats)-1)]
		// Routes are separate resources, never inline: peering adds its own routes to these
		// tables later, and inline routes would fight them on every update.
		rt, err := ec2.NewRouteTable(b.ctx, name, &ec2.RouteTableArgs{
			VpcId: vpc.ID(),
			Tags:  b.tags(name, nil),
		}, b.parent)
		if err != nil {
			return fmt.Errorf("creating private route table in %s: %w", zone, err)
		}
		if _, err := ec2.NewRoute(b.ctx, name+"-egress", &ec2.RouteArgs{
			RouteTableId:         rt.ID(),
			DestinationCidrBlock: pulumi.String("0.0.0.0/0"),
			NatGatewayId:         nat.ID(),
		}, b.parent); err != nil {
			return fmt.Errorf("routing private subnet in %s through NAT: %w", zone, err)
		}
		sn, err := ec2.NewSubnet(b.ctx, name, &ec2.SubnetArgs{
			VpcId:            vpc.ID(),
			CidrBlock:        pulumi.String(cidrs[i].String()),
			AvailabilityZone: pulumi.String(zone),
			Tags:             b.tags(name, b.args.PrivateSubnetTags),
		}, b.parent)
		if err != nil {
			return fmt.Errorf("creating private subnet in %s: %w", zone, err)
		}
		if _, err := ec2.NewRouteTableAssociation(b.ctx, name, &ec2.RouteTableAssociationArgs{
			SubnetId:     sn.ID(),
			RouteTableId: rt.ID(),
		}, b.parent); err != nil {
			return fmt.Errorf("associating private subnet in %s: %w", zone, err)
		}
		privateIDs = append(privateIDs, sn.ID())
		publicIDs = append(publicIDs, public[i].ID())
		n.PrivateRouteTableIDs = append(n.PrivateRouteTableIDs, rt.ID().ToStringOutput())
	}
	n.PrivateSubnetIDs = privateIDs.ToStringArrayOutput()
	n.PublicSubnetIDs = publicIDs.ToStringArrayOutput()
	return nil
}
