package main_test

import (
	"bytes"
	"errors"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestLocalCommand_MissingToolsSayWhatToInstall runs the command with empty tool directories:
// it must fail once, naming the install commands, without starting anything.
func TestLocalCommand_MissingToolsSayWhatToInstall(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "local")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, "go build: %s", out)

	cmd := exec.Command(bin, "--check-only", "--bin-dir", t.TempDir(), "--pg-bin-dir", t.TempDir())
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()

	var exitErr *exec.ExitError
	require.True(t, errors.As(err, &exitErr), "want a non-zero exit, got %v", err)
	assert.Equal(t, 1, exitErr.ExitCode())
	assert.Empty(t, stdout.String(), "no report when nothing started")
	for _, want := range []string{
		"apt-get install postgresql-15",
		"scripts/build-ory.sh hydra", "scripts/build-ory.sh kratos", "scripts/build-ory.sh keto",
	} {
		assert.Contains(t, stderr.String(), want)
	}
}
