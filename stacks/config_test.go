package stacks

import (
	"encoding/json"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"
)

// mapSource is a Source backed by a map of fully qualified keys.
type mapSource struct {
	values  map[string]string
	secrets map[string]bool
}

func (m mapSource) GetConfig(key string) (string, bool) {
	v, ok := m.values[key]
	return v, ok
}

func (m mapSource) IsConfigSecret(key string) bool { return m.secrets[key] }

func withURLs(m map[string]string) map[string]string {
	m["identity:hydraIssuerUrl"] = "https://auth.example.com/"
	m["identity:kratosPublicUrl"] = "https://login.example.com/"
	m["identity:kratosBrowserReturnUrl"] = "https://app.example.com/"
	return m
}

func validDev() map[string]string {
	return withURLs(map[string]string{"aws:region": "us-east-1"})
}

func validExternal() map[string]string {
	m := validDev()
	m["identity:databaseMode"] = "external"
	m["identity:externalDbHost"] = "my-cluster-1234.abc.aws-us-east-1.cockroachlabs.cloud"
	m["identity:externalDbUser"] = "ory_admin"
	m["identity:externalDbPassword"] = "s3cret-password"
	return m
}

// sourceOf marks the external password as stored encrypted, as `pulumi config set --secret`
// would.
func sourceOf(values map[string]string) mapSource {
	return mapSource{values: values, secrets: map[string]bool{"identity:externalDbPassword": true}}
}

func validProd() map[string]string {
	return withURLs(map[string]string{
		"aws:region":                     "us-east-1",
		"identity:environment":           "prod",
		"identity:natGateways":           "perAz",
		"identity:cockroachInstanceType": "m6i.2xlarge",
		"identity:eksNodeMinSize":        "3",
		"identity:eksPublicAccessCidrs":  `["192.0.2.0/24"]`,
		"identity:oryReplicas":           "2",
	})
}

func TestLoadAcceptsValidStacks(t *testing.T) {
	for name, values := range map[string]map[string]string{"dev": validDev(), "prod": validProd()} {
		t.Run(name, func(t *testing.T) {
			cfg, err := Load(mapSource{values: values}, "identity", name)
			require.NoError(t, err)
			assert.Equal(t, 3, cfg.Cockroach.NodeCount)
			assert.Equal(t, name == "prod", cfg.Production())
		})
	}
}

func TestLoadRejectsBadConfig(t *testing.T) {
	cases := []struct {
		name    string
		base    func() map[string]string
		set     map[string]string
		wantKey string
		wantMsg string
	}{
		{
			"two nodes", validDev,
			map[string]string{"identity:cockroachNodeCount": "2"},
			"identity:cockroachNodeCount", "want 3 or more",
		},
		{
			"nodes do not spread", validDev,
			map[string]string{"identity:cockroachNodeCount": "4"},
			"identity:cockroachNodeCount", "multiple of the 3 availability zones",
		},
		{
			"node count not a number", validDev,
			map[string]string{"identity:cockroachNodeCount": "three"},
			"identity:cockroachNodeCount", "want an integer",
		},
		{
			"two zones", validDev,
			map[string]string{"identity:availabilityZones": `["us-east-1a","us-east-1b"]`},
			"identity:availabilityZones", "want at least 3",
		},
		{
			"repeated zone", validDev,
			map[string]string{"identity:availabilityZones": `["us-east-1a","us-east-1a","us-east-1b"]`},
			"identity:availabilityZones", "listed twice",
		},
		{
			"zone of another region", validDev,
			map[string]string{"identity:availabilityZones": `["us-east-1a","us-east-1b","eu-west-1c"]`},
			"identity:availabilityZones", "not in region us-east-1",
		},
		{
			"missing region", func() map[string]string { return map[string]string{} }, nil,
			"aws:region", "want an AWS region",
		},
		{
			"invalid cidr", validDev,
			map[string]string{"identity:cockroachVpcCidr": "10.1.0.0/33"},
			"identity:cockroachVpcCidr", "want an IPv4 CIDR block",
		},
		{
			"host bits set", validDev,
			map[string]string{"identity:cockroachVpcCidr": "10.1.2.0/16"},
			"identity:cockroachVpcCidr", "want the network address 10.1.0.0/16",
		},
		{
			"vpc too small", validDev,
			map[string]string{"identity:eksVpcCidr": "10.2.0.0/26"},
			"identity:eksVpcCidr", "from /16 to /22",
		},
		{
			"overlapping cidrs", validDev,
			map[string]string{"identity:eksVpcCidr": "10.1.128.0/20"},
			"identity:eksVpcCidr", "overlaps cockroachVpcCidr",
		},
		{
			"unpinned version", validDev,
			map[string]string{"identity:cockroachVersion": "latest"},
			"identity:cockroachVersion", "want a pinned release",
		},
		{
			"version without patch", validDev,
			map[string]string{"identity:cockroachVersion": "v25.2"},
			"identity:cockroachVersion", "want a pinned release",
		},
		{
			"pre-release version", validDev,
			map[string]string{"identity:cockroachVersion": "v25.2.0-rc.1"},
			"identity:cockroachVersion", "want a pinned release",
		},
		{
			"malformed checksum", validDev,
			map[string]string{"identity:cockroachSha256": "abc"},
			"identity:cockroachSha256", "64 lowercase hex",
		},
		{
			"world-open allowlist in dev", validDev,
			map[string]string{"identity:cockroachAllowedCidrs": `["0.0.0.0/0"]`},
			"identity:cockroachAllowedCidrs", "whole internet",
		},
		{
			"world-open ipv6 allowlist", validDev,
			map[string]string{"identity:cockroachAllowedCidrs": `["::/0"]`},
			"identity:cockroachAllowedCidrs", "whole internet",
		},
		{
			"world-open allowlist in prod", validProd,
			map[string]string{"identity:cockroachAllowedCidrs": `["0.0.0.0/0"]`},
			"identity:cockroachAllowedCidrs", "whole internet",
		},
		{
			"public range in prod", validProd,
			map[string]string{"identity:cockroachAllowedCidrs": `["203.0.113.0/24"]`},
			"identity:cockroachAllowedCidrs", "public range",
		},
		{
			"bad allowlist entry", validDev,
			map[string]string{"identity:cockroachAllowedCidrs": `["office"]`},
			"identity:cockroachAllowedCidrs", "not a CIDR block",
		},
		{
			"burstable in prod", validProd,
			map[string]string{"identity:cockroachInstanceType": "t3.2xlarge"},
			"identity:cockroachInstanceType", "burstable",
		},
		{
			"too few vCPUs in prod", validProd,
			map[string]string{"identity:cockroachInstanceType": "m6i.large"},
			"identity:cockroachInstanceType", "want 4 or more",
		},
		{
			"too little memory in prod", validProd,
			map[string]string{"identity:cockroachInstanceType": "c6i.2xlarge"},
			"identity:cockroachInstanceType", "GiB per vCPU",
		},
		{
			"malformed instance type", validDev,
			map[string]string{"identity:cockroachInstanceType": "big"},
			"identity:cockroachInstanceType", "family.size",
		},
		{
			"single NAT in prod", validProd,
			map[string]string{"identity:natGateways": "single"},
			"identity:natGateways", "want perAz",
		},
		{
			"unknown NAT layout", validDev,
			map[string]string{"identity:natGateways": "none"},
			"identity:natGateways", "want one of single, perAz",
		},
		{
			"public NLB in prod", validProd,
			map[string]string{"identity:cockroachPublicLoadBalancer": "true"},
			"identity:cockroachPublicLoadBalancer", "want false",
		},
		{
			"unknown environment", validDev,
			map[string]string{"identity:environment": "production"},
			"identity:environment", "want one of dev, staging, prod",
		},
		{
			"tiny data volume", validDev,
			map[string]string{"identity:cockroachDataVolumeGiB": "1"},
			"identity:cockroachDataVolumeGiB", "from 10 to 16384",
		},
		{
			"iops below gp3 baseline", validDev,
			map[string]string{"identity:cockroachDataVolumeIops": "100"},
			"identity:cockroachDataVolumeIops", "from 3000 to 16000",
		},
		{
			"relative ami parameter", validDev,
			map[string]string{"identity:cockroachAmiParameter": "al2023"},
			"identity:cockroachAmiParameter", "starting with /",
		},
		{
			"unknown bootstrap", validDev,
			map[string]string{"identity:databaseBootstrap": "manual"},
			"identity:databaseBootstrap", "want one of job, provider",
		},
		{
			"unknown user layout", validDev,
			map[string]string{"identity:databaseUsers": "root"},
			"identity:databaseUsers", "want one of perService, shared",
		},
		{
			"unpinned chart", validDev,
			map[string]string{"identity:oryChartVersion": "latest"},
			"identity:oryChartVersion", "pinned chart version",
		},
		{
			"unpinned image", validDev,
			map[string]string{"identity:hydraImageTag": "latest"},
			"identity:hydraImageTag", "pinned release tag",
		},
		{
			"missing issuer", validDev,
			map[string]string{"identity:hydraIssuerUrl": ""},
			"identity:hydraIssuerUrl", "is required",
		},
		{
			"http issuer in prod", validProd,
			map[string]string{"identity:hydraIssuerUrl": "http://auth.example.com/"},
			"identity:hydraIssuerUrl", "want https",
		},
		{
			"single replica in prod", validProd,
			map[string]string{"identity:oryReplicas": "1"},
			"identity:oryReplicas", "2 or more in prod",
		},
		{
			"public admin API", validDev,
			map[string]string{"identity:oryPublicServices": `["hydra-admin"]`},
			"identity:oryPublicServices", "want one of hydra-public, kratos-public, keto-read",
		},
		{
			"empty keto namespaces", validDev,
			map[string]string{"identity:ketoNamespaces": `[]`},
			"identity:ketoNamespaces", "at least one namespace",
		},
		{
			"world-open kubernetes API in prod", validProd,
			map[string]string{"identity:eksPublicAccessCidrs": `["0.0.0.0/0"]`},
			"identity:eksPublicAccessCidrs", "opens the Kubernetes API",
		},
		{
			"node group sizes out of order", validDev,
			map[string]string{"identity:eksNodeMinSize": "5"},
			"identity:eksNodeDesiredSize", "min <= desired <= max",
		},
		{
			"empty image tag", validDev,
			map[string]string{"identity:kratosImageTag": ""},
			"identity:kratosImageTag", "pinned release tag",
		},
		{
			"negative pool size", validDev,
			map[string]string{"identity:oryDbMaxConns": "-1"},
			"identity:oryDbMaxConns", "from 1 to 1000",
		},
		{
			"duplicate keto namespace", validDev,
			map[string]string{"identity:ketoNamespaces": `["documents","users","documents"]`},
			"identity:ketoNamespaces", "unique names",
		},
		{
			"vpc of /29", validDev,
			map[string]string{"identity:cockroachVpcCidr": "10.1.0.0/29"},
			"identity:cockroachVpcCidr", "from /16 to /22",
		},
		{
			"list given as a string", validDev,
			map[string]string{"identity:availabilityZones": "us-east-1a"},
			"identity:availabilityZones", "want a list of strings",
		},
		{
			"boolean given as a word", validDev,
			map[string]string{"identity:cockroachPublicLoadBalancer": "yes"},
			"identity:cockroachPublicLoadBalancer", "want true or false",
		},
		{
			"bad pool lifetime", validDev,
			map[string]string{"identity:oryDbMaxConnLifetime": "often"},
			"identity:oryDbMaxConnLifetime", "want a duration",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			values := tc.base()
			for k, v := range tc.set {
				values[k] = v
			}
			_, err := Load(sourceOf(values), "identity", "test")
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.wantKey+": ")
			assert.Contains(t, err.Error(), tc.wantMsg)
			firstLine, _, _ := strings.Cut(err.Error(), "\n")
			assert.Contains(t, firstLine, tc.wantKey, "the first line names the key")
		})
	}
}

func TestLoadAcceptsUnusualButValidValues(t *testing.T) {
	cases := []struct {
		name string
		base func() map[string]string
		set  map[string]string
	}{
		{"bare-metal nodes in prod", validProd, map[string]string{"identity:cockroachInstanceType": "m6i.metal"}},
		{"t3 is Nitro", validDev, map[string]string{"identity:cockroachInstanceType": "t3.xlarge"}},
		{"i3en is Nitro", validDev, map[string]string{"identity:cockroachInstanceType": "i3en.2xlarge"}},
		{"ipv6 literal host", validExternal, map[string]string{"identity:externalDbHost": "2001:db8::10"}},
		{
			"private ipv6 allowlist in prod", validProd,
			map[string]string{"identity:cockroachAllowedCidrs": `["fd00:1::/48"]`},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			values := tc.base()
			for k, v := range tc.set {
				values[k] = v
			}
			_, err := Load(sourceOf(values), "identity", "test")
			assert.NoError(t, err)
		})
	}
}

func TestExternalModeNeedsCredentials(t *testing.T) {
	values := validExternal()
	delete(values, "identity:externalDbPassword")
	_, err := Load(sourceOf(values), "identity", "test")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "identity:externalDbPassword: is required in external mode")

	cfg, err := Load(sourceOf(validExternal()), "identity", "test")
	require.NoError(t, err)
	assert.False(t, cfg.SelfHosted())
	assert.Equal(t, "verify-full", cfg.Database.External.SSLMode)
}

func TestLoadReportsEveryProblemAtOnce(t *testing.T) {
	values := validDev()
	values["identity:cockroachNodeCount"] = "2"
	values["identity:cockroachVersion"] = "latest"
	_, err := Load(mapSource{values: values}, "identity", "test")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "identity:cockroachNodeCount")
	assert.Contains(t, err.Error(), "identity:cockroachVersion")
}

func TestSecretMustBeEncrypted(t *testing.T) {
	r := &reader{src: mapSource{values: map[string]string{"identity:pw": "x"}}, project: "identity"}
	r.secret("pw")
	require.Len(t, r.errs, 1)
	assert.Contains(t, r.errs[0].Error(), "pulumi config set --secret pw")

	r = &reader{src: mapSource{
		values:  map[string]string{"identity:pw": "x"},
		secrets: map[string]bool{"identity:pw": true},
	}, project: "identity"}
	s := r.secret("pw")
	assert.Empty(t, r.errs)
	assert.Equal(t, "<secret>", s.String(), "String must never print the value")
}

// projectFile is the part of Pulumi.yaml this package keeps in step with.
type projectFile struct {
	Name   string `json:"name"`
	Config map[string]struct {
		Type        string `json:"type"`
		Description string `json:"description"`
		Default     any    `json:"default"`
	} `json:"config"`
}

func readProjectFile(t *testing.T) projectFile {
	t.Helper()
	raw, err := os.ReadFile("../Pulumi.yaml")
	require.NoError(t, err)
	var p projectFile
	require.NoError(t, yaml.Unmarshal(raw, &p))
	return p
}

// TestProjectFileDeclaresEveryKey keeps Pulumi.yaml and Load in step: every key Load reads is
// declared with a type and a description, and nothing else is declared.
func TestProjectFileDeclaresEveryKey(t *testing.T) {
	p := readProjectFile(t)
	_, asked, err := load(mapSource{values: validDev()}, p.Name, "test")
	require.NoError(t, err)

	var declared []string
	for k, decl := range p.Config {
		declared = append(declared, k)
		assert.NotEmpty(t, decl.Type, "key %s has no type", k)
		assert.NotEmpty(t, decl.Description, "key %s has no description", k)
	}
	sort.Strings(declared)
	sort.Strings(asked)
	assert.Equal(t, declared, asked)
}

// TestProjectFileDefaultsMatchCode loads the config once with no values and once with the
// defaults from Pulumi.yaml, which is what the Pulumi CLI passes; both must agree.
func TestProjectFileDefaultsMatchCode(t *testing.T) {
	p := readProjectFile(t)
	withDefaults := validDev()
	for k, decl := range p.Config {
		if decl.Default == nil {
			continue
		}
		full := k
		if !strings.Contains(k, ":") {
			full = p.Name + ":" + k
		}
		switch v := decl.Default.(type) {
		case string:
			withDefaults[full] = v
		default:
			raw, err := json.Marshal(v)
			require.NoError(t, err)
			withDefaults[full] = string(raw)
		}
	}
	fromCode, err := Load(mapSource{values: validDev()}, p.Name, "test")
	require.NoError(t, err)
	fromFile, err := Load(mapSource{values: withDefaults}, p.Name, "test")
	require.NoError(t, err)
	assert.Equal(t, fromCode, fromFile)
}

func TestSecretsFromConfigAreChecked(t *testing.T) {
	cases := []struct {
		name, key, value, want string
	}{
		{"short cipher", "kratosCipherSecret", strings.Repeat("c", 31), "want exactly 32"},
		{"long cipher", "kratosCipherSecret", strings.Repeat("c", 33), "want exactly 32"},
		{"short system secret", "hydraSystemSecret", "short", "want at least 32"},
		{"multibyte cipher", "kratosCipherSecret", strings.Repeat("é", 16), "printable ASCII"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			values := validDev()
			full := "identity:" + tc.key
			values[full] = tc.value
			_, err := Load(mapSource{values: values, secrets: map[string]bool{full: true}},
				"identity", "test")
			require.Error(t, err)
			assert.Contains(t, err.Error(), full+": ")
			assert.Contains(t, err.Error(), tc.want)
			assert.NotContains(t, err.Error(), tc.value, "the error must not print the secret")
		})
	}
}

func TestSummaryNamesTheShapeAndNoSecret(t *testing.T) {
	values := validExternal()
	cfg, err := Load(sourceOf(values), "identity", "test")
	require.NoError(t, err)
	s := cfg.Summary()
	assert.Contains(t, s, "external CockroachDB at my-cluster-1234")
	assert.Contains(t, s, "bootstrap job")
	assert.NotContains(t, s, values["identity:externalDbPassword"])
}
