// Package peering connects two VPCs of the same account and region: the peering connection,
// DNS resolution across it, and routes both ways.
package peering

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Side is one VPC of the pair.
type Side struct {
	// VpcID is the VPC. Required.
	VpcID pulumi.StringInput
	// Cidr is its IPv4 block; the other side routes it over the peering. Required.
	Cidr string
	// RouteTableIDs are the tables that get a route to the other side. Required, non-empty.
	RouteTableIDs []pulumi.StringOutput
}

// PeeringArgs configures a Peering. The two blocks must not overlap; the stack configuration
// rejects overlap before anything is built.
type PeeringArgs struct {
	// Requester and Accepter are the two VPCs. Required.
	Requester, Accepter Side
	// Tags go on every resource. Optional.
	Tags map[string]string
}

// Peering is an active VPC peering connection with routes both ways.
type Peering struct {
	pulumi.ResourceState

	// ConnectionID is the peering connection's ID.
	ConnectionID pulumi.StringOutput `pulumi:"connectionId"`
	// Ready lists the connection and its routes, for resources that need the path to exist.
	Ready []pulumi.Resource
}

// NewPeering builds the connection and its routes.
func NewPeering(ctx *pulumi.Context, name string, args *PeeringArgs,
	opts ...pulumi.ResourceOption,
) (*Peering, error) {
	if len(args.Requester.RouteTableIDs) == 0 || len(args.Accepter.RouteTableIDs) == 0 {
		return nil, fmt.Errorf("peering %s: both sides need route tables", name)
	}
	p := &Peering{}
	if err := ctx.RegisterComponentResource("identity:peering:Peering", name, p, opts...); err != nil {
		return nil, fmt.Errorf("registering peering %s: %w", name, err)
	}
	parent := pulumi.Parent(p)
	tags := pulumi.StringMap{"Name": pulumi.String(name)}
	for k, v := range args.Tags {
		tags[k] = pulumi.String(v)
	}
	// Same account and region, so the requester accepts its own request. DNS resolution across
	// the peering lets each side resolve the other's private host names to private addresses.
	conn, err := ec2.NewVpcPeeringConnection(ctx, name, &ec2.VpcPeeringConnectionArgs{
		VpcId:      args.Requester.VpcID,
		PeerVpcId:  args.Accepter.VpcID,
		AutoAccept: pulumi.Bool(true),
		Requester: &ec2.VpcPeeringConnectionRequesterArgs{
			AllowRemoteVpcDnsResolution: pulumi.Bool(true),
		},
		Accepter: &ec2.VpcPeeringConnectionAccepterTypeArgs{
			AllowRemoteVpcDnsResolution: pulumi.Bool(true),
		},
		Tags: tags,
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("peering %s: creating connection: %w", name, err)
	}
	routes := []struct {
		label string
		side  Side
		to    string
	}{
		{"requester", args.Requester, args.Accepter.Cidr},
		{"accepter", args.Accepter, args.Requester.Cidr},
	}
	p.Ready = append(p.Ready, conn)
	for _, r := range routes {
		for i, table := range r.side.RouteTableIDs {
			routeName := fmt.Sprintf("%s-%s-%d", name, r.label, i)
			route, err := ec2.NewRoute(ctx, routeName, &ec2.RouteArgs{
				RouteTableId:           table,
				DestinationCidrBlock:   pulumi.String(r.to),
				VpcPeeringConnectionId: conn.ID(),
			}, parent)
			if err != nil {
				return nil, fmt.Errorf("peering %s: routing %s: %w", name, routeName, err)
			}
			p.Ready = append(p.Ready, route)
		}
	}
	p.ConnectionID = conn.ID().ToStringOutput()
	if err := ctx.RegisterResourceOutputs(p, pulumi.Map{"connectionId": p.ConnectionID}); err != nil {
		return nil, fmt.Errorf("registering peering %s outputs: %w", name, err)
	}
	return p, nil
}
