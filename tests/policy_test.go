package tests

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/mod/semver"

	"github.com/ory-identity-layer/identity/internal/offline"
)

// violation is one broken invariant: the rule, the resource and the offending property.
type violation struct {
	rule, resource, property, detail string
}

func (v violation) String() string {
	return fmt.Sprintf("%s: %s: %s: %s", v.rule, v.resource, v.property, v.detail)
}

// policyEnv is what a rule may consult besides the resource: the whole graph and the stack's
// configuration, for rules that depend on it.
type policyEnv struct {
	graph      *offline.Graph
	production bool
	publicNLB  bool
	// secrets are the strings some resource marks secret; evaluate fills them once per graph.
	secrets map[string]bool
}

// policy is one invariant over the resource graph. Types lists the resource types it inspects;
// outputsType stands for the stack outputs.
type policy struct {
	name  string
	types []string
	check func(env policyEnv, r *offline.Resource) []finding
}

// finding is what a check reports; the runner adds the rule and resource names.
type finding struct{ property, detail string }

const (
	outputsType   = "pulumi:pulumi:Stack"
	anyAWSType    = "aws:*"
	anyK8sType    = "kubernetes:*"
	anyType       = "*"
	ingressRuleTy = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
	roleTy        = "aws:iam/rolePolicy:RolePolicy"
	policyTy      = "aws:iam/policy:Policy"
)

func (p policy) covers(token string) bool {
	for _, t := range p.types {
		switch {
		case t == anyType, t == token:
			return true
		case strings.HasSuffix(t, "*") && strings.HasPrefix(token, strings.TrimSuffix(t, "*")):
			return true
		}
	}
	return false
}

// evaluate runs every policy over every resource it covers, and over the outputs.
func evaluate(policies []policy, env policyEnv) []violation {
	env.secrets = secretValues(env.graph)
	resources := append([]*offline.Resource(nil), env.graph.Resources...)
	resources = append(resources, &offline.Resource{
		Type: outputsType, Name: "outputs",
		Inputs: env.graph.Outputs,
	})
	var out []violation
	for _, p := range policies {
		for _, r := range resources {
			if !p.covers(r.Type) {
				continue
			}
			for _, f := range p.check(env, r) {
				out = append(out, violation{p.name, r.Type + "::" + r.Name, f.property, f.detail})
			}
		}
	}
	return out
}

// worldLike reports whether a block is the internet or a large part of it: 0.0.0.0/0, ::/0,
// and the halves and quarters that add up to them.
func worldLike(cidr string) bool {
	p, err := netip.ParsePrefix(cidr)
	if err != nil {
		return false
	}
	if p.Addr().Is4() {
		return p.Bits() < 8
	}
	return p.Bits() < 16
}

// sensitivePorts may never be open to the world: SSH, the DB Console and SQL.
var sensitivePorts = []float64{22, 8080, 26257}

func prop(r *offline.Resource, path ...string) resource.PropertyValue {
	return at(resource.NewObjectProperty(r.Inputs), path...)
}

func text(v resource.PropertyValue) string {
	if v.IsSecret() {
		v = v.SecretValue().Element
	}
	if v.IsString() {
		return v.StringValue()
	}
	return ""
}

var requiredTags = []string{"Project", "Stack", "Environment", "Owner", "ManagedBy"}

// untaggable AWS types have no tags argument at all.
var untaggable = map[string]bool{
	"aws:ec2/route:Route": true,
	"aws:ec2/routeTableAssociation:RouteTableAssociation": true,
	"aws:ec2/volumeAttachment:VolumeAttachment":           true,
	"aws:lb/targetGroupAttachment:TargetGroupAttachment":  true,
	"aws:iam/rolePolicy:RolePolicy":                       true,
	"aws:iam/rolePolicyAttachment:RolePolicyAttachment":   true,
}

var (
	privateKeyPattern = regexp.MustCompile(`-----BEGIN [A-Z ]*PRIVATE KEY-----`)
	passwordURL       = regexp.MustCompile(`^[a-z]+://[^/:@]+:[^@]+@`)
	sensitiveOutput   = regexp.MustCompile(`(?i)password|privatekey|connection|dsn|kubeconfig|env`)
)

// policies are the invariants every stack must hold. The README's security section lists them
// one for one.
var policies = []policy{
	{
		name:  "no-world-ingress",
		types: []string{ingressRuleTy, "aws:ec2/securityGroup:SecurityGroup"},
		check: func(env policyEnv, r *offline.Resource) []finding {
			var out []finding
			for _, rule := range ingressOf(r) {
				if !worldLike(rule.cidr) {
					continue
				}
				if strings.Contains(r.Name, "nodes") {
					out = append(out, finding{rule.field, "world-open ingress to a node group"})
					continue
				}
				for _, p := range sensitivePorts {
					if rule.from <= p && p <= rule.to {
						out = append(out, finding{rule.field, fmt.Sprintf("port %.0f open to %s", p, rule.cidr)})
					}
				}
			}
			return out
		},
	},
	{
		name:  "imdsv2-required",
		types: []string{instanceType},
		check: func(_ policyEnv, r *offline.Resource) []finding {
			if text(prop(r, "metadataOptions", "httpTokens")) != "required" {
				return []finding{{"metadataOptions.httpTokens", "want required"}}
			}
			return nil
		},
	},
	{
		name:  "ebs-encrypted",
		types: []string{instanceType, volumeType},
		check: func(_ policyEnv, r *offline.Resource) []finding {
			if r.Type == volumeType {
				if !prop(r, "encrypted").IsBool() || !prop(r, "encrypted").BoolValue() {
					return []finding{{"encrypted", "want true"}}
				}
				return nil
			}
			var out []finding
			if v := prop(r, "rootBlockDevice", "encrypted"); !v.IsBool() || !v.BoolValue() {
				out = append(out, finding{"rootBlockDevice.encrypted", "want true"})
			}
			if v := prop(r, "ebsBlockDevices"); v.IsArray() {
				for i, d := range v.ArrayValue() {
					if e := at(d, "encrypted"); !e.IsBool() || !e.BoolValue() {
						out = append(out, finding{fmt.Sprintf("ebsBlockDevices[%d].encrypted", i), "want true"})
					}
				}
			}
			return out
		},
	},
	{
		name:  "store-volume-survives-instance",
		types: []string{instanceType, volumeType},
		check: func(env policyEnv, r *offline.Resource) []finding {
			if r.Type == volumeType {
				if !r.RetainOnDelete {
					return []finding{{"retainOnDelete", "the store volume must outlive the stack"}}
				}
				return nil
			}
			var out []finding
			if v := prop(r, "ebsBlockDevices"); v.IsArray() && len(v.ArrayValue()) > 0 {
				out = append(out, finding{"ebsBlockDevices", "the store must not die with the instance"})
			}
			if !hasAttachedVolume(env.graph, r) {
				out = append(out, finding{"(attachment)", "no separate data volume is attached"})
			}
			return out
		},
	},
	{
		name:  "cockroach-secure-mode",
		types: []string{instanceType},
		check: func(_ policyEnv, r *offline.Resource) []finding {
			ud := text(prop(r, "userData"))
			var out []finding
			if !strings.Contains(ud, "cockroach start --certs-dir=") {
				out = append(out, finding{"userData", "cockroach start lacks --certs-dir"})
			}
			if strings.Contains(ud, "--insecure") {
				out = append(out, finding{"userData", "--insecure"})
			}
			return out
		},
	},
	{
		name:  "ory-dsn-verify-full",
		types: []string{anyType},
		check: func(_ policyEnv, r *offline.Resource) []finding {
			var out []finding
			if r.Type == pgProvider {
				if mode := text(prop(r, "sslmode")); mode != "verify-full" {
					out = append(out, finding{"sslmode", fmt.Sprintf("got %q; want verify-full", mode)})
				}
			}
			for _, s := range offline.Strings(resource.NewObjectProperty(r.Inputs)) {
				if d := unverifiedDatabaseURL(s); d != "" {
					out = append(out, finding{"(dsn)", d})
				}
			}
			return out
		},
	},
	{
		name:  "cockroach-nlb-internal",
		types: []string{nlbType},
		check: func(env policyEnv, r *offline.Resource) []finding {
			if env.publicNLB {
				return nil
			}
			if v := prop(r, "internal"); !v.IsBool() || !v.BoolValue() {
				return []finding{{"internal", "want true unless cockroachPublicLoadBalancer is set"}}
			}
			return nil
		},
	},
	{
		name:  "cockroach-health-check",
		types: []string{targetGroup},
		check: func(_ policyEnv, r *offline.Resource) []finding {
			var out []finding
			want := map[string]string{"protocol": "HTTP", "port": "8080", "path": "/health?ready=1"}
			for k, v := range want {
				if got := text(prop(r, "healthCheck", k)); got != v {
					out = append(out, finding{"healthCheck." + k, fmt.Sprintf("got %q; want %q", got, v)})
				}
			}
			return out
		},
	},
	{
		name:  "pinned-versions",
		types: []string{releaseType, jobType},
		check: func(_ policyEnv, r *offline.Resource) []finding {
			var out []finding
			if r.Type == releaseType {
				if v := text(prop(r, "version")); !semver.IsValid("v" + v) {
					out = append(out, finding{"version", fmt.Sprintf("chart version %q is not pinned", v)})
				}
				if tag := text(prop(r, "values", "image", "tag")); !pinnedTag(tag) {
					out = append(out, finding{"values.image.tag", fmt.Sprintf("image tag %q is not pinned", tag)})
				}
				return out
			}
			for _, c := range prop(r, "spec", "template", "spec", "containers").ArrayValue() {
				image := text(at(c, "image"))
				_, tag, _ := strings.Cut(image, ":")
				if !pinnedTag(tag) {
					out = append(out, finding{"containers.image", fmt.Sprintf("image %q is not pinned", image)})
				}
			}
			return out
		},
	},
	{
		name:  "no-dev-mode",
		types: []string{releaseType},
		check: func(_ policyEnv, r *offline.Resource) []finding {
			var out []finding
			for _, key := range [][]string{{"hydra", "dev"}, {"kratos", "development"}} {
				v := prop(r, append([]string{"values"}, key...)...)
				if v.IsBool() && v.BoolValue() {
					out = append(out, finding{"values." + strings.Join(key, "."), "development mode"})
				}
			}
			for _, arg := range offline.Strings(prop(r, "values", "deployment", "extraArgs")) {
				if arg == "--dev" || arg == "--development" {
					out = append(out, finding{"values.deployment.extraArgs", "development flag " + arg})
				}
			}
			return out
		},
	},
	{
		name:  "ory-secrets-explicit",
		types: []string{releaseType, secretType},
		check: func(_ policyEnv, r *offline.Resource) []finding {
			if r.Type == releaseType {
				if v := prop(r, "values", "secret", "enabled"); !v.IsBool() || v.BoolValue() {
					return []finding{{"values.secret.enabled", "the chart would generate random secrets"}}
				}
				return nil
			}
			return checkOrySecret(r)
		},
	},
	{
		name:  "admin-apis-private",
		types: []string{releaseType},
		check: func(_ policyEnv, r *offline.Resource) []finding {
			var out []finding
			for _, svc := range []string{"admin", "write"} {
				if v := prop(r, "values", "service", svc); v.IsObject() && text(at(v, "type")) != "ClusterIP" {
					out = append(out, finding{"values.service." + svc + ".type", "admin API must be ClusterIP"})
				}
				if v := prop(r, "values", "ingress", svc, "enabled"); v.IsBool() && v.BoolValue() {
					out = append(out, finding{"values.ingress." + svc + ".enabled", "admin API behind an ingress"})
				}
			}
			return out
		},
	},
	{
		name:  "sensitive-values-secret",
		types: []string{anyType},
		check: func(env policyEnv, r *offline.Resource) []finding {
			var out []finding
			leaked := env.secrets
			walk(resource.NewObjectProperty(r.Inputs), "", false, func(path string, v resource.PropertyValue, secret bool) {
				s := v.StringValue()
				if secret {
					return
				}
				if privateKeyPattern.MatchString(s) || passwordURL.MatchString(s) {
					out = append(out, finding{path, "sensitive value is not a Pulumi secret"})
				}
				if r.Type == outputsType && sensitiveOutput.MatchString(path) {
					out = append(out, finding{path, "sensitive output is not a Pulumi secret"})
				}
				if leaked[s] {
					out = append(out, finding{path, "a value secret elsewhere appears in plain text"})
				}
			})
			return out
		},
	},
	{
		name:  "no-drop",
		types: []string{anyType},
		check: func(_ policyEnv, r *offline.Resource) []finding {
			var out []finding
			for _, s := range offline.Strings(resource.NewObjectProperty(r.Inputs)) {
				if regexp.MustCompile(`(?i)\bDROP\s+(DATABASE|TABLE|USER|ROLE|SCHEMA)`).MatchString(s) {
					out = append(out, finding{"(sql)", "DROP statement"})
				}
			}
			return out
		},
	},
	{
		name:  "standard-tags-and-labels",
		types: []string{anyAWSType, "kubernetes:core/v1:*", "kubernetes:batch/v1:*"},
		check: func(_ policyEnv, r *offline.Resource) []finding {
			if !r.Custom || untaggable[r.Type] {
				return nil
			}
			if strings.HasPrefix(r.Type, "kubernetes:") {
				v := prop(r, "metadata", "labels", "app.kubernetes.io/managed-by")
				if text(v) != "pulumi" {
					return []finding{{"metadata.labels", "missing app.kubernetes.io/managed-by"}}
				}
				return nil
			}
			var out []finding
			for _, tag := range requiredTags {
				if text(prop(r, "tags", tag)) == "" {
					out = append(out, finding{"tags." + tag, "missing"})
				}
			}
			return out
		},
	},
	{
		name:  "ory-ha-in-prod",
		types: []string{releaseType},
		check: func(env policyEnv, r *offline.Resource) []finding {
			if !env.production {
				return nil
			}
			var out []finding
			if prop(r, "values", "replicaCount").NumberValue() < 2 {
				out = append(out, finding{"values.replicaCount", "want 2 or more in prod"})
			}
			if v := prop(r, "values", "pdb", "enabled"); !v.IsBool() || !v.BoolValue() {
				out = append(out, finding{"values.pdb.enabled", "want a PodDisruptionBudget in prod"})
			}
			spread := prop(r, "values", "deployment", "topologySpreadConstraints")
			if !spread.IsArray() || len(spread.ArrayValue()) == 0 ||
				text(at(spread.ArrayValue()[0], "topologyKey")) != "topology.kubernetes.io/zone" {
				out = append(out, finding{"values.deployment.topologySpreadConstraints", "want a zone spread"})
			}
			return out
		},
	},
	{
		name:  "no-admin-iam",
		types: []string{roleTy, policyTy},
		check: func(_ policyEnv, r *offline.Resource) []finding {
			var doc struct {
				Statement []struct {
					Effect   string
					Action   any
					Resource any
				}
			}
			if err := json.Unmarshal([]byte(text(prop(r, "policy"))), &doc); err != nil {
				return []finding{{"policy", "not a JSON policy document: " + err.Error()}}
			}
			var out []finding
			for i, st := range doc.Statement {
				if st.Effect == "Allow" && hasStar(st.Action) && hasStar(st.Resource) {
					out = append(out, finding{fmt.Sprintf("policy.Statement[%d]", i), `"*" on "*"`})
				}
			}
			return out
		},
	},
}

// unverifiedDatabaseURL explains why a database URL skips verify-full, or returns "" for any
// other string and for loopback URLs.
func unverifiedDatabaseURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return ""
	}
	switch u.Scheme {
	case "cockroach", "postgres", "postgresql":
	default:
		return ""
	}
	if host := u.Hostname(); host == "localhost" || strings.HasPrefix(host, "127.") {
		return ""
	}
	if mode := u.Query().Get("sslmode"); mode != "verify-full" {
		return fmt.Sprintf("%s URL with sslmode %q; want verify-full", u.Scheme, mode)
	}
	return ""
}

// secretValues are the strings some resource marks secret. Such a value in plain text
// anywhere else has leaked.
func secretValues(g *offline.Graph) map[string]bool {
	out := map[string]bool{}
	for _, r := range g.Resources {
		walk(resource.NewObjectProperty(r.Inputs), "", false,
			func(_ string, v resource.PropertyValue, secret bool) {
				// Certificates are public even where they share a secret with their key.
				s := v.StringValue()
				if secret && len(s) >= 16 && !strings.HasPrefix(s, "-----BEGIN CERTIFICATE") {
					out[s] = true
				}
			})
	}
	return out
}

func pinnedTag(tag string) bool {
	return tag != "" && tag != "latest" && semver.IsValid(tag) && semver.Canonical(tag) == tag
}

func hasStar(v any) bool {
	switch tv := v.(type) {
	case string:
		return tv == "*"
	case []any:
		for _, e := range tv {
			if e == "*" {
				return true
			}
		}
	}
	return false
}

type ingressEntry struct {
	field    string
	cidr     string
	from, to float64
}

// ingressOf lists the CIDR ingress of a standalone rule or of a group's inline rules.
func ingressOf(r *offline.Resource) []ingressEntry {
	if r.Type == ingressRuleTy {
		var out []ingressEntry
		for _, key := range []string{"cidrIpv4", "cidrIpv6"} {
			if c := text(prop(r, key)); c != "" {
				out = append(out, ingressEntry{
					key, c, prop(r, "fromPort").NumberValue(),
					prop(r, "toPort").NumberValue(),
				})
			}
		}
		return out
	}
	var out []ingressEntry
	if v := prop(r, "ingress"); v.IsArray() {
		for i, rule := range v.ArrayValue() {
			for _, key := range []string{"cidrBlocks", "ipv6CidrBlocks"} {
				if blocks := at(rule, key); blocks.IsArray() {
					for _, b := range blocks.ArrayValue() {
						out = append(out, ingressEntry{
							fmt.Sprintf("ingress[%d].%s", i, key), text(b),
							at(rule, "fromPort").NumberValue(), at(rule, "toPort").NumberValue(),
						})
					}
				}
			}
		}
	}
	return out
}

func hasAttachedVolume(g *offline.Graph, inst *offline.Resource) bool {
	for _, a := range g.OfType(attachmentType) {
		if text(prop(a, "instanceId")) == "i-"+shortHashOf(inst.Name) ||
			strings.HasPrefix(a.Name, inst.Name+"-") {
			return true
		}
	}
	return false
}

// shortHashOf mirrors the fake instance IDs of the offline.
func shortHashOf(name string) string { return offline.FakeID(name) }

func checkOrySecret(r *offline.Resource) []finding {
	data := prop(r, "stringData")
	var out []finding
	need := map[string][]string{
		"ory-hydra":  {"secretsSystem", "secretsCookie"},
		"ory-kratos": {"secretsDefault", "secretsCookie", "secretsCipher"},
	}
	for _, key := range need[r.Name] {
		v := text(at(data, key))
		switch {
		case len(v) < 32:
			out = append(out, finding{"stringData." + key, fmt.Sprintf("%d characters; want 32 or more", len(v))})
		case key == "secretsCipher" && len(v) != 32:
			out = append(out, finding{"stringData." + key, fmt.Sprintf("%d characters; want exactly 32", len(v))})
		}
	}
	return out
}

// walk visits every string below v with its dotted path, telling whether a secret encloses it.
func walk(v resource.PropertyValue, path string, secret bool,
	visit func(path string, v resource.PropertyValue, secret bool),
) {
	switch {
	case v.IsSecret():
		walk(v.SecretValue().Element, path, true, visit)
	case v.IsString():
		visit(path, v, secret)
	case v.IsArray():
		for i, e := range v.ArrayValue() {
			walk(e, fmt.Sprintf("%s[%d]", path, i), secret, visit)
		}
	case v.IsObject():
		for _, k := range v.ObjectValue().StableKeys() {
			p := string(k)
			if path != "" {
				p = path + "." + p
			}
			walk(v.ObjectValue()[k], p, secret, visit)
		}
	}
}

func envFor(t *testing.T, stack string, g *offline.Graph) policyEnv {
	t.Helper()
	values, _, err := offline.StackConfig("..", stack)
	require.NoError(t, err)
	return policyEnv{
		graph:      g,
		production: values["identity:environment"] == "prod",
		publicNLB:  values["identity:cockroachPublicLoadBalancer"] == "true",
	}
}

// TestPolicies holds every rule over every stack file in the repository.
func TestPolicies(t *testing.T) {
	stacks, err := offline.StackFiles("..")
	require.NoError(t, err)
	require.Contains(t, stacks, "dev")
	require.Contains(t, stacks, "prod")
	for _, stack := range stacks {
		t.Run(stack, func(t *testing.T) {
			g := run(t, stack, nil)
			for _, v := range evaluate(policies, envFor(t, stack, g)) {
				t.Error(v)
			}
		})
	}
}

// TestPolicyCoverage makes sure no rule passes vacuously: each one inspects at least one
// resource of the dev stack.
func TestPolicyCoverage(t *testing.T) {
	g := run(t, "dev", nil)
	for _, p := range policies {
		covered := false
		for _, r := range append(g.Resources, &offline.Resource{Type: outputsType}) {
			covered = covered || p.covers(r.Type)
		}
		assert.True(t, covered, "rule %s inspects nothing", p.name)
	}
}

func readFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	require.NoError(t, err)
	return string(b)
}
