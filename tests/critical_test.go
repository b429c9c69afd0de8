package tests

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ory-identity-layer/identity/internal/offline"
)

func onCockroachSide(r *offline.Resource) bool {
	return strings.HasSuffix(r.Parent, "identity:network:Network::crdb") ||
		strings.HasSuffix(r.Parent, "identity:cockroach:Cluster::crdb")
}

func onEKSSide(r *offline.Resource) bool {
	return strings.HasSuffix(r.Parent, "identity:network:Network::eks") ||
		strings.Contains(r.Parent, "::identity:eks:Cluster::")
}

// TestBranchesBuildInParallel fails when a false dependency serialises the CockroachDB and EKS
// branches: neither may wait for the other. They meet only where Ory needs the database.
func TestBranchesBuildInParallel(t *testing.T) {
	for _, stack := range stacksInRepo {
		t.Run(stack, func(t *testing.T) {
			g := run(t, stack, nil)
			var crdb, eks int
			for _, r := range g.Resources {
				ancestors := g.Ancestors(r.URN)
				switch {
				case onCockroachSide(r):
					crdb++
					for _, a := range g.Resources {
						if ancestors[a.URN] {
							assert.False(t, onEKSSide(a), "%s waits for EKS resource %s", r.Name, a.Name)
						}
					}
				case onEKSSide(r):
					eks++
					for _, a := range g.Resources {
						if ancestors[a.URN] {
							assert.False(t, onCockroachSide(a), "%s waits for CockroachDB resource %s",
								r.Name, a.Name)
						}
					}
				}
			}
			require.Greater(t, crdb, 20, "the CockroachDB branch must be recognised")
			require.Greater(t, eks, 20, "the EKS branch must be recognised")
		})
	}
}

// TestCriticalPathIsEKSThenOry pins the shape of the critical path: EKS control plane, node
// group, database bootstrap, then a release. If CockroachDB ever lands on it, something made
// the branches wait for each other.
func TestCriticalPathIsEKSThenOry(t *testing.T) {
	chain := offline.CriticalPath(run(t, "dev", nil))
	require.NotEmpty(t, chain)
	var types []string
	for _, s := range chain {
		if s.Takes > 0 {
			types = append(types, s.Resource.Type)
		}
	}
	assert.Contains(t, types, "eks:index:Cluster")
	assert.Contains(t, types, "eks:index:ManagedNodeGroup")
	assert.Contains(t, types, "kubernetes:batch/v1:Job")
	assert.Equal(t, "kubernetes:helm.sh/v3:Release", types[len(types)-1])
	assert.NotContains(t, types, "aws:ec2/instance:Instance")

	total := chain[len(chain)-1].Finishes
	floor := offline.CreateTimes["eks:index:Cluster"].Typical +
		offline.CreateTimes["eks:index:ManagedNodeGroup"].Typical
	assert.GreaterOrEqual(t, total, floor)
	assert.Less(t, total, floor+5*time.Minute, "the critical path should stay close to EKS's floor")
	for i := 1; i < len(chain); i++ {
		assert.GreaterOrEqual(t, chain[i].Finishes, chain[i-1].Finishes)
	}
}
