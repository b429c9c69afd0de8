package ory_test

import (
	"encoding/base64"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"

	"github.com/ory-identity-layer/identity/infra/ory"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// secret returns a deterministic secret of n characters for golden output.
func secret(prefix string, n int) string {
	return (prefix + strings.Repeat("x", n))[:n]
}

func localDSN(db string) ory.DSN {
	return ory.DSN{
		Engine: ory.EnginePostgres, Host: "127.0.0.1", Port: 15432, Database: db, User: db,
		Password: "p@ss/w%rd " + db, SSLMode: ory.SSLDisable, MaxConns: 10, MaxIdleConns: 2,
	}
}

func cloudDSN(db string) ory.DSN {
	return ory.DSN{
		Engine: ory.EngineCockroach, Host: "crdb.internal.example.com", Database: db, User: db,
		Password: "pw", SSLMode: ory.SSLVerifyFull, SSLRootCert: "/etc/crdb/ca.crt",
		MaxConns: 20, MaxIdleConns: 4,
	}
}

func hydraSettings() ory.HydraSettings {
	return ory.HydraSettings{
		DSN:           cloudDSN("hydra"),
		Issuer:        "https://auth.example.com/",
		SystemSecrets: []string{secret("system-", 32)},
		CookieSecrets: []string{secret("cookie-", 32)},
		Production:    true,
	}
}

func kratosSettings() ory.KratosSettings {
	return ory.KratosSettings{
		DSN:                     cloudDSN("kratos"),
		PublicBaseURL:           "https://id.example.com/",
		DefaultBrowserReturnURL: "https://app.example.com/home",
		DefaultSecrets:          []string{secret("default-", 32)},
		CookieSecrets:           []string{secret("cookie-", 32)},
		CipherSecrets:           []string{secret("cipher-", 32)},
		Production:              true,
	}
}

func ketoSettings() ory.KetoSettings {
	return ory.KetoSettings{DSN: cloudDSN("keto")}
}

func TestRender_Golden(t *testing.T) {
	tests := []struct {
		name   string
		render func() ([]byte, error)
	}{
		{name: "hydra", render: func() ([]byte, error) { return ory.RenderHydra(hydraSettings()) }},
		{
			name: "hydra-local",
			render: func() ([]byte, error) {
				s := hydraSettings()
				s.DSN, s.Production, s.Dev = localDSN("hydra"), false, true
				s.ListenHost, s.PublicPort, s.AdminPort = "127.0.0.1", 20001, 20002
				s.Issuer, s.LogFormat = "http://127.0.0.1:20001/", "text"
				return ory.RenderHydra(s)
			},
		},
		{name: "kratos", render: func() ([]byte, error) { return ory.RenderKratos(kratosSettings()) }},
		{
			name: "kratos-courier",
			render: func() ([]byte, error) {
				s := kratosSettings()
				s.CourierSMTPURI = "smtps://mailer:pw@mail.example.com:465/"
				s.CourierFromAddress = "no-reply@example.com"
				s.HaveIBeenPwned = true
				return ory.RenderKratos(s)
			},
		},
		{
			name: "kratos-argon2",
			render: func() ([]byte, error) {
				s := kratosSettings()
				s.Hasher = ory.KratosHasher{Algorithm: ory.HasherArgon2}
				return ory.RenderKratos(s)
			},
		},
		{name: "keto", render: func() ([]byte, error) { return ory.RenderKeto(ketoSettings()) }},
		{
			name: "keto-custom-namespaces",
			render: func() ([]byte, error) {
				s := ketoSettings()
				s.Namespaces = []ory.KetoNamespace{{ID: 7, Name: "files"}, {ID: 9, Name: "groups"}}
				s.ReadPort, s.WritePort, s.MetricsPort, s.OPLPort = 1, 2, 3, 4
				return ory.RenderKeto(s)
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.render()
			require.NoError(t, err)

			path := filepath.Join("testdata", tt.name+".yaml")
			if *update {
				require.NoError(t, os.WriteFile(path, got, 0o644))
			}
			want, err := os.ReadFile(path)
			require.NoError(t, err, "run go test ./infra/ory -update to create it")
			assert.Equal(t, string(want), string(got))
		})
	}
}

func TestKratosConfig_EmbedsIdentitySchema(t *testing.T) {
	cfg, err := ory.KratosConfig(kratosSettings())
	require.NoError(t, err)

	schemas := cfg["identity"].(map[string]any)["schemas"].([]any)
	require.Len(t, schemas, 1)
	raw := schemas[0].(map[string]any)["url"].(string)
	require.True(t, strings.HasPrefix(raw, "base64://"), "schema url %q", raw)

	decoded, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(raw, "base64://"))
	require.NoError(t, err)
	assert.Equal(t, string(ory.IdentitySchema()), string(decoded))

	var schema struct {
		Properties struct {
			Traits struct {
				Properties map[string]struct {
					Properties map[string]any `json:"properties"`
					Extension  map[string]any `json:"ory.sh/kratos"`
				} `json:"properties"`
				Required []string `json:"required"`
			} `json:"traits"`
		} `json:"properties"`
	}
	require.NoError(t, json.Unmarshal(decoded, &schema))
	traits := schema.Properties.Traits
	assert.Equal(t, []string{"email"}, traits.Required)
	assert.Contains(t, traits.Properties["email"].Extension, "credentials")
	assert.Contains(t, traits.Properties["name"].Properties, "first")
	assert.Contains(t, traits.Properties["name"].Properties, "last")
}

func TestConfig_RoundTripsThroughYAML(t *testing.T) {
	cfg, err := ory.KetoConfig(ketoSettings())
	require.NoError(t, err)
	out, err := ory.Marshal(cfg)
	require.NoError(t, err)

	var back map[string]any
	require.NoError(t, yaml.Unmarshal(out, &back))
	assert.Equal(t, cfg, back)
}
