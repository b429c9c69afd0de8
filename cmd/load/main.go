// Command load offers a mixed workload to Ory Hydra, Kratos and Keto and prints what it
// measured: per operation, throughput, success ratio, latency percentiles from an HDR
// histogram, status codes and distinct errors. With --verify it then reads back every write the
// servers acknowledged and reports lost=0 or what is missing.
//
// The servers' URLs come from the variables the smoke checker reads (HYDRA_ADMIN_URL,
// HYDRA_PUBLIC_URL, KRATOS_ADMIN_URL, KRATOS_PUBLIC_URL, KETO_READ_REMOTE, KETO_WRITE_REMOTE),
// from a YAML file (--config) or from flags, in that order of precedence, lowest first. With
// --local it starts the local stack itself and can restart its processes mid-run (--restart).
//
// The first Ctrl-C ends the load and still verifies and prints the report; a second one aborts.
// It exits 1 when the run failed or verification found writes lost or unverified, 2 on bad
// usage.
//
//	load compare LABEL=report.json[,report.json...] LABEL=... ...
//
// prints reports side by side (throughput and p99 per operation) as a Markdown table; several
// files under one label (separate runs of one service each) count as one report.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ory-identity-layer/identity/internal/load"
	"github.com/ory-identity-layer/identity/internal/localstack"
)

func main() {
	ctx, cancel := context.WithCancel(context.Background())
	interrupts := make(chan os.Signal, 2)
	signal.Notify(interrupts, os.Interrupt, syscall.SIGTERM)
	code := run(ctx, cancel, interrupts, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	cancel()
	os.Exit(code)
}

// run executes the command and returns its exit code. The first value from interrupts ends
// the load; the second calls abort.
func run(
	ctx context.Context,
	abort context.CancelFunc,
	interrupts <-chan os.Signal,
	args []string,
	stdout, stderr io.Writer,
	getenv func(string) string,
) int {
	if len(args) > 0 && args[0] == "compare" {
		return compare(args[1:], stdout, stderr)
	}
	o, err := parseArgs(args, stderr, getenv)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "load: %v\n", err)
		return 2
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))

	var local *load.LocalSettings
	if o.useLocal {
		s, err := o.local.Settings()
		if err == nil {
			err = s.Validate()
		}
		if err != nil {
			fmt.Fprintf(stderr, "load: %v\n", err)
			return 2
		}
		local = &s
	}
	if o.dryRun {
		return dryRun(o, local, stdout, stderr)
	}
	if err := validate(o); err != nil {
		fmt.Fprintf(stderr, "load: %v\n", err)
		return 2
	}
	return execute(ctx, abort, interrupts, o, local, stdout, stderr, log)
}

// validate checks the load config; with --local the endpoints are not known yet, so they are
// filled with placeholders for the check.
func validate(o options) error {
	cfg := o.cfg.WithDefaults()
	if o.useLocal {
		u := "http://127.0.0.1:1"
		cfg.Endpoints = load.Endpoints{
			HydraAdminURL: u, HydraPublicURL: u, KratosAdminURL: u,
			KratosPublicURL: u, KetoReadURL: u, KetoWriteURL: u,
		}
	}
	return cfg.Validate()
}

func dryRun(o options, local *load.LocalSettings, stdout, stderr io.Writer) int {
	if err := validate(o); err != nil {
		fmt.Fprintf(stderr, "load: %v\n", err)
		return 2
	}
	plan := load.NewPlan(o.cfg, local, o.restarts)
	write := plan.WriteTable
	if o.asJSON {
		write = plan.WriteJSON
	}
	if err := write(stdout); err != nil {
		fmt.Fprintf(stderr, "load: %v\n", err)
		return 1
	}
	return 0
}

func execute(
	ctx context.Context,
	abort context.CancelFunc,
	interrupts <-chan os.Signal,
	o options,
	local *load.LocalSettings,
	stdout, stderr io.Writer,
	log *slog.Logger,
) int {
	var stack *localstack.Stack
	var runOpts []load.Option
	if local != nil {
		var err error
		stack, err = startLocal(ctx, o, *local, log)
		if err != nil {
			log.Error("local stack did not start")
			fmt.Fprintf(stderr, "\n%v\n", err)
			return 1
		}
		defer closeLocal(stack, log)
		o.cfg.Endpoints = endpointsOf(stack)
		runOpts = append(runOpts, load.WithProcessGroups(stack.ProcessGroups))
	}

	runner, err := load.NewRunner(o.cfg, runOpts...)
	if err != nil {
		fmt.Fprintf(stderr, "load: %v\n", err)
		return 2
	}
	logConfig(log, runner.Config(), local, o.restarts)

	var side sync.WaitGroup
	sideCtx, stopSide := context.WithCancel(ctx)
	side.Go(func() { handleInterrupts(sideCtx, interrupts, runner, abort, log) })
	if !o.quiet {
		side.Go(func() { showProgress(sideCtx, runner, stderr, log, o.progress) })
	}
	for _, r := range o.restarts {
		side.Go(func() { injectRestart(sideCtx, stack, runner, r, log) })
	}

	report, runErr := runner.Run(ctx)
	stopSide()
	side.Wait()
	return finish(report, runErr, o, stdout, log)
}

func startLocal(
	ctx context.Context,
	o options,
	s load.LocalSettings,
	log *slog.Logger,
) (*localstack.Stack, error) {
	stack, err := localstack.Start(ctx, s.Options(o.cfg.Services, log))
	if err != nil {
		return nil, err
	}
	log.Info("local stack ready", "start_time", stack.StartTime.Round(time.Millisecond),
		"dir", stack.Dir)
	return stack, nil
}

func closeLocal(stack *localstack.Stack, log *slog.Logger) {
	if err := stack.Close(); err != nil {
		log.Error("stopping local stack", "err", err)
	}
}

func endpointsOf(stack *localstack.Stack) load.Endpoints {
	e := stack.Endpoints
	return load.Endpoints{
		HydraAdminURL: e.HydraAdminURL, HydraPublicURL: e.HydraPublicURL,
		KratosAdminURL: e.KratosAdminURL, KratosPublicURL: e.KratosPublicURL,
		KetoReadURL: e.KetoReadURL, KetoWriteURL: e.KetoWriteURL,
	}
}

func logConfig(
	log *slog.Logger,
	c load.Config,
	local *load.LocalSettings,
	restarts []load.Restart,
) {
	attrs := []any{
		"run_id", c.RunID, "services", strings.Join(c.Services, ","),
		"model", c.Model, "concurrency", c.Concurrency, "rate", c.Rate,
		"duration", c.Duration, "read_ratio", c.ReadRatio, "timeout", c.Timeout,
		"verify", c.Verify, "hydra_admin_url", c.Endpoints.HydraAdminURL,
		"hydra_public_url", c.Endpoints.HydraPublicURL,
		"kratos_admin_url", c.Endpoints.KratosAdminURL,
		"kratos_public_url", c.Endpoints.KratosPublicURL,
		"keto_read_url", c.Endpoints.KetoReadURL, "keto_write_url", c.Endpoints.KetoWriteURL,
	}
	if local != nil {
		attrs = append(attrs, "local_profile", local.Profile,
			"local_kratos_hasher", local.Hasher.Effective().Algorithm,
			"local_max_conns", local.MaxConns, "local_max_idle_conns", local.MaxIdleConns,
			"local_hydra_token_strategy", local.HydraTokenStrategy)
	}
	for _, r := range restarts {
		attrs = append(attrs, "restart", fmt.Sprintf("%s@%s", r.Target, r.At))
	}
	log.Info("load config", attrs...)
}

// handleInterrupts ends the load at the first signal and aborts at the second.
func handleInterrupts(
	ctx context.Context,
	interrupts <-chan os.Signal,
	r *load.Runner,
	abort context.CancelFunc,
	log *slog.Logger,
) {
	for n := 0; ; n++ {
		select {
		case <-ctx.Done():
			return
		case <-interrupts:
		}
		if n == 0 {
			log.Info("interrupted: ending the load; interrupt again to abort")
			r.Stop()
			continue
		}
		log.Info("interrupted again: aborting")
		abort()
		return
	}
}

// injectRestart restarts one local process at its offset from the start of the load and marks
// the report before and after.
func injectRestart(
	ctx context.Context,
	stack *localstack.Stack,
	r *load.Runner,
	restart load.Restart,
	log *slog.Logger,
) {
	for r.Progress().Elapsed < restart.At {
		select {
		case <-ctx.Done():
			return
		case <-time.After(50 * time.Millisecond):
		}
	}
	r.Mark(restart.Target + "-restart")
	log.Info("restarting", "target", restart.Target)
	if err := stack.Restart(ctx, restart.Target); err != nil {
		log.Error("restart failed", "target", restart.Target, "err", err)
		return
	}
	r.Mark(restart.Target + "-ready")
}

func finish(report *load.Report, runErr error, o options, stdout io.Writer, log *slog.Logger) int {
	if report == nil {
		log.Error("load run failed", "err", runErr)
		return 1
	}
	if o.out != "" {
		if err := writeFile(o.out, report.WriteJSON); err != nil {
			log.Error("writing report file", "err", err)
			return 1
		}
	}
	write := report.WriteTable
	if o.asJSON {
		write = report.WriteJSON
	}
	if err := write(stdout); err != nil {
		log.Error("printing report", "err", err)
		return 1
	}
	if runErr != nil {
		log.Error("load run ended early", "err", runErr)
		return 1
	}
	if report.Verify != nil && !report.Verify.OK() {
		log.Error("verification failed", "result", report.Verify.Summary())
		return 1
	}
	return 0
}

func writeFile(path string, write func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("creating %s: %w", path, err)
	}
	if err := write(f); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("closing %s: %w", path, err)
	}
	return nil
}

// readReports reads one report, or several runs of one configuration (one service each) as
// one report whose operations are all of theirs.
func readReports(paths []string) (*load.Report, error) {
	var merged *load.Report
	for _, p := range paths {
		r, err := load.ReadReport(p)
		if err != nil {
			return nil, err
		}
		if merged == nil {
			merged = r
			continue
		}
		merged.Services = append(merged.Services, r.Services...)
		merged.Operations = append(merged.Operations, r.Operations...)
		merged.CPU = append(merged.CPU, r.CPU...)
	}
	return merged, nil
}

// compare prints reports side by side. Each argument is LABEL=PATH[,PATH...].
func compare(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("load compare", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print the comparison as JSON")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	var labels []string
	var reports []*load.Report
	for _, a := range fs.Args() {
		label, paths, ok := strings.Cut(a, "=")
		if !ok {
			fmt.Fprintf(stderr, "load compare: got %q; want LABEL=report.json[,more.json]\n", a)
			return 2
		}
		r, err := readReports(strings.Split(paths, ","))
		if err != nil {
			fmt.Fprintf(stderr, "load compare: %v\n", err)
			return 1
		}
		labels, reports = append(labels, label), append(reports, r)
	}
	c, err := load.Compare(labels, reports)
	if err != nil {
		fmt.Fprintf(stderr, "load compare: %v\n", err)
		return 2
	}
	write := c.WriteTable
	if *asJSON {
		write = c.WriteJSON
	}
	if err := write(stdout); err != nil {
		fmt.Fprintf(stderr, "load compare: %v\n", err)
		return 1
	}
	return 0
}
