package load_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ory-identity-layer/identity/internal/load"
	"github.com/ory-identity-layer/identity/internal/load/fakeory"
)

func fakeServer(t *testing.T) *fakeory.Server {
	t.Helper()
	s := fakeory.New()
	t.Cleanup(s.Close)
	return s
}

func configFor(s *fakeory.Server, services ...string) load.Config {
	return load.Config{
		Services:  services,
		Duration:  time.Second,
		ReadRatio: 0.7,
		Endpoints: load.Endpoints{
			HydraAdminURL: s.URL, HydraPublicURL: s.URL, KratosAdminURL: s.URL,
			KratosPublicURL: s.URL, KetoReadURL: s.URL, KetoWriteURL: s.URL,
		},
	}
}

func runLoad(t *testing.T, cfg load.Config) *load.Report {
	t.Helper()
	r, err := load.NewRunner(cfg)
	require.NoError(t, err)
	rep, err := r.Run(context.Background())
	require.NoError(t, err)
	return rep
}

// checkConsistent asserts the invariants every operation report must hold.
func checkConsistent(t *testing.T, rep *load.Report) {
	t.Helper()
	for _, o := range rep.Operations {
		var codes int64
		for _, n := range o.StatusCodes {
			codes += n
		}
		assert.Equal(t, o.Requests, codes, "%s: status codes must add up to requests", o.Name)
		assert.Equal(t, o.Requests, o.OK+o.Failed, o.Name)
		var kept int64
		for _, e := range o.Errors {
			kept += e.Count
		}
		assert.Equal(t, o.Failed, kept+o.ErrorsDropped, "%s: every failure is counted", o.Name)
		if o.OK == 0 {
			continue
		}
		l := o.Latency
		ordered := []time.Duration{l.Min, l.P50, l.P90, l.P95, l.P99, l.Max}
		for i := 1; i < len(ordered); i++ {
			assert.LessOrEqual(t, ordered[i-1], ordered[i], "%s: percentiles in order", o.Name)
		}
		assert.LessOrEqual(t, l.Min, l.Mean, o.Name)
		assert.LessOrEqual(t, l.Mean, l.Max, o.Name)
		assert.InDelta(t, float64(o.OK)/rep.Elapsed.Seconds(), o.Throughput, 0.01, o.Name)
	}
}

func TestRunner_ClosedModelDrivesEveryOperation(t *testing.T) {
	s := fakeServer(t)
	cfg := configFor(s, load.Hydra, load.Kratos, load.Keto)
	cfg.Verify = true
	rep := runLoad(t, cfg)

	assert.Equal(t, load.Closed, rep.Model)
	checkConsistent(t, rep)
	for _, o := range rep.Operations {
		assert.Positive(t, o.Requests, "%s never ran", o.Name)
		assert.Equal(t, 1.0, o.SuccessRatio, "%s: %+v", o.Name, o.Errors)
	}
	denied, ok := rep.Op(load.OpKetoCheckDenied)
	require.True(t, ok)
	assert.Equal(t, denied.Requests, denied.StatusCodes["403"], "403 is a denial, not an error")

	require.NotNil(t, rep.Verify)
	assert.True(t, rep.Verify.OK(), rep.Verify.Summary())
	for _, v := range rep.Verify.Services {
		assert.Positive(t, v.Found, v.Service)
		assert.Equal(t, v.Checked, v.Found+v.Skipped, v.Service)
	}
	hydra, _ := rep.Op(load.OpHydraToken)
	assert.Equal(t, hydra.OK, rep.Verify.Services[0].Checked, "every issued token is verified")
}

func TestRunner_OpenModel(t *testing.T) {
	tests := []struct {
		name       string
		delay      time.Duration
		rate       float64
		wantMissed bool
	}{
		{name: "keeps up", rate: 40},
		{
			name: "saturated counts missed", delay: 100 * time.Millisecond, rate: 100,
			wantMissed: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := fakeServer(t)
			s.SetFaults(fakeory.Faults{Delay: tt.delay})
			cfg := configFor(s, load.Keto)
			cfg.Model, cfg.Rate, cfg.Concurrency = load.Open, tt.rate, 2
			rep := runLoad(t, cfg)

			checkConsistent(t, rep)
			require.Len(t, rep.Schedules, 1)
			sch := rep.Schedules[0]
			assert.Equal(t, sch.Scheduled, sch.Started+sch.Missed)
			requests, _ := rep.Totals()
			assert.Equal(t, sch.Started, requests, "every started operation is recorded")
			assert.InDelta(t, tt.rate*cfg.Duration.Seconds(), float64(sch.Scheduled),
				tt.rate*0.2)
			if tt.wantMissed {
				assert.Positive(t, sch.Missed)
			} else {
				// A worker that the race detector or a busy machine holds up for a whole
				// interval misses a beat; a generator that keeps up misses almost none.
				assert.LessOrEqual(t, sch.Missed, sch.Scheduled/20)
			}
		})
	}
}

func TestRunner_KeepsABoundedSetOfErrors(t *testing.T) {
	s := fakeServer(t)
	s.SetFaults(fakeory.Faults{FailEvery: 3})
	cfg := configFor(s, load.Keto)
	cfg.MaxErrors = 2
	rep := runLoad(t, cfg)

	checkConsistent(t, rep)
	_, failed := rep.Totals()
	require.Positive(t, failed)
	var dropped int64
	for _, o := range rep.Operations {
		assert.LessOrEqual(t, len(o.Errors), 2, o.Name)
		dropped += o.ErrorsDropped
		if o.Failed > 0 {
			assert.Positive(t, o.StatusCodes["500"], o.Name)
			assert.NotNil(t, o.FirstError)
		}
	}
	assert.Positive(t, dropped, "distinct messages past the cap are counted as dropped")
}

func TestRunner_VerifyReportsLostWrites(t *testing.T) {
	s := fakeServer(t)
	s.SetFaults(fakeory.Faults{ForgetTuples: true})
	cfg := configFor(s, load.Keto)
	cfg.Verify, cfg.ReadRatio = true, 0
	rep := runLoad(t, cfg)

	require.NotNil(t, rep.Verify)
	assert.False(t, rep.Verify.OK())
	keto := rep.Verify.Services[0]
	assert.Equal(t, keto.Checked, keto.Lost)
	assert.Positive(t, keto.Lost)
	assert.LessOrEqual(t, len(keto.Missing), 20)
	assert.Equal(t, keto.Lost, int64(len(keto.Missing))+keto.MissingDropped)
	assert.Contains(t, keto.Missing[0], "denied")
}

func TestRunner_LookupNoticesAnIgnoredFilter(t *testing.T) {
	s := fakeServer(t)
	s.SetFaults(fakeory.Faults{IgnoreFilter: true})
	cfg := configFor(s, load.Kratos)
	cfg.ReadRatio = 0.9
	rep := runLoad(t, cfg)

	lookup, ok := rep.Op(load.OpKratosLookup)
	require.True(t, ok)
	require.Positive(t, lookup.Failed, "with two or more identities the filter must show")
	assert.Contains(t, lookup.Errors[0].Message, "the filter was not applied")
}

func TestRunner_MarksShowTheErrorWindow(t *testing.T) {
	s := fakeServer(t)
	cfg := configFor(s, load.Keto)
	cfg.Duration = 1500 * time.Millisecond
	r, err := load.NewRunner(cfg)
	require.NoError(t, err)

	go func() {
		time.Sleep(500 * time.Millisecond)
		r.Mark("outage")
		s.SetFaults(fakeory.Faults{Down: true})
		time.Sleep(300 * time.Millisecond)
		s.SetFaults(fakeory.Faults{})
		r.Mark("recovered")
	}()
	rep, err := r.Run(context.Background())
	require.NoError(t, err)

	first, last, ok := rep.ErrorWindow("outage")
	require.True(t, ok)
	assert.GreaterOrEqual(t, first, time.Duration(0), "no error before the outage")
	assert.Less(t, last, 500*time.Millisecond)
	_, lastAfter, _ := rep.ErrorWindow("recovered")
	assert.Less(t, lastAfter, 500*time.Millisecond, "errors stop once the server is back")
	write, _ := rep.Op(load.OpKetoWrite)
	assert.Positive(t, write.StatusCodes["503"])
	assert.Greater(t, *write.LastSuccess, *write.LastError, "successes after the outage")
}

func TestRunner_StopEndsAnOpenEndedRun(t *testing.T) {
	s := fakeServer(t)
	cfg := configFor(s, load.Hydra)
	cfg.Duration = 0
	r, err := load.NewRunner(cfg)
	require.NoError(t, err)
	time.AfterFunc(300*time.Millisecond, r.Stop)

	began := time.Now()
	rep, err := r.Run(context.Background())
	require.NoError(t, err)
	assert.Less(t, time.Since(began), 5*time.Second)
	assert.True(t, r.Progress().Done)
	requests, _ := rep.Totals()
	assert.Positive(t, requests)
}

func TestRunner_CancelledContextAbortsWithoutRecordingAborts(t *testing.T) {
	s := fakeServer(t)
	s.SetFaults(fakeory.Faults{Delay: 50 * time.Millisecond})
	cfg := configFor(s, load.Keto)
	cfg.Duration = time.Minute
	r, err := load.NewRunner(cfg)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 400*time.Millisecond)
	defer cancel()

	rep, err := r.Run(ctx)
	require.Error(t, err)
	require.NotNil(t, rep)
	_, failed := rep.Totals()
	assert.Zero(t, failed, "operations cut by the abort are not server failures")
}

func TestRunner_SetupFailureIsAnError(t *testing.T) {
	s := fakeServer(t)
	s.SetFaults(fakeory.Faults{Down: true})
	r, err := load.NewRunner(configFor(s, load.Hydra))
	require.NoError(t, err)
	_, err = r.Run(context.Background())
	require.Error(t, err)
	assert.True(t, strings.HasPrefix(err.Error(), "setting up hydra: creating oauth2 client"),
		err.Error())
	assert.Contains(t, err.Error(), "status 503: service unavailable")
}
