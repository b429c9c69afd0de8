package cockroach

import (
	"fmt"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/vpc"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

type securityGroups struct {
	node, loadBalancer *ec2.SecurityGroup
}

// securityGroups opens exactly these paths, and nothing on port 22 (SSM Session Manager
// replaces SSH):
//   - 26257 between nodes, and from the load balancer;
//   - 8080 from the load balancer and the VPC, for health checks;
//   - 26257 and 8080 from AllowedCidrs, to the load balancer and the nodes;
//   - 26257 from SQLClientCidrs, to the load balancer.
func (b *clusterBuilder) securityGroups() (securityGroups, error) {
	nodeSG, err := b.securityGroup("nodes", "CockroachDB nodes")
	if err != nil {
		return securityGroups{}, err
	}
	lbSG, err := b.securityGroup("nlb", "CockroachDB load balancer")
	if err != nil {
		return securityGroups{}, err
	}
	rules := []ingress{
		{
			name: "nodes-sql-peers", sg: nodeSG, port: SQLPort, fromSG: nodeSG.ID(),
			what: "SQL and RPC between nodes",
		},
		{
			name: "nodes-sql-nlb", sg: nodeSG, port: SQLPort, fromSG: lbSG.ID(),
			what: "SQL from the load balancer",
		},
		{
			name: "nodes-http-nlb", sg: nodeSG, port: HTTPPort, fromSG: lbSG.ID(),
			what: "DB Console and health checks from the load balancer",
		},
		{
			name: "nodes-http-vpc", sg: nodeSG, port: HTTPPort, cidr: b.args.VpcCidr,
			what: "health checks from the VPC",
		},
		{
			name: "nlb-sql-vpc", sg: lbSG, port: SQLPort, cidr: b.args.VpcCidr,
			what: "SQL from the VPC",
		},
		{
			name: "nlb-http-vpc", sg: lbSG, port: HTTPPort, cidr: b.args.VpcCidr,
			what: "DB Console from the VPC",
		},
	}
	for i, cidr := range b.args.AllowedCidrs {
		for _, target := range []struct {
			label string
			sg    *ec2.SecurityGroup
		}{{"nlb", lbSG}, {"nodes", nodeSG}} {
			rules = append(rules,
				ingress{
					name: fmt.Sprintf("%s-sql-allowed-%d", target.label, i), sg: target.sg,
					port: SQLPort, cidr: cidr, what: "SQL from an allowed network",
				},
				ingress{
					name: fmt.Sprintf("%s-http-allowed-%d", target.label, i), sg: target.sg,
					port: HTTPPort, cidr: cidr, what: "DB Console from an allowed network",
				})
		}
	}
	for i, cidr := range b.args.SQLClientCidrs {
		rules = append(rules, ingress{
			name: fmt.Sprintf("nlb-sql-client-%d", i), sg: lbSG,
			port: SQLPort, cidr: cidr, what: "SQL from a peered client network",
		})
	}
	for _, r := range rules {
		if err := b.ingressRule(r); err != nil {
			return securityGroups{}, err
		}
	}
	if err := b.egressRules(nodeSG, lbSG); err != nil {
		return securityGroups{}, err
	}
	return securityGroups{node: nodeSG, loadBalancer: lbSG}, nil
}

func (b *clusterBuilder) securityGroup(suffix, description string) (*ec2.SecurityGroup, error) {
	name := b.name + "-" + suffix
	sg, err := ec2.NewSecurityGroup(b.ctx, name, &ec2.SecurityGroupArgs{
		VpcId:       b.args.VpcID,
		Description: pulumi.String(description),
		Tags:        b.tags(name),
	}, b.parent)
	if err != nil {
		return nil, fmt.Errorf("creating security group %s: %w", name, err)
	}
	return sg, nil
}

type ingress struct {
	name   string
	sg     *ec2.SecurityGroup
	port   int
	cidr   string
	fromSG pulumi.IDOutput
	what   string
}

func (b *clusterBuilder) ingressRule(r ingress) error {
	args := &vpc.SecurityGroupIngressRuleArgs{
		SecurityGroupId: r.sg.ID(),
		IpProtocol:      pulumi.String("tcp"),
		FromPort:        pulumi.Int(r.port),
		ToPort:          pulumi.Int(r.port),
		Description:     pulumi.String(r.what),
		Tags:            b.tags(b.name + "-" + r.name),
	}
	if r.cidr != "" {
		if isIPv6(r.cidr) {
			args.CidrIpv6 = pulumi.String(r.cidr)
		} else {
			args.CidrIpv4 = pulumi.String(r.cidr)
		}
	} else {
		args.ReferencedSecurityGroupId = r.fromSG
	}
	if _, err := vpc.NewSecurityGroupIngressRule(b.ctx, b.name+"-"+r.name, args, b.parent); err != nil {
		return fmt.Errorf("creating ingress rule %s: %w", r.name, err)
	}
	return nil
}

func isIPv6(cidr string) bool { return strings.Contains(cidr, ":") }

// egressRules let nodes reach the internet through NAT (release download, SSM) and let the load
// balancer reach only the nodes' two ports.
func (b *clusterBuilder) egressRules(nodeSG, lbSG *ec2.SecurityGroup) error {
	if _, err := vpc.NewSecurityGroupEgressRule(b.ctx, b.name+"-nodes-egress",
		&vpc.SecurityGroupEgressRuleArgs{
			SecurityGroupId: nodeSG.ID(),
			IpProtocol:      pulumi.String("-1"),
			CidrIpv4:        pulumi.String("0.0.0.0/0"),
			Description:     pulumi.String("outbound through NAT: release download, SSM, peers"),
			Tags:            b.tags(b.name + "-nodes-egress"),
		}, b.parent); err != nil {
		return fmt.Errorf("creating node egress rule: %w", err)
	}
	for _, port := range []int{SQLPort, HTTPPort} {
		name := fmt.Sprintf("%s-nlb-egress-%d", b.name, port)
		if _, err := vpc.NewSecurityGroupEgressRule(b.ctx, name, &vpc.SecurityGroupEgressRuleArgs{
			SecurityGroupId:           lbSG.ID(),
			IpProtocol:                pulumi.String("tcp"),
			FromPort:                  pulumi.Int(port),
			ToPort:                    pulumi.Int(port),
			ReferencedSecurityGroupId: nodeSG.ID(),
			Description:               pulumi.String("to the nodes"),
			Tags:                      b.tags(name),
		}, b.parent); err != nil {
			return fmt.Errorf("creating load balancer egress rule: %w", err)
		}
	}
	return nil
}
