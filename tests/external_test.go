package tests

import (
	"net/url"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ory-identity-layer/identity/infra"
	"github.com/ory-identity-layer/identity/internal/offline"
)

const externalHost = "my-cluster-1234.abc.aws-us-east-1.cockroachlabs.cloud"

func dsnOf(t *testing.T, g *offline.Graph, chart string) *url.URL {
	t.Helper()
	secret := g.Named(secretType, "ory-"+chart)
	require.NotNil(t, secret, "secret of %s", chart)
	raw, ok := plain(at(resource.NewObjectProperty(secret.Inputs), "stringData", "dsn")).(string)
	require.True(t, ok)
	u, err := url.Parse(raw)
	require.NoError(t, err)
	return u
}

func TestExternalModeBuildsNoDatabase(t *testing.T) {
	g := run(t, "cloud", nil)
	for _, token := range []string{
		instanceType, nlbType, volumeType, peeringType,
		"aws:ssm/parameter:Parameter", "tls:index/privateKey:PrivateKey",
	} {
		assert.Empty(t, g.OfType(token), "external mode must not create %s", token)
	}
	for _, r := range g.OfType("aws:ec2/vpc:Vpc") {
		assert.NotEqual(t, "crdb-vpc", r.Name, "no CockroachDB VPC in external mode")
	}
	require.NotEmpty(t, g.OfType(releaseType), "Ory is still deployed")
}

func TestExternalModeDSNs(t *testing.T) {
	g := run(t, "cloud", nil)
	for _, chart := range []string{"hydra", "kratos", "keto"} {
		u := dsnOf(t, g, chart)
		assert.Equal(t, "cockroach", u.Scheme)
		assert.Equal(t, externalHost, u.Hostname(), chart)
		assert.Equal(t, "verify-full", u.Query().Get("sslmode"), chart)
		assert.Empty(t, u.Query().Get("sslrootcert"), "%s trusts the system roots", chart)
	}
	hydra := resource.NewObjectProperty(release(t, g, "hydra").Inputs)
	assert.True(t, at(hydra, "values", "deployment", "extraVolumes").IsNull(),
		"no CA to mount when the system roots verify the cluster")
	assert.Nil(t, g.Named(secretType, "cockroach-ca"))
}

func TestExternalModeWithCAAndRoutingOptions(t *testing.T) {
	ca := "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUZmFrZQ==\n-----END CERTIFICATE-----\n"
	g := run(t, "cloud", map[string]string{
		"identity:externalDbCaCert":  ca,
		"identity:externalDbOptions": "--cluster=my-cluster-1234",
	})
	u := dsnOf(t, g, "kratos")
	assert.Equal(t, "verify-full", u.Query().Get("sslmode"))
	assert.Equal(t, "/etc/cockroach-ca/ca.crt", u.Query().Get("sslrootcert"))
	assert.Equal(t, "--cluster=my-cluster-1234", u.Query().Get("options"))
	caSecret := g.Named(secretType, "cockroach-ca")
	require.NotNil(t, caSecret)
	assert.Equal(t, ca, plain(at(resource.NewObjectProperty(caSecret.Inputs), "stringData", "ca.crt")))
}

func TestExternalModeBootstrapPaths(t *testing.T) {
	t.Run("job", func(t *testing.T) {
		g := run(t, "cloud", nil)
		conn := g.Named(secretType, "ory-db-conn")
		require.NotNil(t, conn)
		raw := plain(at(resource.NewObjectProperty(conn.Inputs), "stringData", "url")).(string)
		u, err := url.Parse(raw)
		require.NoError(t, err)
		assert.Equal(t, externalHost, u.Hostname())
		assert.Equal(t, "ory_admin", u.User.Username())
		pw, _ := u.User.Password()
		assert.Equal(t, "mock-external-password", pw)
		assert.Equal(t, "verify-full", u.Query().Get("sslmode"))
		assert.True(t, secretAt(resource.NewObjectProperty(conn.Inputs), "stringData", "url"))
		require.Len(t, g.OfType(jobType), 1)
	})
	t.Run("provider", func(t *testing.T) {
		g := run(t, "cloud", map[string]string{"identity:databaseBootstrap": "provider"})
		require.Len(t, g.OfType(pgProvider), 1)
		p := g.OfType(pgProvider)[0]
		assert.Equal(t, externalHost, str(p, "host"))
		assert.Equal(t, "ory_admin", str(p, "username"))
		assert.True(t, p.Inputs["password"].IsSecret())
		assert.Equal(t, "verify-full", str(p, "sslmode"))
		_, hasCert := p.Inputs["clientcert"]
		assert.False(t, hasCert, "password authentication, no client certificate")
		assert.Len(t, g.OfType(pgDatabase), 3)
	})
}

func TestExternalModeOutputs(t *testing.T) {
	cases := []struct {
		network    string
		wantEgress bool
	}{{"internet", true}, {"vpc", false}}
	for _, tc := range cases {
		t.Run(tc.network, func(t *testing.T) {
			g := run(t, "cloud", map[string]string{"identity:externalDbNetwork": tc.network})
			for name := range g.Outputs {
				assert.False(t, strings.HasPrefix(string(name), "cockroach"),
					"output %s does not exist in external mode", name)
			}
			for name, v := range g.Outputs {
				for _, s := range offline.Strings(v) {
					assert.NotEmpty(t, s, "output %s holds an empty placeholder", name)
				}
			}
			egress, ok := g.Outputs[resource.PropertyKey(infra.OutEgressIPs)]
			assert.Equal(t, tc.wantEgress, ok)
			if ok {
				assert.NotEmpty(t, egress.ArrayValue(), "NAT addresses for the allowlist")
			}
			_, hasHydra := g.Outputs[resource.PropertyKey(infra.OutHydraAdmin)]
			assert.True(t, hasHydra)
		})
	}
}

// TestExampleStackFailsUntilFilledIn runs Pulumi.cloud.yaml as committed: it must stop and
// name each placeholder key.
func TestExampleStackFailsUntilFilledIn(t *testing.T) {
	g, err := offline.Run("..", "cloud", nil)
	require.Error(t, err)
	for _, key := range []string{
		"identity:externalDbHost", "identity:externalDbUser",
		"identity:externalDbPassword",
	} {
		assert.Contains(t, err.Error(), key)
	}
	assert.Empty(t, g.Resources)
}
