package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/ory-identity-layer/identity/internal/load"
	"github.com/ory-identity-layer/identity/internal/localstack"
	"github.com/ory-identity-layer/identity/internal/smoke"
)

// options is everything the command line and the config file say.
type options struct {
	cfg      load.Config
	local    load.Local
	useLocal bool
	restarts []load.Restart
	dryRun   bool
	asJSON   bool
	out      string
	progress time.Duration
	quiet    bool
}

// parseArgs builds the options: defaults, then the environment's endpoints, then the file
// named by --config, then every flag given. It returns flag.ErrHelp for -h.
func parseArgs(args []string, stderr io.Writer, getenv func(string) string) (options, error) {
	o := options{cfg: load.Config{
		Services:  load.Services,
		ReadRatio: load.DefaultReadRatio,
		Endpoints: load.EndpointsFromEnv(getenv),
	}}
	if path := configPath(args); path != "" {
		f, err := load.ReadFile(path)
		if err != nil {
			return o, err
		}
		if o.cfg, err = f.Apply(o.cfg); err != nil {
			return o, fmt.Errorf("config file %s: %w", path, err)
		}
		o.local = f.Local
	}

	fs := newFlagSet(&o, stderr)
	if err := fs.Parse(args); err != nil {
		return o, fmt.Errorf("parsing flags: %w", err)
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if len(o.restarts) > 0 && !o.useLocal {
		return o, errors.New("--restart needs --local: only the local stack can be restarted")
	}
	return o, nil
}

// configPath finds --config before the other flags are parsed, because the file's values are
// the defaults the flags override.
func configPath(args []string) string {
	for i, a := range args {
		name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !strings.HasPrefix(a, "-") || name != "config" {
			continue
		}
		if hasValue {
			return value
		}
		if i+1 < len(args) {
			return args[i+1]
		}
	}
	return ""
}

func newFlagSet(o *options, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c := &o.cfg
	fs.String("config", "", "YAML config file; flags given on the command line win over it")
	fs.Func("services", "comma-separated subset of hydra,kratos,keto, run at the same time "+
		"(default all three)", func(v string) error {
		c.Services = splitList(v)
		return nil
	})
	fs.StringVar(&c.Model, "model", orDefault(c.Model, load.Closed),
		"load model: closed (fixed workers) or open (fixed rate)")
	fs.IntVar(&c.Concurrency, "concurrency", orDefault(c.Concurrency, load.DefaultConcurrency),
		"workers per service; in the open model the most operations in flight")
	fs.Float64Var(&c.Rate, "rate", c.Rate, "open model: operations per second per service")
	fs.DurationVar(&c.Duration, "duration", c.Duration,
		"how long to offer load; 0 runs until Ctrl-C")
	fs.Float64Var(&c.ReadRatio, "read-ratio", c.ReadRatio, "share of reads, 0 to 1")
	fs.DurationVar(&c.Timeout, "timeout", orDefault(c.Timeout, load.DefaultTimeout),
		"time limit of one operation")
	fs.BoolVar(&c.Verify, "verify", c.Verify,
		"after the load, read back every acknowledged write")
	fs.IntVar(&c.HydraClients, "hydra-clients", orDefault(c.HydraClients,
		load.DefaultHydraClients), "OAuth2 clients created for the run")
	fs.StringVar(&c.KetoNamespace, "keto-namespace", orDefault(c.KetoNamespace,
		load.DefaultKetoNamespace), "Keto namespace the tuples are written to")
	fs.IntVar(&c.MaxErrors, "max-errors", orDefault(c.MaxErrors, load.DefaultMaxErrors),
		"distinct error messages kept per operation")
	fs.StringVar(&c.RunID, "run-id", c.RunID, "prefix of the names created; default random")
	endpointFlags(fs, &c.Endpoints)
	localFlags(fs, o)

	fs.BoolVar(&o.dryRun, "dry-run", false, "print the plan and send nothing")
	fs.BoolVar(&o.asJSON, "json", false, "print the report as JSON instead of a table")
	fs.StringVar(&o.out, "out", "", "also write the JSON report to this file")
	fs.DurationVar(&o.progress, "progress-every", 10*time.Second,
		"interval of the progress lines when stderr is not a terminal")
	fs.BoolVar(&o.quiet, "quiet", false, "no progress bar or lines")
	return fs
}

func endpointFlags(fs *flag.FlagSet, e *load.Endpoints) {
	for _, f := range []struct {
		name, env string
		dst       *string
	}{
		{"hydra-admin-url", smoke.EnvHydraAdminURL, &e.HydraAdminURL},
		{"hydra-public-url", smoke.EnvHydraPublicURL, &e.HydraPublicURL},
		{"kratos-admin-url", smoke.EnvKratosAdminURL, &e.KratosAdminURL},
		{"kratos-public-url", smoke.EnvKratosPublicURL, &e.KratosPublicURL},
		{"keto-read-url", smoke.EnvKetoReadURL, &e.KetoReadURL},
		{"keto-write-url", smoke.EnvKetoWriteURL, &e.KetoWriteURL},
	} {
		fs.StringVar(f.dst, f.name, *f.dst, "base URL (env "+f.env+")")
	}
}

func localFlags(fs *flag.FlagSet, o *options) {
	l := &o.local
	fs.BoolVar(&o.useLocal, "local", false,
		"start the local stack (PostgreSQL and the real servers) and load it")
	fs.StringVar(&l.Profile, "local-profile", orDefault(l.Profile, load.ProfileShipped),
		"local stack configuration: shipped (this project's) or tutorial (Ory's defaults)")
	fs.StringVar(&l.KratosHasher, "local-kratos-hasher", l.KratosHasher,
		"override the profile's Kratos hasher: bcrypt or argon2")
	fs.IntVar(&l.BcryptCost, "local-bcrypt-cost", l.BcryptCost, "override the bcrypt cost")
	fs.IntVar(&l.Argon2MemoryMiB, "local-argon2-memory-mib", l.Argon2MemoryMiB,
		"override argon2id's memory in MiB")
	fs.IntVar(&l.Argon2Iterations, "local-argon2-iterations", l.Argon2Iterations,
		"override argon2id's iterations")
	fs.Func("local-max-conns", "override every server's max_conns (0: server default)",
		intPointer(&l.MaxConns))
	fs.Func("local-max-idle-conns", "override every server's max_idle_conns",
		intPointer(&l.MaxIdleConns))
	fs.StringVar(&l.HydraTokenStrategy, "local-hydra-token-strategy", l.HydraTokenStrategy,
		"override Hydra's access token strategy: opaque or jwt")
	fs.Func("restart", "with --local: restart NAME (postgres, hydra, kratos, keto) at OFFSET "+
		"after the load starts, as NAME@OFFSET such as postgres@10s; repeatable",
		func(v string) error {
			r, err := parseRestart(v)
			o.restarts = append(o.restarts, r)
			return err
		})
}

func parseRestart(v string) (load.Restart, error) {
	name, at, ok := strings.Cut(v, "@")
	d, err := time.ParseDuration(at)
	valid := map[string]bool{
		localstack.Postgres: true, string(localstack.Hydra): true,
		string(localstack.Kratos): true, string(localstack.Keto): true,
	}
	if !ok || err != nil || d < 0 || !valid[name] {
		return load.Restart{}, fmt.Errorf("got %q; want NAME@OFFSET with NAME postgres, "+
			"hydra, kratos or keto, such as postgres@10s", v)
	}
	return load.Restart{Target: name, At: d}, nil
}

func intPointer(dst **int) func(string) error {
	return func(v string) error {
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("got %q; want an integer", v)
		}
		*dst = &n
		return nil
	}
}

func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}
