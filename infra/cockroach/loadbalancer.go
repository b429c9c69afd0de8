package cockroach

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/lb"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// HealthCheckPath is CockroachDB's readiness endpoint: it answers 200 only when the node
// accepts SQL, so a draining or decommissioning node leaves the pool before it stops.
const HealthCheckPath = "/health?ready=1"

type loadBalancer struct {
	*lb.LoadBalancer
	targetGroups map[int]*lb.TargetGroup
}

func (b *clusterBuilder) loadBalancer(sg *ec2.SecurityGroup) (*loadBalancer, error) {
	subnets := b.args.SubnetIDs
	if b.args.PublicLoadBalancer {
		subnets = b.args.PublicSubnetIDs
	}
	nlb, err := lb.NewLoadBalancer(b.ctx, b.name, &lb.LoadBalancerArgs{
		LoadBalancerType:             pulumi.String("network"),
		Internal:                     pulumi.Bool(!b.args.PublicLoadBalancer),
		Subnets:                      subnets,
		SecurityGroups:               pulumi.StringArray{sg.ID()},
		EnableCrossZoneLoadBalancing: pulumi.Bool(true),
		Tags:                         b.tags(b.name),
	}, b.parent)
	if err != nil {
		return nil, fmt.Errorf("creating load balancer: %w", err)
	}
	out := &loadBalancer{LoadBalancer: nlb, targetGroups: map[int]*lb.TargetGroup{}}
	for _, port := range []int{SQLPort, HTTPPort} {
		tg, err := b.listener(nlb, port)
		if err != nil {
			return nil, err
		}
		out.targetGroups[port] = tg
	}
	return out, nil
}

// listener forwards one TCP port to a target group of the same port. Both target groups use the
// same HTTP readiness check on 8080, so SQL traffic follows the node's own view of readiness.
func (b *clusterBuilder) listener(nlb *lb.LoadBalancer, port int) (*lb.TargetGroup, error) {
	name := fmt.Sprintf("%s-%d", b.name, port)
	tg, err := lb.NewTargetGroup(b.ctx, name, &lb.TargetGroupArgs{
		Port:                pulumi.Int(port),
		Protocol:            pulumi.String("TCP"),
		TargetType:          pulumi.String("instance"),
		VpcId:               b.args.VpcID,
		DeregistrationDelay: pulumi.Int(60),
		HealthCheck: &lb.TargetGroupHealthCheckArgs{
			Enabled:            pulumi.Bool(true),
			Protocol:           pulumi.String("HTTP"),
			Port:               pulumi.String(fmt.Sprint(HTTPPort)),
			Path:               pulumi.String(HealthCheckPath),
			Matcher:            pulumi.String("200"),
			Interval:           pulumi.Int(10),
			HealthyThreshold:   pulumi.Int(3),
			UnhealthyThreshold: pulumi.Int(3),
		},
		Tags: b.tags(name),
	}, b.parent)
	if err != nil {
		return nil, fmt.Errorf("creating target group %d: %w", port, err)
	}
	if _, err := lb.NewListener(b.ctx, name, &lb.ListenerArgs{
		LoadBalancerArn: nlb.Arn,
		Port:            pulumi.Int(port),
		Protocol:        pulumi.String("TCP"),
		DefaultActions: lb.ListenerDefaultActionArray{&lb.ListenerDefaultActionArgs{
			Type:           pulumi.String("forward"),
			TargetGroupArn: tg.Arn,
		}},
		Tags: b.tags(name),
	}, b.parent); err != nil {
		return nil, fmt.Errorf("creating listener %d: %w", port, err)
	}
	return tg, nil
}

func (b *clusterBuilder) attachTargets(nlb *loadBalancer,
	instances []*ec2.Instance,
) ([]pulumi.Resource, error) {
	var out []pulumi.Resource
	for _, port := range []int{SQLPort, HTTPPort} {
		for i, inst := range instances {
			name := fmt.Sprintf("%s-%d-node-%d", b.name, port, i)
			a, err := lb.NewTargetGroupAttachment(b.ctx, name, &lb.TargetGroupAttachmentArgs{
				TargetGroupArn: nlb.targetGroups[port].Arn,
				TargetId:       inst.ID(),
				Port:           pulumi.Int(port),
			}, b.parent)
			if err != nil {
				return nil, fmt.Errorf("attaching node %d to port %d: %w", i, port, err)
			}
			out = append(out, a)
		}
	}
	return out, nil
}
