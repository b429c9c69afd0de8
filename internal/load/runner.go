package load

import (
	"context"
	crand "crypto/rand"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// workload is the traffic of one service.
type workload interface {
	// ops names the operations, in report order.
	ops() []string
	// setup prepares what the load needs (Hydra's clients); it is not measured.
	setup(ctx context.Context) error
	// step runs one operation due at due: a read when read is true and there is something to
	// read, else a write.
	step(ctx context.Context, due time.Time, read bool)
	// verify reads back every acknowledged write.
	verify(ctx context.Context, v *verifier) VerifyService
	// untracked counts acknowledged writes past the tracking cap.
	untracked() int64
	// teardown removes what setup created.
	teardown(ctx context.Context) error
}

// Runner runs one load test. Create it with NewRunner, then call Run once. Stop, Mark and
// Progress may be called from other goroutines while Run runs.
type Runner struct {
	cfg    Config
	client *http.Client
	groups func() map[string]int

	stop     chan struct{}
	stopOnce sync.Once

	mu      sync.Mutex
	start   time.Time
	marks   []Mark
	stats   map[string]*opStats
	ordered []*opStats
	prog    progress
	ended   atomic.Bool
}

// Option adjusts a Runner.
type Option func(*Runner)

// WithHTTPClient sends every request through hc instead of the Runner's own client.
func WithHTTPClient(hc *http.Client) Option {
	return func(r *Runner) { r.client = hc }
}

// WithProcessGroups measures the CPU time of these process groups during the load, beside this
// process's own. groups is called at the start and at the end of the load; it maps a name to a
// process group id, as localstack.Stack.ProcessGroups does.
func WithProcessGroups(groups func() map[string]int) Option {
	return func(r *Runner) { r.groups = groups }
}

// NewRunner validates cfg after applying its defaults and returns a Runner.
func NewRunner(cfg Config, opts ...Option) (*Runner, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("invalid load config: %w", err)
	}
	r := &Runner{cfg: cfg, stop: make(chan struct{}), stats: map[string]*opStats{}}
	for _, o := range opts {
		o(r)
	}
	if r.client == nil {
		r.client = newHTTPClient(cfg.Concurrency * len(cfg.Services))
	}
	return r, nil
}

// Config returns the configuration the runner uses, defaults applied.
func (r *Runner) Config() Config { return r.cfg }

// newHTTPClient keeps enough idle connections for every worker, so that the load measures the
// servers rather than TCP handshakes. Per-operation timeouts come from the context.
func newHTTPClient(workers int) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 4 * workers
	t.MaxIdleConnsPerHost = 2 * workers
	t.DisableCompression = true
	return &http.Client{Transport: t}
}

// Stop ends the load phase early; verification, when configured, still runs. It is safe to
// call more than once and before Run.
func (r *Runner) Stop() {
	r.stopOnce.Do(func() { close(r.stop) })
}

// Mark notes an event, such as a restart, at the current offset from the start of the load.
// The report shows the error window relative to each mark.
func (r *Runner) Mark(name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.marks = append(r.marks, Mark{Name: name, At: time.Since(r.start)})
}

// Progress is a snapshot of a running load.
type Progress struct {
	Elapsed  time.Duration
	Requests int64
	Failed   int64
	// Done is true once the load phase ended; verification may still run.
	Done bool
}

// Progress returns the counts so far; zero before the load starts.
func (r *Runner) Progress() Progress {
	r.mu.Lock()
	start := r.start
	r.mu.Unlock()
	if start.IsZero() {
		return Progress{}
	}
	return Progress{
		Elapsed:  time.Since(start),
		Requests: r.prog.requests.Load(),
		Failed:   r.prog.failed.Load(),
		Done:     r.ended.Load(),
	}
}

// Run sets up, offers the load until Config.Duration passes or Stop is called, verifies when
// configured, and cleans up. Failed operations are in the report, not in the error: Run fails
// only when setup fails or ctx ends. Cancelling ctx aborts operations in flight.
func (r *Runner) Run(ctx context.Context) (*Report, error) {
	loads := r.workloads()
	defer r.teardown(loads)
	if err := r.setup(ctx, loads); err != nil {
		return nil, err
	}

	report := r.offer(ctx, loads)
	if err := ctx.Err(); err != nil {
		return report, fmt.Errorf("load interrupted: %w", err)
	}
	if !r.cfg.Verify {
		return report, nil
	}
	report.Verify = r.verify(ctx, loads)
	if err := ctx.Err(); err != nil {
		return report, fmt.Errorf("verification interrupted: %w", err)
	}
	return report, nil
}

func (r *Runner) workloads() map[string]workload {
	loads := map[string]workload{}
	for _, svc := range r.cfg.Services {
		switch svc {
		case Hydra:
			loads[svc] = newHydraLoad(r)
		case Kratos:
			loads[svc] = newKratosLoad(r)
		case Keto:
			loads[svc] = newKetoLoad(r)
		}
	}
	return loads
}

func (r *Runner) setup(ctx context.Context, loads map[string]workload) error {
	for _, svc := range r.cfg.Services {
		if err := loads[svc].setup(ctx); err != nil {
			return fmt.Errorf("setting up %s: %w", svc, err)
		}
	}
	return nil
}

// teardown removes what setup created, with a context of its own so that it also runs after
// an interrupt. A failure is only reported in the log of the caller's choosing: the report
// stays valid.
func (r *Runner) teardown(loads map[string]workload) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, l := range loads {
		_ = l.teardown(ctx)
	}
}

// offer runs the load phase and builds the report.
func (r *Runner) offer(ctx context.Context, loads map[string]workload) *Report {
	r.begin(loads)
	cpuStart := sampleCPU(r.groupIDs())

	loadCtx, cancel := r.loadContext(ctx)
	defer cancel()
	schedules := make([]Schedule, len(r.cfg.Services))
	var wg sync.WaitGroup
	for i, svc := range r.cfg.Services {
		wg.Go(func() {
			if r.cfg.Model == Open {
				schedules[i] = r.runOpen(ctx, loadCtx, svc, loads[svc])
				return
			}
			r.runClosed(ctx, loadCtx, loads[svc])
		})
	}
	wg.Wait()
	r.ended.Store(true)

	elapsed := time.Since(r.start)
	report := r.report(elapsed, loads)
	report.CPU = cpuUsage(cpuStart, sampleCPU(r.groupIDs()), elapsed)
	if r.cfg.Model == Open {
		report.Schedules = schedules
	}
	return report
}

// begin creates the statistics and starts the clock.
func (r *Runner) begin(loads map[string]workload) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.start = time.Now()
	for _, svc := range r.cfg.Services {
		for _, op := range loads[svc].ops() {
			s := newOpStats(op, r.start, r.cfg.MaxErrors)
			r.stats[op] = s
			r.ordered = append(r.ordered, s)
		}
	}
}

// loadContext ends at the configured duration, at Stop, or with ctx.
func (r *Runner) loadContext(ctx context.Context) (context.Context, context.CancelFunc) {
	var loadCtx context.Context
	var cancel context.CancelFunc
	if r.cfg.Duration > 0 {
		loadCtx, cancel = context.WithDeadline(ctx, r.start.Add(r.cfg.Duration))
	} else {
		loadCtx, cancel = context.WithCancel(ctx)
	}
	go func() {
		select {
		case <-r.stop:
			cancel()
		case <-loadCtx.Done():
		}
	}()
	return loadCtx, cancel
}

// runClosed runs Concurrency workers back to back until loadCtx ends. Operations in flight
// then finish under ctx.
func (r *Runner) runClosed(ctx, loadCtx context.Context, w workload) {
	var wg sync.WaitGroup
	for range r.cfg.Concurrency {
		wg.Go(func() {
			for loadCtx.Err() == nil {
				w.step(ctx, time.Now(), r.pickRead())
			}
		})
	}
	wg.Wait()
}

// runOpen schedules operations at Rate per second and hands each to an idle worker. An
// operation that finds no idle worker before the next one is due is missed: it is counted
// and never sent. Latency counts from the scheduled time, so a late start shows.
func (r *Runner) runOpen(ctx, loadCtx context.Context, svc string, w workload) Schedule {
	due := make(chan time.Time)
	var wg sync.WaitGroup
	for range r.cfg.Concurrency {
		wg.Go(func() {
			for at := range due {
				w.step(ctx, at, r.pickRead())
			}
		})
	}

	s := Schedule{Service: svc}
	interval := time.Duration(float64(time.Second) / r.cfg.Rate)
	timer := time.NewTimer(0)
	defer timer.Stop()
	for next := r.start; ; next = next.Add(interval) {
		timer.Reset(time.Until(next))
		select {
		case <-loadCtx.Done():
			close(due)
			wg.Wait()
			return s
		case <-timer.C:
		}
		s.Scheduled++
		timer.Reset(time.Until(next.Add(interval)))
		select {
		case due <- next:
			s.Started++
		case <-timer.C:
			s.Missed++
		case <-loadCtx.Done():
			s.Scheduled--
		}
	}
}

func (r *Runner) pickRead() bool {
	return rand.Float64() < r.cfg.ReadRatio
}

// do runs one operation due at due and records it under op. An attempt cut short because
// ctx ended (an abort, not a server's doing) is not recorded.
func (r *Runner) do(ctx context.Context, op string, due time.Time,
	fn func(ctx context.Context) (int, error),
) error {
	opCtx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
	defer cancel()
	status, err := fn(opCtx)
	latency := time.Since(due)
	if err != nil && ctx.Err() != nil {
		return err
	}
	r.stats[op].record(outcome{status: status, err: err, began: due, latency: latency})
	r.prog.requests.Add(1)
	if err != nil {
		r.prog.failed.Add(1)
	}
	return err
}

func (r *Runner) report(elapsed time.Duration, loads map[string]workload) *Report {
	r.mu.Lock()
	defer r.mu.Unlock()
	rep := &Report{
		RunID: r.cfg.RunID, Model: r.cfg.Model, Services: slices.Clone(r.cfg.Services),
		Concurrency: r.cfg.Concurrency, Rate: r.cfg.Rate, ReadRatio: r.cfg.ReadRatio,
		StartedAt: r.start.UTC(), Elapsed: elapsed, Marks: slices.Clone(r.marks),
	}
	for _, s := range r.ordered {
		rep.Operations = append(rep.Operations, s.report(elapsed))
	}
	for svc, l := range loads {
		if n := l.untracked(); n > 0 {
			if rep.Untracked == nil {
				rep.Untracked = map[string]int64{}
			}
			rep.Untracked[svc] = n
		}
	}
	return rep
}

func (r *Runner) groupIDs() map[string]int {
	if r.groups == nil {
		return nil
	}
	return r.groups()
}

// newRunID returns 8 random lowercase characters.
func newRunID() string {
	return strings.ToLower(crand.Text()[:8])
}
