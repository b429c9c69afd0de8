package main_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// build compiles the command once per test binary run.
func build(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "smoke")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, "go build: %s", out)
	return bin
}

func TestSmokeCommand(t *testing.T) {
	bin := build(t)
	tests := []struct {
		name       string
		args       []string
		env        []string
		wantCode   int
		wantStdout []string
		wantStderr []string
		wantJSON   bool
	}{
		{
			name:     "nothing configured fails every check once",
			wantCode: 1,
			wantStdout: []string{
				"hydra/create-client", "not configured: set HYDRA_ADMIN_URL",
				"keto/check-after-delete", "0 of 17 checks passed",
			},
		},
		{
			name:     "json from the same report",
			args:     []string{"--json"},
			wantCode: 1,
			wantJSON: true,
		},
		{
			name:       "flag overrides env",
			args:       []string{"--keto-read-url", "not-a-url"},
			env:        []string{"KETO_READ_REMOTE=http://127.0.0.1:1"},
			wantCode:   2,
			wantStderr: []string{`KETO_READ_REMOTE: got "not-a-url"`},
		},
		{
			name:       "relative url from env",
			env:        []string{"HYDRA_ADMIN_URL=hydra:4445"},
			wantCode:   2,
			wantStderr: []string{`HYDRA_ADMIN_URL: got "hydra:4445"; want an absolute http(s) URL`},
		},
		{
			name:       "unknown flag",
			args:       []string{"--nope"},
			wantCode:   2,
			wantStderr: []string{"flag provided but not defined: -nope"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(bin, tt.args...)
			cmd.Env = append([]string{"PATH=/usr/bin:/bin"}, tt.env...)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()

			code := 0
			var exitErr *exec.ExitError
			if errors.As(err, &exitErr) {
				code = exitErr.ExitCode()
			} else {
				require.NoError(t, err)
			}
			assert.Equal(t, tt.wantCode, code, "stderr: %s", stderr.String())
			for _, want := range tt.wantStdout {
				assert.Contains(t, stdout.String(), want)
			}
			for _, want := range tt.wantStderr {
				assert.Contains(t, stderr.String(), want)
			}
			if tt.wantJSON {
				var report struct {
					Failed  int `json:"failed"`
					Results []struct {
						Check string `json:"check"`
						OK    bool   `json:"ok"`
					} `json:"results"`
				}
				require.NoError(t, json.Unmarshal(stdout.Bytes(), &report), stdout.String())
				assert.Len(t, report.Results, 17)
				assert.Equal(t, 17, report.Failed)
				assert.False(t, strings.Contains(stdout.String(), "CHECK"), "no table in json mode")
			}
		})
	}
}
