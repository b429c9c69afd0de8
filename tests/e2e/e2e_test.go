// Package e2e_test proves the Ory configuration rendered by infra/ory with the real servers: it
// starts Hydra, Kratos and Keto on a throwaway PostgreSQL cluster through internal/localstack and
// runs the smoke checks against them.
//
// The tests need PostgreSQL 15 and the Ory binaries from scripts/build-ory.sh. When they are
// missing the tests fail with the command that installs them; set IDENTITY_E2E=0 to skip them on
// purpose.
package e2e_test

import (
	"bytes"
	"context"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ory-identity-layer/identity/infra/ory"
	"github.com/ory-identity-layer/identity/internal/localstack"
	"github.com/ory-identity-layer/identity/internal/smoke"
)

// requireStack skips when IDENTITY_E2E=0 and otherwise fails, with the install commands, when a
// prerequisite is missing. A silent skip would let a machine without the servers pass.
func requireStack(t *testing.T) {
	t.Helper()
	if os.Getenv("IDENTITY_E2E") == "0" {
		t.Skip("IDENTITY_E2E=0: end-to-end tests skipped on request")
	}
	if err := localstack.CheckPrerequisites(localstack.Options{}); err != nil {
		t.Fatalf("end-to-end prerequisites missing (set IDENTITY_E2E=0 to skip on purpose):\n%v",
			err)
	}
}

func startStack(t *testing.T, opts localstack.Options) *localstack.Stack {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	stack, err := localstack.Start(ctx, opts)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, stack.Close()) })
	return stack
}

func smokeConfig(e localstack.Endpoints) smoke.Config {
	return smoke.Config{
		HydraAdminURL: e.HydraAdminURL, HydraPublicURL: e.HydraPublicURL,
		HydraIssuer: e.HydraIssuer, KratosAdminURL: e.KratosAdminURL,
		KratosPublicURL: e.KratosPublicURL, KetoReadURL: e.KetoReadURL,
		KetoWriteURL: e.KetoWriteURL,
	}
}

func logReport(t *testing.T, r *smoke.Report) {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, r.WriteTable(&buf))
	t.Logf("smoke report:\n%s", buf.String())
}

func TestLocalStack_SmokeChecksPass(t *testing.T) {
	requireStack(t)
	stack := startStack(t, localstack.Options{})
	t.Logf("local stack started in %s", stack.StartTime.Round(time.Millisecond))

	report := smoke.Run(context.Background(), smokeConfig(stack.Endpoints))
	logReport(t, report)
	for _, res := range report.Results {
		assert.True(t, res.OK, "%s: %s", res.Check, res.Detail)
	}
	require.True(t, report.OK())

	// A second run against the same servers must not collide with the first one's data.
	again := smoke.Run(context.Background(), smokeConfig(stack.Endpoints))
	assert.NotEqual(t, report.RunID, again.RunID)
	assert.True(t, again.OK(), "second run failed")
}

// TestLocalStack_ValidationRejectsBrokenSettings breaks one setting at a time and expects Start
// to refuse before anything runs, naming the key.
func TestLocalStack_ValidationRejectsBrokenSettings(t *testing.T) {
	requireStack(t)
	tests := []struct {
		name    string
		opts    localstack.Options
		wantErr string
	}{
		{
			name: "kratos cipher of the wrong length",
			opts: localstack.Options{Kratos: func(s *ory.KratosSettings) {
				s.CipherSecrets = []string{"0123456789abcdef0123456789abcde"}
			}},
			wantErr: "kratos.secrets.cipher[0]: has 31 characters; want exactly 32",
		},
		{
			name:    "hydra issuer missing",
			opts:    localstack.Options{Hydra: func(s *ory.HydraSettings) { s.Issuer = "" }},
			wantErr: "hydra.issuer: required; want an absolute http(s) URL",
		},
		{
			name: "keto documents namespace missing",
			opts: localstack.Options{Keto: func(s *ory.KetoSettings) {
				s.Namespaces = []ory.KetoNamespace{
					{ID: 0, Name: "default_namespace"}, {ID: 2, Name: "users"},
				}
			}},
			wantErr: `keto.namespaces: namespace "documents" is missing`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			began := time.Now()
			_, err := localstack.Start(context.Background(), tt.opts)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.wantErr)
			// Refusing must not cost a database start and migrations.
			assert.Less(t, time.Since(began), 2*time.Second)
		})
	}
}

// TestLocalStack_ServersRejectBrokenConfig bypasses validation: it breaks a key in the rendered
// file and shows that the real server, or the smoke check against it, fails and names the key.
func TestLocalStack_ServersRejectBrokenConfig(t *testing.T) {
	requireStack(t)

	t.Run("keto without the documents namespace", func(t *testing.T) {
		stack := startStack(t, localstack.Options{
			Services: []localstack.Service{localstack.Keto},
			MutateConfig: func(s localstack.Service, cfg map[string]any) {
				cfg["namespaces"] = []any{
					map[string]any{"id": 0, "name": "default_namespace"},
					map[string]any{"id": 2, "name": "users"},
				}
			},
		})
		report := smoke.Run(context.Background(), smokeConfig(stack.Endpoints))
		logReport(t, report)

		res, ok := report.Result(smoke.KetoWriteTuple)
		require.True(t, ok)
		assert.False(t, res.OK)
		assert.Contains(t, res.Detail, "status 404")
		assert.Contains(t, res.Detail, `Unknown namespace with name "documents"`)
		assert.False(t, report.OK())
	})

	t.Run("kratos cipher of the wrong length", func(t *testing.T) {
		_, err := localstack.Start(context.Background(), localstack.Options{
			Services: []localstack.Service{localstack.Kratos},
			MutateConfig: func(s localstack.Service, cfg map[string]any) {
				cfg["secrets"].(map[string]any)["cipher"] = []any{"too-short-for-xchacha"}
			},
		})
		// Kratos' migrate command reads only the DSN; the server validates the whole file
		// against its JSON schema and exits.
		require.Error(t, err)
		assert.Contains(t, err.Error(), "waiting for kratos: kratos exited")
		assert.Contains(t, err.Error(), "secrets.cipher.0")
		assert.Contains(t, err.Error(), "length must be >= 32, but got 21")
	})

	t.Run("hydra without issuer", func(t *testing.T) {
		stack := startStack(t, localstack.Options{
			Services: []localstack.Service{localstack.Hydra},
			MutateConfig: func(s localstack.Service, cfg map[string]any) {
				self := cfg["urls"].(map[string]any)["self"].(map[string]any)
				delete(self, "issuer")
			},
		})
		report := smoke.Run(context.Background(), smokeConfig(stack.Endpoints))
		logReport(t, report)

		res, ok := report.Result(smoke.HydraIntrospectToken)
		require.True(t, ok)
		assert.False(t, res.OK)
		// Without urls.self.issuer Hydra in dev mode signs tokens with an empty issuer.
		assert.Contains(t, res.Detail, "want \""+stack.Endpoints.HydraIssuer+"\" (HYDRA_ISSUER)")
	})
}
