package e2e_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ory-identity-layer/identity/internal/load"
	"github.com/ory-identity-layer/identity/internal/localstack"
)

// Fault test timing. The load is short and light: the test is about recovery and lost writes,
// never about throughput or latency.
const (
	faultLoad        = 15 * time.Second
	faultAt          = 5 * time.Second
	faultConcurrency = 2
	// recoveryBound is how long after the restarted process is ready errors may go on: the
	// servers' pools notice dead connections only when they use them.
	recoveryBound = 5 * time.Second
)

// TestFaults_LoadRecoversFromRestarts runs a short load against the local stack, restarts one
// process in the middle, and requires that errors stop soon after the restart and that every
// acknowledged write is still there afterwards.
func TestFaults_LoadRecoversFromRestarts(t *testing.T) {
	requireStack(t)
	tests := []struct {
		name     string
		target   string
		services []string
	}{
		{name: "postgres restart", target: localstack.Postgres, services: load.Services},
		{
			name: "kratos restart", target: string(localstack.Kratos),
			services: []string{load.Kratos},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stack := startStack(t, localstack.Options{})
			runner, err := load.NewRunner(load.Config{
				Services: tt.services, Concurrency: faultConcurrency, Duration: faultLoad,
				ReadRatio: load.DefaultReadRatio, Verify: true,
				Endpoints: endpoints(stack.Endpoints),
			}, load.WithProcessGroups(stack.ProcessGroups))
			require.NoError(t, err)

			before := stack.ProcessGroups()[tt.target]
			restarted := make(chan error, 1)
			go func() { restarted <- restartAt(stack, runner, tt.target, faultAt) }()
			report, err := runner.Run(context.Background())
			require.NoError(t, err)
			require.NoError(t, <-restarted)
			logLoadReport(t, report)

			assert.NotEqual(t, before, stack.ProcessGroups()[tt.target], "no restart happened")
			checkRecovered(t, report)
			checkLookupFilters(t, report)
			require.NotNil(t, report.Verify)
			assert.True(t, report.Verify.OK(), "acknowledged writes missing: %s",
				report.Verify.Summary())
			for _, v := range report.Verify.Services {
				assert.Positive(t, v.Found, "%s: nothing was verified", v.Service)
			}
		})
	}
}

// restartAt restarts target once the load has run for at, marking the report when the restart
// begins ("restart") and when the process is ready again ("ready").
func restartAt(stack *localstack.Stack, r *load.Runner, target string, at time.Duration) error {
	for r.Progress().Elapsed < at {
		time.Sleep(50 * time.Millisecond)
	}
	r.Mark("restart")
	if err := stack.Restart(context.Background(), target); err != nil {
		return err
	}
	r.Mark("ready")
	return nil
}

// checkRecovered requires no error before the restart, none later than recoveryBound after the
// process is ready, and successes after the last error of every operation.
func checkRecovered(t *testing.T, r *load.Report) {
	t.Helper()
	first, _, failed := r.ErrorWindow("restart")
	if !failed {
		t.Log("no operation failed during the restart")
		return
	}
	t.Logf("error window: first %s, last %s relative to the restart", first, lastOf(r))
	assert.GreaterOrEqual(t, first, time.Duration(0), "errors before the restart")

	_, last, _ := r.ErrorWindow("ready")
	assert.LessOrEqual(t, last, recoveryBound,
		"errors went on %s after the restarted process was ready", last)
	for _, o := range r.Operations {
		if o.LastError == nil {
			continue
		}
		require.NotNil(t, o.LastSuccess, "%s never succeeded", o.Name)
		assert.Greater(t, *o.LastSuccess, *o.LastError, "%s did not recover", o.Name)
	}
}

// checkLookupFilters requires that Kratos honoured credentials_identifier: every successful
// lookup found exactly the identity registered with the email, among many.
func checkLookupFilters(t *testing.T, r *load.Report) {
	t.Helper()
	lookup, ok := r.Op(load.OpKratosLookup)
	require.True(t, ok)
	register, _ := r.Op(load.OpKratosRegister)
	require.Greater(t, register.OK, int64(1), "the filter shows only among several identities")
	assert.Positive(t, lookup.OK)
	for _, e := range lookup.Errors {
		assert.NotContains(t, e.Message, "filter was not applied")
	}
}

func lastOf(r *load.Report) time.Duration {
	_, last, _ := r.ErrorWindow("restart")
	return last
}

func endpoints(e localstack.Endpoints) load.Endpoints {
	return load.Endpoints{
		HydraAdminURL: e.HydraAdminURL, HydraPublicURL: e.HydraPublicURL,
		KratosAdminURL: e.KratosAdminURL, KratosPublicURL: e.KratosPublicURL,
		KetoReadURL: e.KetoReadURL, KetoWriteURL: e.KetoWriteURL,
	}
}

func logLoadReport(t *testing.T, r *load.Report) {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, r.WriteTable(&buf))
	t.Logf("load report:\n%s", buf.String())
}
