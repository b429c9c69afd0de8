package load_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ory-identity-layer/identity/infra/ory"
	"github.com/ory-identity-layer/identity/internal/load"
)

func validConfig() load.Config {
	u := "http://127.0.0.1:1"
	return load.Config{
		Services: []string{load.Hydra, load.Kratos, load.Keto},
		Endpoints: load.Endpoints{
			HydraAdminURL: u, HydraPublicURL: u, KratosAdminURL: u,
			KratosPublicURL: u, KetoReadURL: u, KetoWriteURL: u,
		},
	}
}

func TestConfig_Validate(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(c *load.Config)
		wantErr []string
	}{
		{name: "valid", mutate: func(*load.Config) {}},
		{
			name:    "no services",
			mutate:  func(c *load.Config) { c.Services = nil },
			wantErr: []string{"services: required; want a subset of hydra, kratos, keto"},
		},
		{
			name:    "unknown service",
			mutate:  func(c *load.Config) { c.Services = []string{"oathkeeper"} },
			wantErr: []string{`services: got "oathkeeper"`},
		},
		{
			name:    "service twice",
			mutate:  func(c *load.Config) { c.Services = []string{"keto", "keto"} },
			wantErr: []string{`services: "keto" given twice`},
		},
		{
			name:    "missing endpoint of a requested service",
			mutate:  func(c *load.Config) { c.Endpoints.KetoWriteURL = "" },
			wantErr: []string{"KETO_WRITE_REMOTE: required for this service"},
		},
		{
			name: "missing endpoint of another service",
			mutate: func(c *load.Config) {
				c.Services, c.Endpoints.KetoWriteURL = []string{load.Hydra}, ""
			},
		},
		{
			name:    "relative endpoint",
			mutate:  func(c *load.Config) { c.Endpoints.HydraAdminURL = "localhost:4445" },
			wantErr: []string{`HYDRA_ADMIN_URL: got "localhost:4445"`},
		},
		{
			name:    "open model without rate",
			mutate:  func(c *load.Config) { c.Model = load.Open },
			wantErr: []string{"rate: got 0; want operations per second"},
		},
		{
			name:    "closed model with rate",
			mutate:  func(c *load.Config) { c.Rate = 10 },
			wantErr: []string{"rate: got 10; the closed model takes no rate"},
		},
		{
			name:    "unknown model",
			mutate:  func(c *load.Config) { c.Model = "poisson" },
			wantErr: []string{`model: got "poisson"; want closed or open`},
		},
		{
			name:    "read ratio above one",
			mutate:  func(c *load.Config) { c.ReadRatio = 1.5 },
			wantErr: []string{"read_ratio: got 1.5"},
		},
		{
			name:    "negative duration",
			mutate:  func(c *load.Config) { c.Duration = -time.Second },
			wantErr: []string{"duration: got -1s"},
		},
		{
			name:    "too many workers",
			mutate:  func(c *load.Config) { c.Concurrency = 5000 },
			wantErr: []string{"concurrency: got 5000; want 1 to 1024"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig()
			tt.mutate(&c)
			err := c.WithDefaults().Validate()
			if len(tt.wantErr) == 0 {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			for _, w := range tt.wantErr {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}

func TestReadFile(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		check   func(t *testing.T, c load.Config, f load.File)
		wantErr string
	}{
		{
			name: "every kind of value",
			yaml: "services: [keto]\nmodel: open\nrate: 25\nduration: 45s\nread_ratio: 0\n" +
				"timeout: 3s\nverify: true\nlocal:\n  profile: tutorial\n  max_conns: 0\n",
			check: func(t *testing.T, c load.Config, f load.File) {
				assert.Equal(t, []string{"keto"}, c.Services)
				assert.Equal(t, load.Open, c.Model)
				assert.Equal(t, 25.0, c.Rate)
				assert.Equal(t, 45*time.Second, c.Duration)
				assert.Equal(t, 0.0, c.ReadRatio, "an explicit 0 is kept")
				assert.Equal(t, 3*time.Second, c.Timeout)
				assert.True(t, c.Verify)
				assert.Equal(t, load.ProfileTutorial, f.Local.Profile)
				require.NotNil(t, f.Local.MaxConns)
				assert.Zero(t, *f.Local.MaxConns)
			},
		},
		{
			name: "unset keys keep the defaults",
			yaml: "concurrency: 8\n",
			check: func(t *testing.T, c load.Config, _ load.File) {
				assert.Equal(t, 8, c.Concurrency)
				assert.Equal(t, load.DefaultReadRatio, c.ReadRatio)
				assert.Equal(t, []string{"hydra"}, c.Services)
			},
		},
		{name: "typo in a key", yaml: "concurency: 8\n", wantErr: `unknown field "concurency"`},
		{name: "bad duration", yaml: "duration: soon\n", wantErr: `duration: got "soon"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "load.yaml")
			require.NoError(t, os.WriteFile(path, []byte(tt.yaml), 0o600))
			f, err := load.ReadFile(path)
			var c load.Config
			if err == nil {
				c, err = f.Apply(load.Config{
					Services:  []string{"hydra"},
					ReadRatio: load.DefaultReadRatio,
				})
			}
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			tt.check(t, c, f)
		})
	}
}

func TestLocal_Settings(t *testing.T) {
	zero, ten := 0, 10
	tests := []struct {
		name    string
		local   load.Local
		want    load.LocalSettings
		wantErr string
	}{
		{
			name:  "shipped by default",
			local: load.Local{},
			want: load.LocalSettings{
				Profile: load.ProfileShipped, MaxConns: 20, MaxIdleConns: 5,
				MaxConnLifetime: 5 * time.Minute, HydraTokenStrategy: "opaque",
			},
		},
		{
			name:  "tutorial is Ory's defaults",
			local: load.Local{Profile: load.ProfileTutorial},
			want: load.LocalSettings{
				Profile: load.ProfileTutorial, HydraTokenStrategy: "opaque",
				Hasher: ory.KratosHasher{Algorithm: "bcrypt", BcryptCost: 12},
			},
		},
		{
			name: "overrides win",
			local: load.Local{
				KratosHasher: "argon2", Argon2MemoryMiB: 46, Argon2Iterations: 1,
				MaxConns: &ten, MaxIdleConns: &zero, HydraTokenStrategy: "jwt",
			},
			want: load.LocalSettings{
				Profile: load.ProfileShipped, MaxConns: 10,
				MaxConnLifetime: 5 * time.Minute, HydraTokenStrategy: "jwt",
				Hasher: ory.KratosHasher{
					Algorithm: "argon2", Argon2MemoryMiB: 46,
					Argon2Iterations: 1,
				},
			},
		},
		{name: "unknown profile", local: load.Local{Profile: "fast"}, wantErr: `got "fast"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.local.Settings()
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
			assert.NoError(t, got.Validate())
		})
	}
}

// TestShippedPool_MatchesPulumiYAML keeps the shipped profile's pool in step with the defaults
// the stack config declares.
func TestShippedPool_MatchesPulumiYAML(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "Pulumi.yaml"))
	require.NoError(t, err)
	def := func(key string) string {
		re := regexp.MustCompile(`(?m)^  ` + key + `:\n(?:    .*\n)*?    default: (\S+)`)
		m := re.FindSubmatch(raw)
		require.NotNil(t, m, "Pulumi.yaml has no default for %s", key)
		return string(m[1])
	}
	assert.Equal(t, strconv.Itoa(load.ShippedMaxConns), def("oryDbMaxConns"))
	assert.Equal(t, strconv.Itoa(load.ShippedMaxIdleConns), def("oryDbMaxIdleConns"))
	life, err := time.ParseDuration(def("oryDbMaxConnLifetime"))
	require.NoError(t, err)
	assert.Equal(t, load.ShippedMaxConnLifetime, life)
}

func TestReport_TableAndJSONFromOneStruct(t *testing.T) {
	s := fakeServer(t)
	cfg := configFor(s, load.Keto)
	cfg.Duration, cfg.Verify = 300*time.Millisecond, true
	rep := runLoad(t, cfg)

	var table, js bytes.Buffer
	require.NoError(t, rep.WriteTable(&table))
	require.NoError(t, rep.WriteJSON(&js))

	var back load.Report
	require.NoError(t, json.Unmarshal(js.Bytes(), &back))
	assert.Equal(t, rep.Operations, back.Operations)
	assert.Equal(t, rep.Verify, back.Verify)

	out := table.String()
	assert.Contains(t, out, "closed model: 4 workers per service")
	assert.Contains(t, out, "OPERATION")
	assert.Contains(t, out, "keto/check-denied")
	assert.Contains(t, out, "lost=0 unverified=0")
	write, _ := rep.Op(load.OpKetoWrite)
	assert.Contains(t, out, "201="+strconv.FormatInt(write.Requests, 10))
}

func TestCompare(t *testing.T) {
	a := &load.Report{
		Model: load.Closed, Concurrency: 4, Elapsed: 30 * time.Second,
		Operations: []load.OpReport{{
			Name: "keto/write", Throughput: 100,
			Latency: load.Latency{P99: 12 * time.Millisecond},
		}},
		CPU: []load.CPUUsage{{Name: "other", Cores: 0.5}, {Name: "other", Cores: 0.25}},
	}
	b := &load.Report{Model: load.Closed, Concurrency: 4, Elapsed: 30 * time.Second}

	c, err := load.Compare([]string{"shipped", "tutorial"}, []*load.Report{a, b})
	require.NoError(t, err)
	var out bytes.Buffer
	require.NoError(t, c.WriteTable(&out))
	assert.Contains(t, out.String(), "| operation | shipped ok/s | shipped p99 | tutorial ok/s")
	assert.Contains(t, out.String(), "| `keto/write` | 100.0 | 12ms | 0.0 | 0 |")
	assert.Contains(t, out.String(), "- shipped: closed model, 4 workers per service, 30s; "+
		"other programs used up to 0.50 cores")

	_, err = load.Compare([]string{"one"}, []*load.Report{a, b})
	assert.Error(t, err)
}
