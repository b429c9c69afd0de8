package tests

import (
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ory-identity-layer/identity/internal/offline"
)

func jobDigest(t *testing.T, g *offline.Graph) string {
	t.Helper()
	job := g.Named(jobType, "ory-db")
	require.NotNil(t, job)
	v := prop(job, "spec", "template", "metadata", "annotations", "identity/statements-sha256")
	require.True(t, v.IsString(), "the Job's pod template carries the statements' digest")
	require.False(t, v.IsSecret(), "a digest is readable in diffs")
	return v.StringValue()
}

func podDigest(t *testing.T, g *offline.Graph, chart string) string {
	t.Helper()
	v := prop(release(t, g, chart), "values", "deployment", "podMetadata", "annotations",
		"checksum/ory-secrets")
	require.True(t, v.IsString(), "%s pods carry the digest of their secrets", chart)
	return v.StringValue()
}

// TestJobReRunsWhenStatementsChange: the statements sit in a Secret the Job only names, so only
// their digest in the Job spec makes a new role or password re-run it.
func TestJobReRunsWhenStatementsChange(t *testing.T) {
	perService := jobDigest(t, run(t, "dev", nil))
	again := jobDigest(t, run(t, "dev", nil))
	shared := jobDigest(t, run(t, "dev", map[string]string{"identity:databaseUsers": "shared"}))
	assert.Len(t, perService, 64)
	assert.Equal(t, perService, again, "same statements, same digest: no needless re-run")
	assert.NotEqual(t, perService, shared)
}

// TestPodsRollWhenSecretsChange: the releases' own checksum covers the chart's Secret, which
// is disabled, so the program's digest is what rolls the pods.
func TestPodsRollWhenSecretsChange(t *testing.T) {
	before := run(t, "dev", nil)
	after := run(t, "dev", map[string]string{"identity:hydraSystemSecret": strings.Repeat("s", 40)})
	assert.NotEqual(t, podDigest(t, before, "hydra"), podDigest(t, after, "hydra"))
	assert.Equal(t, podDigest(t, before, "kratos"), podDigest(t, after, "kratos"),
		"other services keep running")
}

func TestSMTPReachesKratos(t *testing.T) {
	without := run(t, "dev", nil)
	kratos := resource.NewObjectProperty(release(t, without, "kratos").Inputs)
	assert.False(t, at(kratos, "values", "courier", "enabled").BoolValue())
	assert.False(t, at(kratos, "values", "kratos", "config", "selfservice", "flows", "recovery",
		"enabled").BoolValue(), "no recovery without mail")

	uri := "smtps://mailer:hunter2@mail.example.com:465/"
	with := run(t, "dev", map[string]string{"identity:kratosSmtpUri": uri})
	kratos = resource.NewObjectProperty(release(t, with, "kratos").Inputs)
	assert.True(t, at(kratos, "values", "courier", "enabled").BoolValue())
	stand := at(kratos, "values", "kratos", "config", "courier", "smtp", "connection_uri")
	assert.Equal(t, "smtps://smtp-uri-from-secret.invalid:465/", stand.StringValue(),
		"the chart reads the URI from the Secret only when the values name one")
	assert.True(t, at(kratos, "values", "kratos", "config", "selfservice", "flows", "recovery",
		"enabled").BoolValue())
	assert.NotContains(t, release(t, with, "kratos").Inputs["values"].String(), "hunter2")

	secret := with.Named(secretType, "ory-kratos")
	require.NotNil(t, secret)
	assert.Equal(t, uri, plain(at(resource.NewObjectProperty(secret.Inputs), "stringData",
		"smtpConnectionURI")))
}

// TestNodeResourcesShareTheirZone: each node's interface, store volume and --locality name the
// same zone, or the volume could not attach.
func TestNodeResourcesShareTheirZone(t *testing.T) {
	g := run(t, "dev", nil)
	for i, zone := range []string{"us-east-1a", "us-east-1b", "us-east-1c"} {
		name := "crdb-node-" + string(rune('0'+i))
		eni := g.Named("aws:ec2/networkInterface:NetworkInterface", name)
		vol := g.Named(volumeType, name+"-data")
		inst := g.Named(instanceType, name)
		require.NotNil(t, eni)
		require.NotNil(t, vol)
		require.NotNil(t, inst)
		assert.Contains(t, str(eni, "subnetId"), "private-"+zone, "%s interface", name)
		assert.Equal(t, zone, str(vol, "availabilityZone"), "%s volume", name)
		assert.Equal(t, zone, zoneOf(t, inst), "%s locality", name)
	}
}

// TestKubernetesObjectsUseTheClusterProvider: nothing may fall back to the ambient kubeconfig.
func TestKubernetesObjectsUseTheClusterProvider(t *testing.T) {
	g := run(t, "dev", nil)
	providers := g.OfType(k8sProvider)
	require.Len(t, providers, 1)
	var checked int
	for _, r := range g.Resources {
		if !strings.HasPrefix(r.Type, "kubernetes:") || !r.Custom {
			continue
		}
		checked++
		assert.True(t, strings.HasPrefix(r.Provider, providers[0].URN+"::"),
			"%s %s must use the cluster's provider, not the ambient one", r.Type, r.Name)
	}
	assert.Greater(t, checked, 5)
}
