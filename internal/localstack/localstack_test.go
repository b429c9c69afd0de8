package localstack_test

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ory-identity-layer/identity/internal/localstack"
)

// TestVersions_MatchToolModules keeps the versions the stack looks for in step with the modules
// scripts/build-ory.sh builds.
func TestVersions_MatchToolModules(t *testing.T) {
	tests := []struct {
		service localstack.Service
		module  string
	}{
		{localstack.Hydra, "github.com/ory/hydra/v2"},
		{localstack.Kratos, "github.com/ory/kratos"},
		{localstack.Keto, "github.com/ory/keto"},
	}
	for _, tt := range tests {
		t.Run(string(tt.service), func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join("..", "..", "tools", string(tt.service), "go.mod"))
			require.NoError(t, err)

			re := regexp.MustCompile(`(?m)^\s*` + regexp.QuoteMeta(tt.module) + `\s+(\S+)`)
			m := re.FindSubmatch(raw)
			require.NotNil(t, m, "tools/%s/go.mod does not require %s", tt.service, tt.module)
			assert.Equal(t, string(m[1]), tt.service.Version())
			assert.Contains(t, string(raw), "\ntool "+tt.module+"\n")
		})
	}
}

func TestDefaultBinDir(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{
			name: "explicit directory",
			env:  map[string]string{"ORY_BIN_DIR": "/opt/ory", "XDG_CACHE_HOME": "/xdg"},
			want: "/opt/ory",
		},
		{
			name: "xdg cache",
			env:  map[string]string{"ORY_BIN_DIR": "", "XDG_CACHE_HOME": "/xdg"},
			want: "/xdg/identity-ory/bin",
		},
		{
			name: "home cache",
			env:  map[string]string{"ORY_BIN_DIR": "", "XDG_CACHE_HOME": "", "HOME": "/home/dev"},
			want: "/home/dev/.cache/identity-ory/bin",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			assert.Equal(t, tt.want, localstack.DefaultBinDir())
		})
	}
}

func TestCheckPrerequisites_SaysWhatToInstall(t *testing.T) {
	err := localstack.CheckPrerequisites(localstack.Options{
		BinDir:         t.TempDir(),
		PostgresBinDir: t.TempDir(),
		Services:       []localstack.Service{localstack.Keto},
	})
	require.Error(t, err)
	assert.True(t, errors.Is(err, localstack.ErrMissingTool))
	assert.Contains(t, err.Error(), "apt-get install postgresql-15")
	assert.Contains(t, err.Error(), "keto v0.13.0-alpha.0 not found")
	assert.Contains(t, err.Error(), "scripts/build-ory.sh keto")
	assert.NotContains(t, err.Error(), "hydra", "only the requested services are checked")
}

func TestEndpoints_Env(t *testing.T) {
	e := localstack.Endpoints{
		HydraAdminURL: "a", HydraPublicURL: "b", HydraIssuer: "c", KratosAdminURL: "d",
		KratosPublicURL: "e", KetoReadURL: "f", KetoWriteURL: "g",
	}
	got := map[string]string{}
	for _, v := range e.Env() {
		got[v.Name] = v.Value
	}
	assert.Equal(t, map[string]string{
		"HYDRA_ADMIN_URL": "a", "HYDRA_PUBLIC_URL": "b", "HYDRA_ISSUER": "c",
		"KRATOS_ADMIN_URL": "d", "KRATOS_PUBLIC_URL": "e", "KETO_READ_REMOTE": "f",
		"KETO_WRITE_REMOTE": "g",
	}, got)
}
