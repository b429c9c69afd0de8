// Command smoke checks a running Ory Hydra, Kratos and Keto deployment with the flows of the
// tutorial's test section and prints one table of results (or JSON with --json). It exits 1 when
// any check failed and 2 on bad usage.
//
// The server URLs come from the environment variables the tutorial exports (HYDRA_ADMIN_URL,
// HYDRA_PUBLIC_URL, KRATOS_ADMIN_URL, KRATOS_PUBLIC_URL, KETO_READ_REMOTE, KETO_WRITE_REMOTE and
// optionally HYDRA_ISSUER); flags override them.
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

	"github.com/ory-identity-layer/identity/internal/smoke"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

// run parses args, runs the checks and prints the report to stdout. It returns the exit code.
func run(
	ctx context.Context,
	args []string,
	stdout, stderr io.Writer,
	getenv func(string) string,
) int {
	cfg := smoke.FromEnv(getenv)
	fs := flag.NewFlagSet("smoke", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.HydraAdminURL, "hydra-admin-url", cfg.HydraAdminURL,
		"Hydra admin API base URL (env "+smoke.EnvHydraAdminURL+")")
	fs.StringVar(&cfg.HydraPublicURL, "hydra-public-url", cfg.HydraPublicURL,
		"Hydra public API base URL (env "+smoke.EnvHydraPublicURL+")")
	fs.StringVar(&cfg.HydraIssuer, "hydra-issuer", cfg.HydraIssuer,
		"issuer tokens must carry; default the public URL (env "+smoke.EnvHydraIssuer+")")
	fs.StringVar(&cfg.KratosAdminURL, "kratos-admin-url", cfg.KratosAdminURL,
		"Kratos admin API base URL (env "+smoke.EnvKratosAdminURL+")")
	fs.StringVar(&cfg.KratosPublicURL, "kratos-public-url", cfg.KratosPublicURL,
		"Kratos public API base URL (env "+smoke.EnvKratosPublicURL+")")
	fs.StringVar(&cfg.KetoReadURL, "keto-read-url", cfg.KetoReadURL,
		"Keto read API base URL (env "+smoke.EnvKetoReadURL+")")
	fs.StringVar(&cfg.KetoWriteURL, "keto-write-url", cfg.KetoWriteURL,
		"Keto write API base URL (env "+smoke.EnvKetoWriteURL+")")
	fs.StringVar(&cfg.KetoNamespace, "keto-namespace", smoke.DefaultNamespace,
		"Keto namespace the tuple is written to")
	fs.DurationVar(&cfg.Timeout, "timeout", 15*time.Second, "time limit of each check")
	fs.StringVar(&cfg.RunID, "run-id", "", "suffix of the test data names; default random")
	asJSON := fs.Bool("json", false, "print the report as JSON instead of a table")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "smoke: unexpected arguments %q\n", fs.Args())
		return 2
	}
	if cfg.Timeout <= 0 {
		fmt.Fprintln(stderr, "smoke: --timeout must be positive")
		return 2
	}
	if err := cfg.Validate(); err != nil {
		fmt.Fprintf(stderr, "smoke: %v\n", err)
		return 2
	}

	log := slog.New(slog.NewTextHandler(stderr, nil))
	log.Info("smoke config",
		"hydra_admin_url", cfg.HydraAdminURL, "hydra_public_url", cfg.HydraPublicURL,
		"hydra_issuer", cfg.HydraIssuer,
		"kratos_admin_url", cfg.KratosAdminURL, "kratos_public_url", cfg.KratosPublicURL,
		"keto_read_url", cfg.KetoReadURL, "keto_write_url", cfg.KetoWriteURL,
		"keto_namespace", cfg.KetoNamespace, "timeout", cfg.Timeout)

	report := smoke.Run(ctx, cfg)
	write := report.WriteTable
	if *asJSON {
		write = report.WriteJSON
	}
	if err := write(stdout); err != nil {
		log.Error("printing report", "err", err)
		return 1
	}
	if !report.OK() {
		return 1
	}
	return 0
}
