package main_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ory-identity-layer/identity/internal/load"
	"github.com/ory-identity-layer/identity/internal/load/fakeory"
)

// build compiles the command once per test.
func build(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "load")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, "go build: %s", out)
	return bin
}

type result struct {
	code           int
	stdout, stderr string
}

func runBin(t *testing.T, bin string, env []string, args ...string) result {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH")}, env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		code = exit.ExitCode()
	} else {
		require.NoError(t, err)
	}
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

func TestLoadCommand(t *testing.T) {
	bin := build(t)
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "load.yaml")
	require.NoError(t, os.WriteFile(cfgPath,
		[]byte("services: [keto, hydra]\nconcurrency: 8\nduration: 1m\n"), 0o600))

	tests := []struct {
		name       string
		args       []string
		faults     fakeory.Faults
		wantCode   int
		wantStdout []string
		wantStderr []string
		check      func(t *testing.T, r result, s *fakeory.Server)
	}{
		{
			name:       "dry run sends nothing",
			args:       []string{"--dry-run", "--verify", "--duration", "5s"},
			wantStdout: []string{"dry run", "closed, 4 workers per service", "kratos/lookup"},
			check: func(t *testing.T, _ result, s *fakeory.Server) {
				assert.Zero(t, s.Requests())
			},
		},
		{
			name: "flags win over the config file",
			args: []string{"--config", cfgPath, "--concurrency", "2", "--dry-run", "--json"},
			check: func(t *testing.T, r result, _ *fakeory.Server) {
				var plan load.Plan
				require.NoError(t, json.Unmarshal([]byte(r.stdout), &plan))
				assert.Equal(t, 2, plan.Config.Concurrency)
				assert.Equal(t, []string{"keto", "hydra"}, plan.Config.Services)
				assert.Equal(t, "1m0s", plan.Config.Duration.String())
			},
		},
		{
			name:       "a run prints the table and verifies",
			args:       []string{"--duration", "1s", "--verify", "--quiet"},
			wantStdout: []string{"OPERATION", "hydra/introspect", "verify", "lost=0"},
			wantStderr: []string{"load config", "run_id="},
		},
		{
			name: "json report",
			args: []string{"--services", "keto", "--duration", "500ms", "--json", "--quiet"},
			check: func(t *testing.T, r result, _ *fakeory.Server) {
				var rep load.Report
				require.NoError(t, json.Unmarshal([]byte(r.stdout), &rep))
				assert.Equal(t, []string{"keto"}, rep.Services)
				assert.Len(t, rep.Operations, 3)
			},
		},
		{
			name: "lost writes fail the run",
			args: []string{
				"--services", "keto", "--duration", "500ms", "--verify",
				"--quiet",
			},
			faults:     fakeory.Faults{ForgetTuples: true},
			wantCode:   1,
			wantStdout: []string{"missing: documents:load-"},
			wantStderr: []string{"verification failed"},
		},
		{
			name:       "open model needs a rate",
			args:       []string{"--model", "open"},
			wantCode:   2,
			wantStderr: []string{"rate: got 0; want operations per second per service"},
		},
		{
			name:       "restart needs the local stack",
			args:       []string{"--restart", "postgres@1s"},
			wantCode:   2,
			wantStderr: []string{"--restart needs --local"},
		},
		{
			name:       "bad restart",
			args:       []string{"--local", "--restart", "redis@1s"},
			wantCode:   2,
			wantStderr: []string{`got "redis@1s"; want NAME@OFFSET`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := fakeory.New()
			defer s.Close()
			s.SetFaults(tt.faults)
			r := runBin(t, bin, s.Env(), tt.args...)
			assert.Equal(t, tt.wantCode, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
			for _, w := range tt.wantStdout {
				assert.Contains(t, r.stdout, w)
			}
			for _, w := range tt.wantStderr {
				assert.Contains(t, r.stderr, w)
			}
			if tt.check != nil {
				tt.check(t, r, s)
			}
		})
	}
}

func TestLoadCommand_Compare(t *testing.T) {
	bin := build(t)
	s := fakeory.New()
	defer s.Close()
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.json"), filepath.Join(dir, "b.json")
	for _, path := range []string{a, b} {
		r := runBin(t, bin, s.Env(), "--services", "keto", "--duration", "300ms", "--quiet",
			"--out", path)
		require.Equal(t, 0, r.code, r.stderr)
	}

	r := runBin(t, bin, nil, "compare", "first="+a, "second="+b)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "| operation | first ok/s | first p99 | second ok/s")
	assert.Contains(t, r.stdout, "`keto/check-denied`")

	r = runBin(t, bin, nil, "compare", a)
	assert.Equal(t, 2, r.code)
	assert.Contains(t, r.stderr, "want LABEL=report.json")

	r = runBin(t, bin, nil, "compare", "both="+a+","+b, "first="+a)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, 2, strings.Count(r.stdout, "`keto/write`"), "merged rows are kept")
}
