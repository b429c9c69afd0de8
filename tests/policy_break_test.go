package tests

import (
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ory-identity-layer/identity/internal/offline"
)

// set returns a copy of r whose input at path is v; maps along the path are copied, so the
// original graph is left as it was.
func set(r *offline.Resource, v resource.PropertyValue, path ...string) *offline.Resource {
	c := *r
	c.Inputs = setIn(r.Inputs, v, path)
	return &c
}

func setIn(m resource.PropertyMap, v resource.PropertyValue, path []string) resource.PropertyMap {
	out := m.Copy()
	key := resource.PropertyKey(path[0])
	if len(path) == 1 {
		out[key] = v
		return out
	}
	inner := out[key]
	secret := inner.IsSecret()
	if secret {
		inner = inner.SecretValue().Element
	}
	child := resource.PropertyMap{}
	if inner.IsObject() {
		child = inner.ObjectValue()
	}
	next := resource.NewObjectProperty(setIn(child, v, path[1:]))
	if secret {
		next = resource.MakeSecret(next)
	}
	out[key] = next
	return out
}

// replace swaps one resource of the graph for a broken copy.
func replace(g *offline.Graph, broken *offline.Resource) *offline.Graph {
	c := &offline.Graph{Outputs: g.Outputs}
	for _, r := range g.Resources {
		if r.URN == broken.URN && r.Type == broken.Type {
			c.Resources = append(c.Resources, broken)
			continue
		}
		c.Resources = append(c.Resources, r)
	}
	return c
}

func first(t *testing.T, g *offline.Graph, token string, match func(*offline.Resource) bool) *offline.Resource {
	t.Helper()
	for _, r := range g.OfType(token) {
		if match == nil || match(r) {
			return r
		}
	}
	require.FailNow(t, "no resource to break", token)
	return nil
}

var (
	strProp = resource.NewStringProperty
	num     = resource.NewNumberProperty
	yes     = resource.NewBoolProperty(true)
	no      = resource.NewBoolProperty(false)
)

// TestEachPolicyCatchesItsBreakage feeds every rule a deliberately broken graph and requires a
// violation that names the rule, the resource and the property, so that no rule passes
// vacuously.
func TestEachPolicyCatchesItsBreakage(t *testing.T) {
	dev := run(t, "dev", nil)
	prod := run(t, "prod", nil)
	isNodes := func(r *offline.Resource) bool { return strings.Contains(r.Name, "nodes") }
	cases := []struct {
		rule     string
		prod     bool
		breakIt  func(g *offline.Graph) *offline.Graph
		property string
	}{
		{"no-world-ingress", false, func(g *offline.Graph) *offline.Graph {
			r := first(t, g, ingressRuleTy, func(r *offline.Resource) bool { return str(r, "cidrIpv4") != "" })
			r = set(set(r, strProp("0.0.0.0/0"), "cidrIpv4"), num(26257), "fromPort")
			return replace(g, set(r, num(26257), "toPort"))
		}, "cidrIpv4"},
		{"no-world-ingress", false, func(g *offline.Graph) *offline.Graph {
			r := first(t, g, ingressRuleTy, func(r *offline.Resource) bool { return str(r, "cidrIpv4") != "" })
			r = set(set(r, strProp("128.0.0.0/1"), "cidrIpv4"), num(8080), "fromPort")
			return replace(g, set(r, num(8080), "toPort"))
		}, "cidrIpv4"},
		{"no-world-ingress", false, func(g *offline.Graph) *offline.Graph {
			r := first(t, g, "aws:ec2/securityGroup:SecurityGroup", isNodes)
			rule := resource.NewObjectProperty(resource.PropertyMap{
				"fromPort": num(0), "toPort": num(65535),
				"cidrBlocks": resource.NewArrayProperty([]resource.PropertyValue{strProp("0.0.0.0/0")}),
			})
			return replace(g, set(r, resource.NewArrayProperty([]resource.PropertyValue{rule}), "ingress"))
		}, "ingress[0].cidrBlocks"},
		{"imdsv2-required", false, func(g *offline.Graph) *offline.Graph {
			return replace(g, set(first(t, g, instanceType, nil), strProp("optional"), "metadataOptions", "httpTokens"))
		}, "metadataOptions.httpTokens"},
		{"ebs-encrypted", false, func(g *offline.Graph) *offline.Graph {
			return replace(g, set(first(t, g, volumeType, nil), no, "encrypted"))
		}, "encrypted"},
		{"ebs-encrypted", false, func(g *offline.Graph) *offline.Graph {
			return replace(g, set(first(t, g, instanceType, nil), no, "rootBlockDevice", "encrypted"))
		}, "rootBlockDevice.encrypted"},
		{"store-volume-survives-instance", false, func(g *offline.Graph) *offline.Graph {
			v := *first(t, g, volumeType, nil)
			v.RetainOnDelete = false
			return replace(g, &v)
		}, "retainOnDelete"},
		{"store-volume-survives-instance", false, func(g *offline.Graph) *offline.Graph {
			dev := resource.NewObjectProperty(resource.PropertyMap{"deviceName": strProp("/dev/sdf"), "encrypted": yes})
			return replace(g, set(first(t, g, instanceType, nil),
				resource.NewArrayProperty([]resource.PropertyValue{dev}), "ebsBlockDevices"))
		}, "ebsBlockDevices"},
		{"cockroach-secure-mode", false, func(g *offline.Graph) *offline.Graph {
			r := first(t, g, instanceType, nil)
			ud := strings.ReplaceAll(str(r, "userData"), "--certs-dir=/etc/cockroach/certs", "--insecure")
			return replace(g, set(r, strProp(ud), "userData"))
		}, "userData"},
		{"ory-dsn-verify-full", false, func(g *offline.Graph) *offline.Graph {
			r := first(t, g, secretType, func(r *offline.Resource) bool { return r.Name == "ory-hydra" })
			return replace(g, set(r, resource.MakeSecret(strProp("cockroach://hydra:pw@db:26257/hydra?sslmode=disable")),
				"stringData", "dsn"))
		}, "(dsn)"},
		{"cockroach-nlb-internal", false, func(g *offline.Graph) *offline.Graph {
			return replace(g, set(first(t, g, nlbType, nil), no, "internal"))
		}, "internal"},
		{"cockroach-health-check", false, func(g *offline.Graph) *offline.Graph {
			return replace(g, set(first(t, g, targetGroup, nil), strProp("/"), "healthCheck", "path"))
		}, "healthCheck.path"},
		{"pinned-versions", false, func(g *offline.Graph) *offline.Graph {
			return replace(g, set(release(t, g, "kratos"), strProp("latest"), "values", "image", "tag"))
		}, "values.image.tag"},
		{"pinned-versions", false, func(g *offline.Graph) *offline.Graph {
			return replace(g, set(release(t, g, "keto"), strProp(""), "version"))
		}, "version"},
		{"no-dev-mode", false, func(g *offline.Graph) *offline.Graph {
			return replace(g, set(release(t, g, "hydra"), yes, "values", "hydra", "dev"))
		}, "values.hydra.dev"},
		{"ory-secrets-explicit", false, func(g *offline.Graph) *offline.Graph {
			return replace(g, set(release(t, g, "hydra"), yes, "values", "secret", "enabled"))
		}, "values.secret.enabled"},
		{"ory-secrets-explicit", false, func(g *offline.Graph) *offline.Graph {
			r := first(t, g, secretType, func(r *offline.Resource) bool { return r.Name == "ory-kratos" })
			return replace(g, set(r, resource.MakeSecret(strProp(strings.Repeat("c", 31))), "stringData", "secretsCipher"))
		}, "stringData.secretsCipher"},
		{"admin-apis-private", false, func(g *offline.Graph) *offline.Graph {
			return replace(g, set(release(t, g, "hydra"), strProp("LoadBalancer"), "values", "service", "admin", "type"))
		}, "values.service.admin.type"},
		{"admin-apis-private", false, func(g *offline.Graph) *offline.Graph {
			return replace(g, set(release(t, g, "keto"), strProp("NodePort"), "values", "service", "write", "type"))
		}, "values.service.write.type"},
		{"sensitive-values-secret", false, func(g *offline.Graph) *offline.Graph {
			r := first(t, g, secretType, func(r *offline.Resource) bool { return r.Name == "ory-keto" })
			plainData := resource.NewObjectProperty(resource.PropertyMap{
				"dsn": strProp("cockroach://keto:hunter2@db:26257/keto?sslmode=verify-full"),
			})
			return replace(g, set(r, plainData, "stringData"))
		}, "stringData.dsn"},
		{"sensitive-values-secret", false, func(g *offline.Graph) *offline.Graph {
			c := &offline.Graph{Resources: g.Resources, Outputs: g.Outputs.Copy()}
			c.Outputs["kubeconfig"] = strProp(`{"apiVersion":"v1"}`)
			return c
		}, "kubeconfig"},
		{"no-drop", false, func(g *offline.Graph) *offline.Graph {
			r := first(t, g, secretType, func(r *offline.Resource) bool { return r.Name == "ory-db-sql" })
			return replace(g, set(r, resource.MakeSecret(strProp("DROP DATABASE hydra;")), "stringData", "bootstrap.sql"))
		}, "(sql)"},
		{"standard-tags-and-labels", false, func(g *offline.Graph) *offline.Graph {
			r := first(t, g, volumeType, nil)
			tags := r.Inputs["tags"].ObjectValue().Copy()
			delete(tags, "Owner")
			return replace(g, set(r, resource.NewObjectProperty(tags), "tags"))
		}, "tags.Owner"},
		{"standard-tags-and-labels", false, func(g *offline.Graph) *offline.Graph {
			r := first(t, g, jobType, nil)
			return replace(g, set(r, resource.NewObjectProperty(resource.PropertyMap{}), "metadata", "labels"))
		}, "metadata.labels"},
		{"ory-ha-in-prod", true, func(g *offline.Graph) *offline.Graph {
			return replace(g, set(release(t, g, "kratos"), num(1), "values", "replicaCount"))
		}, "values.replicaCount"},
		{"ory-ha-in-prod", true, func(g *offline.Graph) *offline.Graph {
			return replace(g, set(release(t, g, "keto"), no, "values", "pdb", "enabled"))
		}, "values.pdb.enabled"},
		{"ory-ha-in-prod", true, func(g *offline.Graph) *offline.Graph {
			return replace(g, set(release(t, g, "hydra"), resource.NewArrayProperty(nil),
				"values", "deployment", "topologySpreadConstraints"))
		}, "values.deployment.topologySpreadConstraints"},
		{"ory-dsn-verify-full", false, func(g *offline.Graph) *offline.Graph {
			r := first(t, g, secretType, func(r *offline.Resource) bool { return r.Name == "ory-db-conn" })
			url := "postgresql://root@crdb.example.com:26257/defaultdb?sslmode=require"
			return replace(g, set(r, resource.MakeSecret(strProp(url)), "stringData", "url"))
		}, "(dsn)"},
		{"admin-apis-private", false, func(g *offline.Graph) *offline.Graph {
			return replace(g, set(release(t, g, "kratos"), yes, "values", "ingress", "admin", "enabled"))
		}, "values.ingress.admin.enabled"},
		{"no-dev-mode", false, func(g *offline.Graph) *offline.Graph {
			args := resource.NewArrayProperty([]resource.PropertyValue{strProp("--dev")})
			return replace(g, set(release(t, g, "kratos"), args, "values", "deployment", "extraArgs"))
		}, "values.deployment.extraArgs"},
		{"sensitive-values-secret", false, func(g *offline.Graph) *offline.Graph {
			secret := first(t, g, secretType, func(r *offline.Resource) bool { return r.Name == "ory-hydra" })
			system := text(at(resource.NewObjectProperty(secret.Inputs), "stringData", "secretsSystem"))
			require.NotEmpty(t, system)
			return replace(g, set(release(t, g, "hydra"), strProp(system),
				"values", "hydra", "config", "secrets", "system"))
		}, "values.hydra.config.secrets.system"},
		{"no-admin-iam", false, func(g *offline.Graph) *offline.Graph {
			r := first(t, g, roleTy, nil)
			admin := `{"Version":"2012-10-17",` +
				`"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`
			return replace(g, set(r, strProp(admin), "policy"))
		}, "policy.Statement[0]"},
	}
	for _, tc := range cases {
		t.Run(tc.rule+"/"+tc.property, func(t *testing.T) {
			base, stack := dev, "dev"
			if tc.prod {
				base, stack = prod, "prod"
			}
			var rule []policy
			for _, p := range policies {
				if p.name == tc.rule {
					rule = append(rule, p)
				}
			}
			require.Len(t, rule, 1, "unknown rule %s", tc.rule)
			env := envFor(t, stack, base)
			require.Empty(t, evaluate(rule, env), "the unbroken %s graph must pass", stack)

			env.graph = tc.breakIt(base)
			found := evaluate(rule, env)
			require.NotEmpty(t, found, "rule %s missed the breakage", tc.rule)
			assert.Equal(t, tc.rule, found[0].rule)
			assert.NotEmpty(t, found[0].resource)
			assert.Contains(t, found[0].property, tc.property)
		})
	}
}

// TestEveryPolicyHasABreakageCase keeps the list above complete.
func TestEveryPolicyHasABreakageCase(t *testing.T) {
	src := readFile(t, "policy_break_test.go")
	for _, p := range policies {
		assert.Contains(t, src, `{"`+p.name+`"`, "rule %s has no breakage case", p.name)
	}
}
