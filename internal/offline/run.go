// Package offline runs the Pulumi program under mocks and records the resource graph it builds:
// every resource with its type, name, parent, dependencies, options and inputs, and the stack
// outputs. Tests assert over that graph instead of over a live cloud.
package offline

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"sigs.k8s.io/yaml"

	"github.com/ory-identity-layer/identity/infra"
)

// Project is the Pulumi project name from Pulumi.yaml.
const Project = "identity"

// Resource is one registered resource as the engine would see it.
type Resource struct {
	Type         string
	Name         string
	URN          string
	Parent       string
	Dependencies []string
	Custom       bool
	// Provider is the provider reference, "<provider URN>::<provider ID>", when explicit.
	Provider       string
	Inputs         resource.PropertyMap
	RetainOnDelete bool
	DeleteFirst    bool
	IgnoreChanges  []string
}

// Graph is everything a program run registered.
type Graph struct {
	Resources []*Resource
	// Outputs are the stack outputs, as property values so that secrecy is visible.
	Outputs resource.PropertyMap

	index map[string]*Resource
}

// OfType returns the resources of one type token, in registration order.
func (g *Graph) OfType(token string) []*Resource {
	var out []*Resource
	for _, r := range g.Resources {
		if r.Type == token {
			out = append(out, r)
		}
	}
	return out
}

// Named returns the resource of a type with a name, or nil.
func (g *Graph) Named(token, name string) *Resource {
	for _, r := range g.Resources {
		if r.Type == token && r.Name == name {
			return r
		}
	}
	return nil
}

// StackConfig reads Pulumi.<stack>.yaml from dir into the flat key/value form the engine passes
// to a program: scalars as strings, lists and maps as JSON. Secure values are returned with
// their keys in secrets.
func StackConfig(dir, stack string) (values map[string]string, secrets []string, err error) {
	raw, err := os.ReadFile(filepath.Join(dir, "Pulumi."+stack+".yaml"))
	if err != nil {
		return nil, nil, fmt.Errorf("reading stack file: %w", err)
	}
	var file struct {
		Config map[string]any `json:"config"`
	}
	if err := yaml.Unmarshal(raw, &file); err != nil {
		return nil, nil, fmt.Errorf("parsing Pulumi.%s.yaml: %w", stack, err)
	}
	values = map[string]string{}
	for k, v := range file.Config {
		switch tv := v.(type) {
		case string:
			values[k] = tv
		case map[string]any:
			if s, ok := tv["secure"].(string); ok {
				// Mocks cannot decrypt; tests get a stable stand-in of the same length class.
				values[k] = "mock-secret-" + strings.Repeat("x", 40) + "-" + s[:min(4, len(s))]
				secrets = append(secrets, k)
				continue
			}
			b, _ := json.Marshal(tv)
			values[k] = string(b)
		default:
			b, _ := json.Marshal(tv)
			values[k] = string(b)
		}
	}
	return values, secrets, nil
}

// Run evaluates the program for one stack under mocks. overrides replace or add config values.
func Run(dir, stack string, overrides map[string]string) (*Graph, error) {
	values, secrets, err := StackConfig(dir, stack)
	if err != nil {
		return nil, err
	}
	for k, v := range overrides {
		values[k] = v
	}
	return RunConfig(stack, values, secrets)
}

// RunConfig evaluates the program with an explicit configuration. On error it still returns
// the resources registered before the failure.
func RunConfig(stack string, values map[string]string, secrets []string) (*Graph, error) {
	m := &mocks{stack: stack}
	withConfig := func(info *pulumi.RunInfo) {
		info.Config = values
		info.ConfigSecretKeys = secrets
	}
	err := pulumi.RunErr(func(ctx *pulumi.Context) error {
		d, err := infra.Deploy(ctx)
		if err != nil {
			return err
		}
		// The outputs go into a resource of a test-only type so that the mocks see them with
		// their secret markers, exactly as the engine would store them.
		_, err = newCapture(ctx, d.Outputs)
		return err
	}, pulumi.WithMocks(Project, stack, m), withConfig)
	g := &Graph{}
	for _, r := range m.resources {
		if r.Type == captureType {
			g.Outputs = r.Inputs
			continue
		}
		g.Resources = append(g.Resources, r)
	}
	sort.SliceStable(g.Resources, func(i, j int) bool { return g.Resources[i].URN < g.Resources[j].URN })
	// The graph is returned even on error, so that tests can show what was registered first.
	if err != nil {
		return g, fmt.Errorf("evaluating stack %s: %w", stack, err)
	}
	return g, nil
}

const captureType = "test:index:Outputs"

type capture struct{ pulumi.CustomResourceState }

func newCapture(ctx *pulumi.Context, outputs map[string]pulumi.Input) (*capture, error) {
	c := &capture{}
	props := pulumi.Map{}
	for k, v := range outputs {
		props[k] = v
	}
	if err := ctx.RegisterResource(captureType, "outputs", props, c); err != nil {
		return nil, fmt.Errorf("capturing stack outputs: %w", err)
	}
	return c, nil
}

type mocks struct {
	stack     string
	mu        sync.Mutex
	resources []*Resource
}

// Call answers the data sources the program reads.
func (m *mocks) Call(args pulumi.MockCallArgs) (resource.PropertyMap, error) {
	switch args.Token {
	case "aws:ssm/getParameter:getParameter":
		return resource.PropertyMap{
			"name":          args.Args["name"],
			"insecureValue": resource.NewStringProperty("ami-0abcdef1234567890"),
			"value":         resource.MakeSecret(resource.NewStringProperty("ami-0abcdef1234567890")),
			"type":          resource.NewStringProperty("String"),
		}, nil
	}
	return nil, fmt.Errorf("no mock for call %s", args.Token)
}

// NewResource records the resource and answers with its inputs plus the computed outputs the
// program reads, with stable fake values.
func (m *mocks) NewResource(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	r := &Resource{
		Type:     args.TypeToken,
		Name:     args.Name,
		Custom:   args.Custom,
		Provider: args.Provider,
		Inputs:   args.Inputs,
	}
	if rpc := args.RegisterRPC; rpc != nil {
		r.Parent = rpc.GetParent()
		r.Dependencies = dependencies(rpc.GetDependencies(), rpc.GetPropertyDependencies(), args.Inputs)
		r.RetainOnDelete = rpc.GetRetainOnDelete()
		r.DeleteFirst = rpc.GetDeleteBeforeReplace()
		r.IgnoreChanges = rpc.GetIgnoreChanges()
		r.URN = urn(m.stack, rpc.GetParent(), args.TypeToken, args.Name)
	}
	m.mu.Lock()
	m.resources = append(m.resources, r)
	m.mu.Unlock()

	outputs := args.Inputs.Copy()
	id := args.Name + "-id"
	fake := func(key, value string) { outputs[resource.PropertyKey(key)] = resource.NewStringProperty(value) }
	fake("arn", "arn:aws:mock:us-east-1:123456789012:"+args.Name)
	switch args.TypeToken {
	case "aws:lb/loadBalancer:LoadBalancer":
		fake("dnsName", args.Name+"-"+shortHash(args.Name)+".elb.us-east-1.amazonaws.com")
	case "aws:ec2/eip:Eip":
		fake("publicIp", fmt.Sprintf("198.51.100.%d", 10+len(args.Name)%200))
	case "aws:ebs/volume:Volume":
		id = "vol-" + shortHash(args.Name)
	case "aws:ec2/instance:Instance":
		id = "i-" + shortHash(args.Name)
	case "aws:iam/role:Role", "aws:iam/instanceProfile:InstanceProfile":
		fake("name", args.Name)
	case "tls:index/privateKey:PrivateKey":
		fake("privateKeyPem", "-----BEGIN RSA PRIVATE KEY-----\nmock "+args.Name+"\n")
	case "tls:index/selfSignedCert:SelfSignedCert", "tls:index/locallySignedCert:LocallySignedCert":
		fake("certPem", "-----BEGIN CERTIFICATE-----\nmock "+args.Name+"\n")
	case "random:index/randomPassword:RandomPassword":
		length := int(args.Inputs["length"].NumberValue())
		pw := strings.Repeat(shortHash(args.Name), 8)[:length]
		outputs["result"] = resource.MakeSecret(resource.NewStringProperty(pw))
	case "eks:index:Cluster":
		kubeconfig := `{"apiVersion":"v1","kind":"Config","clusters":[{"name":"` + args.Name + `"}]}`
		fake("kubeconfigJson", kubeconfig)
		outputs["kubeconfig"] = resource.NewObjectProperty(resource.PropertyMap{
			"apiVersion": resource.NewStringProperty("v1"),
		})
	case "kubernetes:helm.sh/v3:Release":
		outputs["status"] = resource.NewObjectProperty(resource.PropertyMap{
			"status": resource.NewStringProperty("deployed"),
		})
	case "tls:index/certRequest:CertRequest":
		fake("certRequestPem", "-----BEGIN CERTIFICATE REQUEST-----\nmock "+args.Name+"\n")
	}
	return id, outputs, nil
}

func shortHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])[:17]
}

func urn(stack, parent, token, name string) string {
	qualified := token
	if parent != "" {
		// The URN type chain is parent-type$child-type, as the engine builds it.
		parts := strings.SplitN(parent, "::", 4)
		if len(parts) == 4 {
			qualified = parts[2] + "$" + token
		}
	}
	return "urn:pulumi:" + stack + "::" + Project + "::" + qualified + "::" + name
}

// Strings returns every string inside a property value, secrets included, depth first.
func Strings(v resource.PropertyValue) []string {
	switch {
	case v.IsSecret():
		return Strings(v.SecretValue().Element)
	case v.IsString():
		return []string{v.StringValue()}
	case v.IsArray():
		var out []string
		for _, e := range v.ArrayValue() {
			out = append(out, Strings(e)...)
		}
		return out
	case v.IsObject():
		var out []string
		for _, k := range v.ObjectValue().StableKeys() {
			out = append(out, Strings(v.ObjectValue()[k])...)
		}
		return out
	}
	return nil
}

// FakeID is the ID the mocks give an EC2 instance or EBS volume of that name, after its prefix.
func FakeID(name string) string { return shortHash(name) }

// StackFiles lists the stacks that have a Pulumi.<stack>.yaml in dir.
func StackFiles(dir string) ([]string, error) {
	matches, err := filepath.Glob(filepath.Join(dir, "Pulumi.*.yaml"))
	if err != nil {
		return nil, fmt.Errorf("listing stack files: %w", err)
	}
	var stacks []string
	for _, m := range matches {
		name := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(m), "Pulumi."), ".yaml")
		stacks = append(stacks, name)
	}
	sort.Strings(stacks)
	return stacks, nil
}

// dependencies merges what a resource waits for: declared dependencies, per-property
// dependencies, and resources its inputs refer to (a remote component such as a pulumi-eks node
// group receives its cluster as a reference and waits for it).
func dependencies(declared []string, perProperty map[string]*pulumirpc.RegisterResourceRequest_PropertyDependencies,
	inputs resource.PropertyMap,
) []string {
	seen := map[string]bool{}
	for _, d := range declared {
		seen[d] = true
	}
	for _, deps := range perProperty {
		for _, d := range deps.GetUrns() {
			seen[d] = true
		}
	}
	var refs func(v resource.PropertyValue)
	refs = func(v resource.PropertyValue) {
		switch {
		case v.IsResourceReference():
			seen[string(v.ResourceReferenceValue().URN)] = true
		case v.IsSecret():
			refs(v.SecretValue().Element)
		case v.IsArray():
			for _, e := range v.ArrayValue() {
				refs(e)
			}
		case v.IsObject():
			for _, e := range v.ObjectValue() {
				refs(e)
			}
		}
	}
	refs(resource.NewObjectProperty(inputs))
	out := make([]string, 0, len(seen))
	for d := range seen {
		out = append(out, d)
	}
	sort.Strings(out)
	return out
}
