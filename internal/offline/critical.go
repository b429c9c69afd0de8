package offline

import (
	"sort"
	"strings"
	"time"
)

// CreateTime is how long creating one resource of a type typically takes, and where the figure
// comes from.
type CreateTime struct {
	Typical time.Duration
	Source  string
}

// defaultCreateTime covers API-only resources (security group rules, routes, IAM, Secrets).
var defaultCreateTime = CreateTime{5 * time.Second, "one API call and its read-back"}

// CreateTimes are typical create times by resource type. They are estimates for planning,
// not promises: AWS publishes no SLA for them.
var CreateTimes = map[string]CreateTime{
	"eks:index:Cluster": {
		10 * time.Minute,
		"the tutorial: EKS cluster provisioning usually takes 10 to 15 minutes",
	},
	"eks:index:ManagedNodeGroup": {
		4 * time.Minute,
		"EKS managed node groups reach ACTIVE in about 3 to 4 minutes",
	},
	"aws:lb/loadBalancer:LoadBalancer": {
		3 * time.Minute,
		"an NLB leaves the provisioning state in about 3 minutes",
	},
	"aws:ec2/natGateway:NatGateway": {
		2 * time.Minute,
		"a NAT gateway becomes available in 1 to 2 minutes",
	},
	"aws:ec2/instance:Instance": {
		time.Minute,
		"an EC2 instance reaches running in under a minute; the provider waits for it",
	},
	"kubernetes:helm.sh/v3:Release": {
		90 * time.Second,
		"a release with its migration hook Job and rollout",
	},
	"kubernetes:batch/v1:Job": {
		time.Minute,
		"image pull, then the SQL run; retries while CockroachDB initialises",
	},
	"aws:ec2/vpcPeeringConnection:VpcPeeringConnection": {
		15 * time.Second,
		"request and auto-accept",
	},
	"aws:ebs/volume:Volume": {15 * time.Second, "a gp3 volume becomes available in seconds"},
	"aws:ec2/volumeAttachment:VolumeAttachment": {
		15 * time.Second,
		"attach and wait for the attached state",
	},
	"aws:iam/instanceProfile:InstanceProfile": {
		10 * time.Second,
		"IAM is eventually consistent; the provider waits for propagation",
	},
	"aws:ec2/eip:Eip": {5 * time.Second, defaultCreateTime.Source},
}

// createTime is the typical duration of r. Components and providers take no time of their own,
// except the pulumi-eks components, which wrap the cluster and the node group.
func createTime(r *Resource) time.Duration {
	if ct, ok := CreateTimes[r.Type]; ok {
		return ct.Typical
	}
	if !r.Custom || strings.HasPrefix(r.Type, "pulumi:providers:") {
		return 0
	}
	return defaultCreateTime.Typical
}

// Step is one resource on the critical path, with the time it finishes after the start.
type Step struct {
	Resource *Resource
	Takes    time.Duration
	Finishes time.Duration
}

// CriticalPath returns the longest chain of dependencies, weighted by typical create times:
// the floor of a fresh `pulumi up`, however much runs in parallel.
func CriticalPath(g *Graph) []Step {
	deps := g.dependencies()
	finish := map[string]time.Duration{}
	via := map[string]string{}
	var visit func(urn string) time.Duration
	visit = func(urn string) time.Duration {
		if d, ok := finish[urn]; ok {
			return d
		}
		finish[urn] = 0 // breaks cycles, which a valid graph has none of
		var longest time.Duration
		for _, d := range deps[urn] {
			if f := visit(d); via[urn] == "" || f > longest {
				longest, via[urn] = f, d
			}
		}
		finish[urn] = longest + createTime(g.byURN(urn))
		return finish[urn]
	}
	var end string
	for _, r := range g.Resources {
		if f := visit(r.URN); f > finish[end] || end == "" {
			end = r.URN
		}
	}
	var chain []Step
	for urn := end; urn != ""; urn = via[urn] {
		r := g.byURN(urn)
		chain = append(chain, Step{Resource: r, Takes: createTime(r), Finishes: finish[urn]})
	}
	sort.SliceStable(chain, func(i, j int) bool { return chain[i].Finishes < chain[j].Finishes })
	return chain
}

// Ancestors returns every resource urn waits for, directly or not.
func (g *Graph) Ancestors(urn string) map[string]bool {
	deps := g.dependencies()
	seen := map[string]bool{}
	var walk func(string)
	walk = func(u string) {
		for _, d := range deps[u] {
			if !seen[d] {
				seen[d] = true
				walk(d)
			}
		}
	}
	walk(urn)
	return seen
}

// dependencies maps each resource to what it waits for: its declared and input dependencies,
// its explicit provider, and, for a dependency on a local component, that component's children.
func (g *Graph) dependencies() map[string][]string {
	children := map[string][]string{}
	for _, r := range g.Resources {
		if r.Parent != "" {
			children[r.Parent] = append(children[r.Parent], r.URN)
		}
	}
	out := map[string][]string{}
	for _, r := range g.Resources {
		var ds []string
		for _, d := range r.Dependencies {
			ds = append(ds, d)
			if dep := g.byURN(d); dep != nil && !dep.Custom && !strings.HasPrefix(dep.Type, "eks:") {
				ds = append(ds, children[d]...)
			}
		}
		if p := r.Provider; p != "" {
			if i := strings.LastIndex(p, "::"); i >= 0 {
				ds = append(ds, p[:i])
			}
		}
		sort.Strings(ds)
		out[r.URN] = ds
	}
	return out
}

func (g *Graph) byURN(urn string) *Resource {
	if g.index == nil {
		g.index = map[string]*Resource{}
		for _, r := range g.Resources {
			g.index[r.URN] = r
		}
	}
	if r, ok := g.index[urn]; ok {
		return r
	}
	return &Resource{URN: urn}
}
