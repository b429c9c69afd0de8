package tests

import (
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ory-identity-layer/identity/infra"
	"github.com/ory-identity-layer/identity/internal/offline"
)

const (
	instanceType   = "aws:ec2/instance:Instance"
	volumeType     = "aws:ebs/volume:Volume"
	attachmentType = "aws:ec2/volumeAttachment:VolumeAttachment"
	ingressType    = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
	targetGroup    = "aws:lb/targetGroup:TargetGroup"
	nlbType        = "aws:lb/loadBalancer:LoadBalancer"
)

// stacksInRepo are the stack files every graph test evaluates.
var stacksInRepo = []string{"dev", "prod"}

// fillIns stand in for what a user writes into an example stack file before the first deploy.
var fillIns = map[string]map[string]string{
	"cloud": {
		"identity:externalDbHost":     "my-cluster-1234.abc.aws-us-east-1.cockroachlabs.cloud",
		"identity:externalDbUser":     "ory_admin",
		"identity:externalDbPassword": "mock-external-password",
	},
}

// secretFillIns are the keys a user sets with `pulumi config set --secret`; tests that set them
// mark them secret the same way.
var secretFillIns = []string{
	"identity:externalDbPassword", "identity:kratosSmtpUri", "identity:hydraSystemSecret",
	"identity:hydraCookieSecret", "identity:kratosDefaultSecret", "identity:kratosCookieSecret",
	"identity:kratosCipherSecret",
}

func run(t *testing.T, stack string, overrides map[string]string) *offline.Graph {
	t.Helper()
	values, secrets, err := offline.StackConfig("..", stack)
	require.NoError(t, err)
	for k, v := range fillIns[stack] {
		values[k] = v
	}
	for k, v := range overrides {
		values[k] = v
	}
	g, err := offline.RunConfig(stack, values, append(secrets, secretFillIns...))
	require.NoError(t, err)
	return g
}

func str(r *offline.Resource, key string) string {
	v, ok := r.Inputs[resource.PropertyKey(key)]
	if !ok {
		return ""
	}
	if v.IsSecret() {
		v = v.SecretValue().Element
	}
	if !v.IsString() {
		return ""
	}
	return v.StringValue()
}

func object(r *offline.Resource, key string) resource.PropertyMap {
	v := r.Inputs[resource.PropertyKey(key)]
	if v.IsObject() {
		return v.ObjectValue()
	}
	return nil
}

func TestNodesSpreadOverThreeZones(t *testing.T) {
	for _, stack := range stacksInRepo {
		t.Run(stack, func(t *testing.T) {
			g := run(t, stack, nil)
			instances := g.OfType(instanceType)
			require.Len(t, instances, 3)
			zones := map[string]bool{}
			for _, inst := range instances {
				zones[zoneOf(t, inst)] = true
			}
			assert.Len(t, zones, 3, "each node must sit in its own zone")
		})
	}
}

// zoneOf reads the zone from the node's --locality flag, the one place the node itself learns it.
func zoneOf(t *testing.T, inst *offline.Resource) string {
	t.Helper()
	userData := str(inst, "userData")
	_, rest, ok := strings.Cut(userData, ",zone=")
	require.True(t, ok, "no zone in --locality of %s", inst.Name)
	return strings.Fields(rest)[0]
}

func TestStartFlagsInCloudInit(t *testing.T) {
	g := run(t, "dev", nil)
	instances := g.OfType(instanceType)
	require.Len(t, instances, 3)
	ips := []string{"10.1.0.10", "10.1.16.10", "10.1.32.10"}
	zones := []string{"us-east-1a", "us-east-1b", "us-east-1c"}
	join := "--join=10.1.0.10:26257,10.1.16.10:26257,10.1.32.10:26257"
	for i, inst := range instances {
		userData := str(inst, "userData")
		require.True(t, strings.HasPrefix(userData, "#cloud-config\n"), inst.Name)
		for _, flag := range []string{
			"--certs-dir=/etc/cockroach/certs",
			"--locality=region=us-east-1,zone=" + zones[i],
			"--advertise-addr=" + ips[i] + ":26257",
			join,
			"--cache=.25",
			"--max-sql-memory=.25",
		} {
			assert.Contains(t, userData, flag, "node %d", i)
		}
		assert.NotContains(t, userData, "--insecure")
		assert.NotContains(t, userData, "PRIVATE KEY", "keys must never travel in user data")
	}
}

func TestSystemdUnitRunsUnprivileged(t *testing.T) {
	g := run(t, "dev", nil)
	for i, inst := range g.OfType(instanceType) {
		userData := str(inst, "userData")
		assert.Contains(t, userData, "path: /etc/systemd/system/cockroach.service")
		assert.Contains(t, userData, "User=cockroach")
		assert.Contains(t, userData, "Restart=always")
		assert.Contains(t, userData, "ExecStartPre=+/usr/local/sbin/cockroach-fetch-certs")
		assert.Contains(t, userData, "server 169.254.169.123 prefer", "chrony uses Amazon Time Sync")
		assert.Contains(t, userData, "sha256sum --check", "the release is verified")
		hasInit := strings.Contains(userData, "cockroach-init.service")
		assert.Equal(t, i == 0, hasInit, "only node 0 initialises the cluster")
	}
}

func TestHealthCheckIsReadinessOn8080(t *testing.T) {
	g := run(t, "dev", nil)
	groups := g.OfType(targetGroup)
	require.Len(t, groups, 2)
	for _, tg := range groups {
		hc := object(tg, "healthCheck")
		require.NotNil(t, hc, tg.Name)
		assert.Equal(t, "HTTP", hc["protocol"].StringValue(), tg.Name)
		assert.Equal(t, "8080", hc["port"].StringValue(), tg.Name)
		assert.Equal(t, "/health?ready=1", hc["path"].StringValue(), tg.Name)
	}
	nlb := g.OfType(nlbType)
	require.Len(t, nlb, 1)
	assert.True(t, nlb[0].Inputs["internal"].BoolValue(), "the NLB is internal by default")
	assert.True(t, nlb[0].Inputs["enableCrossZoneLoadBalancing"].BoolValue())
}

func TestDataVolumeIsSeparateEncryptedAndKept(t *testing.T) {
	for _, stack := range stacksInRepo {
		t.Run(stack, func(t *testing.T) {
			g := run(t, stack, nil)
			volumes := g.OfType(volumeType)
			require.Len(t, volumes, 3)
			for _, v := range volumes {
				assert.True(t, v.Inputs["encrypted"].BoolValue(), v.Name)
				assert.Equal(t, "gp3", str(v, "type"), v.Name)
				assert.True(t, v.RetainOnDelete, "%s must survive destroy", v.Name)
			}
			attachments := g.OfType(attachmentType)
			require.Len(t, attachments, 3)
			for _, inst := range g.OfType(instanceType) {
				root := object(inst, "rootBlockDevice")
				require.NotNil(t, root)
				assert.True(t, root["encrypted"].BoolValue(), inst.Name)
				assert.Equal(t, "gp3", root["volumeType"].StringValue())
				_, inline := inst.Inputs["ebsBlockDevices"]
				assert.False(t, inline,
					"the store must not be a block device that dies with the instance")
				assert.True(t, inst.DeleteFirst,
					"a replacement must free the interface and volume first")
				assert.Subset(t, inst.IgnoreChanges, []string{"ami", "userData", "instanceType"},
					"changes that would stop every node at once wait for a rolling replacement")
			}
		})
	}
}

func TestInstancesRequireIMDSv2(t *testing.T) {
	for _, stack := range stacksInRepo {
		g := run(t, stack, nil)
		for _, inst := range g.OfType(instanceType) {
			md := object(inst, "metadataOptions")
			require.NotNil(t, md, inst.Name)
			assert.Equal(t, "required", md["httpTokens"].StringValue(), inst.Name)
		}
	}
}

func TestNoWorldOpenIngress(t *testing.T) {
	for _, stack := range stacksInRepo {
		g := run(t, stack, map[string]string{
			"identity:cockroachAllowedCidrs": `["10.9.0.0/16"]`,
		})
		rules := g.OfType(ingressType)
		require.NotEmpty(t, rules)
		for _, rule := range rules {
			for _, key := range []string{"cidrIpv4", "cidrIpv6"} {
				cidr := str(rule, key)
				assert.NotContains(t, []string{"0.0.0.0/0", "::/0"}, cidr, rule.Name)
			}
			assert.NotEqual(t, 22.0, rule.Inputs["fromPort"].NumberValue(), "no SSH: %s", rule.Name)
		}
	}
}

func TestSecretOutputsAreSecret(t *testing.T) {
	g := run(t, "dev", nil)
	secret := []string{infra.OutCockroachConnection, infra.OutCockroachRootKey}
	plain := []string{
		infra.OutCockroachLoadBalancer, infra.OutCockroachConsole,
		infra.OutCockroachNodeIPs, infra.OutCockroachCACert,
	}
	for _, name := range secret {
		v, ok := g.Outputs[resource.PropertyKey(name)]
		require.True(t, ok, "output %s is missing", name)
		assert.True(t, v.IsSecret(), "output %s must be secret", name)
	}
	for _, name := range plain {
		v, ok := g.Outputs[resource.PropertyKey(name)]
		require.True(t, ok, "output %s is missing", name)
		assert.False(t, v.IsSecret(), "output %s is not sensitive", name)
	}
	for _, p := range g.OfType("aws:ssm/parameter:Parameter") {
		if strings.HasSuffix(str(p, "name"), ".key") {
			assert.Equal(t, "SecureString", str(p, "type"), p.Name)
			assert.True(t, p.Inputs["value"].IsSecret(), p.Name)
		}
	}
}

func TestConfigErrorStopsBeforeAnyResource(t *testing.T) {
	cases := map[string]map[string]string{
		"two nodes":         {"identity:cockroachNodeCount": "2"},
		"missing issuer":    {"identity:hydraIssuerUrl": ""},
		"short cipher":      {"identity:kratosCipherSecret": "x"},
		"world-open allow":  {"identity:cockroachAllowedCidrs": `["0.0.0.0/0"]`},
		"unknown bootstrap": {"identity:databaseBootstrap": "manual"},
	}
	for name, overrides := range cases {
		t.Run(name, func(t *testing.T) {
			g, err := offline.Run("..", "dev", overrides)
			require.Error(t, err)
			var key string
			for k := range overrides {
				key = k
			}
			// The SDK prefixes its own error count; the program's message starts with the key.
			assert.Contains(t, err.Error(), "invalid stack configuration: "+key)
			assert.Empty(t, g.Resources, "nothing may be registered before validation passes")
		})
	}
}
