package tests

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/pmezard/go-difflib/difflib"
	"github.com/stretchr/testify/require"

	"github.com/ory-identity-layer/identity/internal/offline"
)

var update = flag.Bool("update", false, "rewrite the golden desired-state files")

func goldenPath(stack string) string {
	return filepath.Join("testdata", stack+".golden.json")
}

// TestGoldenDesiredState renders every stack offline and compares it with the committed file,
// whose diff is what a reviewer reads. Refresh with `go test ./tests/ -run Golden -update`.
func TestGoldenDesiredState(t *testing.T) {
	stacks, err := offline.StackFiles("..")
	require.NoError(t, err)
	for _, stack := range stacks {
		t.Run(stack, func(t *testing.T) {
			got, err := offline.Golden(run(t, stack, nil))
			require.NoError(t, err)
			path := goldenPath(stack)
			if *update {
				require.NoError(t, os.MkdirAll("testdata", 0o755))
				require.NoError(t, os.WriteFile(path, got, 0o644))
			}
			want, err := os.ReadFile(path)
			require.NoError(t, err, "no golden file; create it with -update")
			if !bytes.Equal(want, got) {
				diff, _ := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
					A: difflib.SplitLines(string(want)), B: difflib.SplitLines(string(got)),
					FromFile: path, ToFile: "rendered", Context: 3,
				})
				t.Errorf("desired state of %s changed; if intended, run "+
					"`go test ./tests/ -run Golden -update` and commit:\n%s", stack, diff)
			}
		})
	}
}

// TestGoldenIsDeterministic renders the same stack twice, in separate runs, and requires the
// bytes to match: no map order, timestamps or random values may leak into the file.
func TestGoldenIsDeterministic(t *testing.T) {
	first, err := offline.Golden(run(t, "dev", nil))
	require.NoError(t, err)
	second, err := offline.Golden(run(t, "dev", nil))
	require.NoError(t, err)
	require.Equal(t, string(first), string(second))
	require.NotContains(t, string(first), "mock-secret", "secret stand-ins must be masked")
}
