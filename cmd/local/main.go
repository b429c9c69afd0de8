// Command local runs Ory Hydra, Kratos and Keto on this machine against a throwaway PostgreSQL
// cluster, with the configuration infra/ory renders for the cloud stack, then runs the smoke
// checks against them and prints their table.
//
// By default it then prints the servers' URLs as export lines and keeps running until Ctrl-C.
// With --check-only it stops after the checks. Either way it stops every process and removes
// its temporary directory on exit, and exits 1 when the stack failed to start or a check failed.
//
// It needs PostgreSQL 15 (apt-get install postgresql-15) and the Ory binaries built by
// scripts/build-ory.sh.
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
	"syscall"
	"time"

	"github.com/ory-identity-layer/identity/internal/localstack"
	"github.com/ory-identity-layer/identity/internal/smoke"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var opts localstack.Options
	fs := flag.NewFlagSet("local", flag.ContinueOnError)
	fs.SetOutput(stderr)
	checkOnly := fs.Bool("check-only", false, "stop after the smoke checks instead of serving")
	asJSON := fs.Bool("json", false, "print the smoke report as JSON instead of a table")
	fs.BoolVar(&opts.KeepDir, "keep", false, "keep the temp dir (configs, logs, data) on exit")
	fs.StringVar(&opts.BinDir, "bin-dir", "",
		"directory of the Ory binaries (default $ORY_BIN_DIR or ~/.cache/identity-ory/bin)")
	fs.StringVar(&opts.PostgresBinDir, "pg-bin-dir", "",
		"directory of initdb, postgres and psql (default PATH, then /usr/lib/postgresql/15/bin)")
	fs.DurationVar(&opts.ReadyTimeout, "ready-timeout", 60*time.Second,
		"how long each server may take to report ready")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}

	log := slog.New(slog.NewTextHandler(stderr, nil))
	opts.Logger = log
	log.Info("local stack config", "bin_dir", orDefault(opts.BinDir, localstack.DefaultBinDir()),
		"hydra", localstack.HydraVersion, "kratos", localstack.KratosVersion,
		"keto", localstack.KetoVersion, "check_only", *checkOnly, "keep_dir", opts.KeepDir)

	stack, err := localstack.Start(ctx, opts)
	if err != nil {
		// The error spans lines (one per problem, server log tails), so it is printed as is
		// rather than quoted into a log attribute.
		log.Error("local stack did not start")
		fmt.Fprintf(stderr, "\n%v\n", err)
		return 1
	}
	defer func() {
		if err := stack.Close(); err != nil {
			log.Error("stopping local stack", "err", err)
		}
	}()
	log.Info("local stack ready", "start_time", stack.StartTime.Round(time.Millisecond),
		"dir", stack.Dir)

	e := stack.Endpoints
	report := smoke.Run(ctx, smoke.Config{
		HydraAdminURL: e.HydraAdminURL, HydraPublicURL: e.HydraPublicURL,
		HydraIssuer:    e.HydraIssuer,
		KratosAdminURL: e.KratosAdminURL, KratosPublicURL: e.KratosPublicURL,
		KetoReadURL: e.KetoReadURL, KetoWriteURL: e.KetoWriteURL,
	})
	write := report.WriteTable
	if *asJSON {
		write = report.WriteJSON
	}
	if err := write(stdout); err != nil {
		log.Error("printing report", "err", err)
		return 1
	}
	code := 0
	if !report.OK() {
		code = 1
	}
	if *checkOnly {
		return code
	}

	fmt.Fprintln(stdout)
	for _, v := range e.Env() {
		fmt.Fprintf(stdout, "export %s=%s\n", v.Name, v.Value)
	}
	log.Info("serving until interrupted; press Ctrl-C to stop")
	if err := stack.Wait(ctx); err != nil {
		log.Error("a server stopped", "err", err)
		return 1
	}
	return code
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
