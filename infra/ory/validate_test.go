package ory_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ory-identity-layer/identity/infra/ory"
)

// checkErrors asserts that err holds exactly the wanted messages, each as a substring of one
// FieldError, or that err is nil when want is empty.
func checkErrors(t *testing.T, err error, want []string) {
	t.Helper()
	if len(want) == 0 {
		require.NoError(t, err)
		return
	}
	require.Error(t, err)
	for _, w := range want {
		assert.Contains(t, err.Error(), w)
	}
	var fe *ory.FieldError
	require.True(t, errors.As(err, &fe), "want a *ory.FieldError in %v", err)
}

func TestHydraSettings_Validate(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(s *ory.HydraSettings)
		wantErr []string
	}{
		{name: "valid", mutate: func(*ory.HydraSettings) {}},
		{
			name:    "missing issuer",
			mutate:  func(s *ory.HydraSettings) { s.Issuer = "" },
			wantErr: []string{"hydra.issuer: required; want an absolute http(s) URL"},
		},
		{
			name:    "relative issuer",
			mutate:  func(s *ory.HydraSettings) { s.Issuer = "/oauth" },
			wantErr: []string{`hydra.issuer: got "/oauth"; want an absolute http(s) URL`},
		},
		{
			name:    "http issuer outside dev",
			mutate:  func(s *ory.HydraSettings) { s.Issuer, s.Production = "http://a.example", false },
			wantErr: []string{"hydra.issuer: got \"http://a.example\"; want an https URL unless"},
		},
		{
			name:    "dev in production",
			mutate:  func(s *ory.HydraSettings) { s.Dev = true },
			wantErr: []string{"hydra.dev: must be false when hydra.production is true"},
		},
		{
			name:    "short system secret",
			mutate:  func(s *ory.HydraSettings) { s.SystemSecrets = []string{"short"} },
			wantErr: []string{"hydra.secrets.system[0]: has 5 characters; want at least 32"},
		},
		{
			name:    "missing cookie secret",
			mutate:  func(s *ory.HydraSettings) { s.CookieSecrets = nil },
			wantErr: []string{"hydra.secrets.cookie: required; want at least one secret"},
		},
		{
			name: "repeated secret",
			mutate: func(s *ory.HydraSettings) {
				s.SystemSecrets = append(s.SystemSecrets, s.SystemSecrets[0])
			},
			wantErr: []string{"hydra.secrets.system[1]: repeats an earlier secret"},
		},
		{
			name:    "same ports",
			mutate:  func(s *ory.HydraSettings) { s.PublicPort, s.AdminPort = 4445, 4445 },
			wantErr: []string{"hydra.public_port: port 4445 is also used by hydra.admin_port"},
		},
		{
			name:    "bad log level",
			mutate:  func(s *ory.HydraSettings) { s.LogLevel = "verbose" },
			wantErr: []string{`hydra.log_level: got "verbose"; want one of trace, debug`},
		},
		{
			name:    "insecure remote database",
			mutate:  func(s *ory.HydraSettings) { s.DSN.SSLMode = ory.SSLDisable },
			wantErr: []string{"hydra.dsn.sslmode: disable is accepted only for loopback hosts"},
		},
		{
			name: "several problems at once",
			mutate: func(s *ory.HydraSettings) {
				s.Issuer, s.CookieSecrets = "", nil
			},
			wantErr: []string{"hydra.issuer: required", "hydra.secrets.cookie: required"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := hydraSettings()
			tt.mutate(&s)
			checkErrors(t, s.Validate(), tt.wantErr)

			_, err := ory.RenderHydra(s)
			assert.Equal(t, len(tt.wantErr) == 0, err == nil, "render must refuse what Validate refuses")
		})
	}
}

func TestKratosSettings_Validate(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(s *ory.KratosSettings)
		wantErr []string
	}{
		{name: "valid", mutate: func(*ory.KratosSettings) {}},
		{
			name:    "cipher too short",
			mutate:  func(s *ory.KratosSettings) { s.CipherSecrets = []string{secret("c", 31)} },
			wantErr: []string{"kratos.secrets.cipher[0]: has 31 characters; want exactly 32"},
		},
		{
			name:    "cipher too long",
			mutate:  func(s *ory.KratosSettings) { s.CipherSecrets = []string{secret("c", 33)} },
			wantErr: []string{"kratos.secrets.cipher[0]: has 33 characters; want exactly 32"},
		},
		{
			name: "cipher counted in characters",
			mutate: func(s *ory.KratosSettings) {
				s.CipherSecrets = []string{"ü" + secret("c", 31)}
			},
		},
		{
			name:    "missing cipher",
			mutate:  func(s *ory.KratosSettings) { s.CipherSecrets = nil },
			wantErr: []string{"kratos.secrets.cipher: required"},
		},
		{
			name:    "short default secret",
			mutate:  func(s *ory.KratosSettings) { s.DefaultSecrets = []string{"abc"} },
			wantErr: []string{"kratos.secrets.default[0]: has 3 characters; want at least 32"},
		},
		{
			name:    "missing public base url",
			mutate:  func(s *ory.KratosSettings) { s.PublicBaseURL = "" },
			wantErr: []string{"kratos.public_base_url: required"},
		},
		{
			name:    "missing return url",
			mutate:  func(s *ory.KratosSettings) { s.DefaultBrowserReturnURL = "" },
			wantErr: []string{"kratos.default_browser_return_url: required"},
		},
		{
			name: "bad allowed return url",
			mutate: func(s *ory.KratosSettings) {
				s.AllowedReturnURLs = []string{"https://ok.example", "ftp://x"}
			},
			wantErr: []string{`kratos.allowed_return_urls[1]: got "ftp://x"`},
		},
		{
			name:    "smtp uri not smtp",
			mutate:  func(s *ory.KratosSettings) { s.CourierSMTPURI = "http://user:pw@mail" },
			wantErr: []string{"kratos.courier.smtp_uri: not an smtp:// or smtps:// URL"},
		},
		{
			name:    "dev in production",
			mutate:  func(s *ory.KratosSettings) { s.Dev = true },
			wantErr: []string{"kratos.dev: must be false when kratos.production is true"},
		},
		{
			name:    "unknown hasher",
			mutate:  func(s *ory.KratosSettings) { s.Hasher.Algorithm = "scrypt" },
			wantErr: []string{`kratos.hasher.algorithm: got "scrypt"; want one of bcrypt, argon2`},
		},
		{
			name:   "bcrypt cost above the default",
			mutate: func(s *ory.KratosSettings) { s.Hasher.BcryptCost = 13 },
		},
		{
			name: "bcrypt cost 10 in development mode",
			mutate: func(s *ory.KratosSettings) {
				s.Production, s.Dev, s.Hasher.BcryptCost = false, true, 10
			},
		},
		{
			name:    "bcrypt cost 10 outside development mode",
			mutate:  func(s *ory.KratosSettings) { s.Hasher.BcryptCost = 10 },
			wantErr: []string{"kratos.hasher.bcrypt_cost: got 10; want 12 to 31; Kratos raises"},
		},
		{
			name: "bcrypt cost below OWASP in development mode",
			mutate: func(s *ory.KratosSettings) {
				s.Production, s.Dev, s.Hasher.BcryptCost = false, true, 9
			},
			wantErr: []string{"kratos.hasher.bcrypt_cost: got 9; want 10 to 31"},
		},
		{
			name:    "bcrypt cost above bcrypt's maximum",
			mutate:  func(s *ory.KratosSettings) { s.Hasher.BcryptCost = 32 },
			wantErr: []string{"kratos.hasher.bcrypt_cost: got 32; want 12 to 31"},
		},
		{
			name:   "argon2 defaults",
			mutate: func(s *ory.KratosSettings) { s.Hasher.Algorithm = ory.HasherArgon2 },
		},
		{
			name: "argon2 46 MiB with one pass",
			mutate: func(s *ory.KratosSettings) {
				s.Hasher = ory.KratosHasher{
					Algorithm: ory.HasherArgon2, Argon2MemoryMiB: 46,
					Argon2Iterations: 1,
				}
			},
		},
		{
			name: "argon2 below OWASP",
			mutate: func(s *ory.KratosSettings) {
				s.Hasher = ory.KratosHasher{
					Algorithm: ory.HasherArgon2, Argon2MemoryMiB: 19,
					Argon2Iterations: 1,
				}
			},
			wantErr: []string{"kratos.hasher.argon2_memory_mib: 19 MiB with 1 iterations is below"},
		},
		{
			name: "argon2 memory too large",
			mutate: func(s *ory.KratosSettings) {
				s.Hasher = ory.KratosHasher{Algorithm: ory.HasherArgon2, Argon2MemoryMiB: 4096}
			},
			wantErr: []string{"kratos.hasher.argon2_memory_mib: got 4096; want 1 to 1024 MiB"},
		},
		{
			name: "argon2 too many lanes",
			mutate: func(s *ory.KratosSettings) {
				s.Hasher = ory.KratosHasher{Algorithm: ory.HasherArgon2, Argon2Parallelism: 256}
			},
			wantErr: []string{"kratos.hasher.argon2_parallelism: got 256; want 1 to 255"},
		},
		{
			name:    "same ports",
			mutate:  func(s *ory.KratosSettings) { s.AdminPort = 4433 },
			wantErr: []string{"kratos.public_port: port 4433 is also used by kratos.admin_port"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := kratosSettings()
			tt.mutate(&s)
			checkErrors(t, s.Validate(), tt.wantErr)
		})
	}
}

func TestKratosSettings_ValidateHidesSMTPPassword(t *testing.T) {
	s := kratosSettings()
	s.CourierSMTPURI = "http://user:hunter2@mail"
	err := s.Validate()
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "hunter2")
}

func TestKetoSettings_Validate(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(s *ory.KetoSettings)
		wantErr []string
	}{
		{name: "valid defaults", mutate: func(*ory.KetoSettings) {}},
		{
			name: "duplicate name",
			mutate: func(s *ory.KetoSettings) {
				s.Namespaces = []ory.KetoNamespace{{ID: 0, Name: "a"}, {ID: 1, Name: "a"}}
			},
			wantErr: []string{`keto.namespaces[1].name: "a" is declared twice`},
		},
		{
			name: "duplicate id",
			mutate: func(s *ory.KetoSettings) {
				s.Namespaces = []ory.KetoNamespace{{ID: 3, Name: "a"}, {ID: 3, Name: "b"}}
			},
			wantErr: []string{`keto.namespaces[1].id: id 3 is also used by "a"`},
		},
		{
			name: "bad name and id",
			mutate: func(s *ory.KetoSettings) {
				s.Namespaces = []ory.KetoNamespace{{ID: -1, Name: "has space"}}
			},
			wantErr: []string{
				`keto.namespaces[0].name: got "has space"`,
				"keto.namespaces[0].id: got -1; want 0 to 2147483647",
			},
		},
		{
			name:    "port clash",
			mutate:  func(s *ory.KetoSettings) { s.MetricsPort = 4466 },
			wantErr: []string{"keto.read_port: port 4466 is also used by keto.metrics_port"},
		},
		{
			name:    "bad log format",
			mutate:  func(s *ory.KetoSettings) { s.LogFormat = "xml" },
			wantErr: []string{`keto.log_format: got "xml"; want one of text, json`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := ketoSettings()
			tt.mutate(&s)
			checkErrors(t, s.Validate(), tt.wantErr)
		})
	}
}

func TestKetoSettings_RequireNamespaces(t *testing.T) {
	tests := []struct {
		name       string
		namespaces []ory.KetoNamespace
		wantErr    string
	}{
		{name: "defaults have documents"},
		{
			name:       "documents missing",
			namespaces: []ory.KetoNamespace{{ID: 0, Name: "default_namespace"}, {ID: 2, Name: "users"}},
			wantErr:    `keto.namespaces: namespace "documents" is missing`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := ketoSettings()
			s.Namespaces = tt.namespaces
			err := s.RequireNamespaces("documents")
			if tt.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.wantErr)
		})
	}
}
