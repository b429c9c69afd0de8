// Package localstack runs Ory Hydra, Kratos and Keto on this machine against a throwaway
// PostgreSQL cluster, with configuration rendered by infra/ory, so that the configuration the
// cloud stack deploys is proven with the real servers. cmd/local and the end-to-end tests use it.
//
// Everything listens on 127.0.0.1 on free ports and lives in one temporary directory that Close
// removes. PostgreSQL runs as the unprivileged user "postgres" when this process is root.
package localstack

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/ory-identity-layer/identity/infra/ory"
	"github.com/ory-identity-layer/identity/stacks"
)

// RequiredNamespaces are the Keto namespaces the smoke checks write to; Start refuses settings
// without them.
var RequiredNamespaces = []string{"documents"}

// Options configure Start. The zero value starts all three servers with this project's
// settings.
type Options struct {
	// Services to start. Optional; default AllServices. PostgreSQL always starts.
	Services []Service
	// BinDir holds the Ory binaries, named like hydra-v2.3.0. Optional; default DefaultBinDir.
	BinDir string
	// PostgresBinDir holds initdb, postgres and psql. Optional; default PATH, then Debian's
	// /usr/lib/postgresql/15/bin.
	PostgresBinDir string
	// ReadyTimeout bounds the wait for each server's /health/ready. Optional; default 60s.
	ReadyTimeout time.Duration
	// MigrateTimeout bounds each server's migrations. Optional; default 5m.
	MigrateTimeout time.Duration
	// Logger receives progress. Optional; default discards.
	Logger *slog.Logger
	// Hydra, Kratos and Keto adjust the typed settings before they are validated. Optional.
	Hydra  func(*ory.HydraSettings)
	Kratos func(*ory.KratosSettings)
	Keto   func(*ory.KetoSettings)
	// MutateConfig edits a rendered configuration after validation and before it is written,
	// bypassing validation. Tests use it to break a key and watch the real server react.
	// Optional.
	MutateConfig func(s Service, cfg map[string]any)
	// KeepDir leaves the temporary directory (configs, logs, database) after Close, for
	// debugging. Optional; default false.
	KeepDir bool
}

func (o Options) services() []Service {
	if len(o.Services) == 0 {
		return AllServices
	}
	return o.Services
}

// Endpoints are the URLs of the running servers. A service that was not started has empty URLs.
type Endpoints struct {
	HydraAdminURL   string `json:"hydra_admin_url"`
	HydraPublicURL  string `json:"hydra_public_url"`
	HydraIssuer     string `json:"hydra_issuer"`
	KratosAdminURL  string `json:"kratos_admin_url"`
	KratosPublicURL string `json:"kratos_public_url"`
	KetoReadURL     string `json:"keto_read_remote"`
	KetoWriteURL    string `json:"keto_write_remote"`
}

// EnvVar is one environment variable.
type EnvVar struct{ Name, Value string }

// Env returns the endpoints as the environment variables the tutorial and cmd/smoke use.
func (e Endpoints) Env() []EnvVar {
	return []EnvVar{
		{"HYDRA_ADMIN_URL", e.HydraAdminURL},
		{"HYDRA_PUBLIC_URL", e.HydraPublicURL},
		{"HYDRA_ISSUER", e.HydraIssuer},
		{"KRATOS_ADMIN_URL", e.KratosAdminURL},
		{"KRATOS_PUBLIC_URL", e.KratosPublicURL},
		{"KETO_READ_REMOTE", e.KetoReadURL},
		{"KETO_WRITE_REMOTE", e.KetoWriteURL},
	}
}

// Stack is a running local stack. Close stops it.
type Stack struct {
	// Endpoints are the servers' URLs.
	Endpoints Endpoints
	// Dir is the temporary directory holding configs, logs and the database.
	Dir string
	// StartTime is how long Start took, from the first action to every server ready.
	StartTime time.Duration

	opts Options
	log  *slog.Logger
	// mu guards pg.proc and servers, which a restart replaces.
	mu      sync.Mutex
	pg      *postgres
	servers []*process
	// started holds what each server was started with, in the order of servers, for restarts.
	started []*service

	closeOnce sync.Once
	closeErr  error
}

// service is the plan for one Ory server: its binary, ports and configuration.
type service struct {
	name       Service
	bin        string
	configPath string
	config     map[string]any
	serveArgs  []string
	migrate    []string
	readyURLs  []string
	password   string
	// dsn is the connection as rendered, after the Options hooks.
	dsn ory.DSN
}

// Start starts PostgreSQL and the requested servers and waits until all are ready. On error
// everything already started is stopped and removed. Cancelling ctx aborts the start.
func Start(ctx context.Context, opts Options) (*Stack, error) {
	began := time.Now()
	opts.ReadyTimeout = orDefault(opts.ReadyTimeout, 60*time.Second)
	opts.MigrateTimeout = orDefault(opts.MigrateTimeout, 5*time.Minute)
	opts.BinDir = orDefault(opts.BinDir, DefaultBinDir())
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}

	if err := CheckPrerequisites(opts); err != nil {
		return nil, err
	}
	tools, err := findPostgres(opts.PostgresBinDir)
	if err != nil {
		return nil, err
	}
	cred, err := postgresCredential()
	if err != nil {
		return nil, err
	}

	// If this process is killed with SIGKILL the children still die (see sysProcAttr), but
	// this directory stays behind under the system temp dir as identity-local-*.
	dir, err := os.MkdirTemp("", "identity-local-")
	if err != nil {
		return nil, fmt.Errorf("creating temp dir: %w", err)
	}
	// The postgres user must be able to reach its own subdirectory.
	if err := os.Chmod(dir, 0o711); err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("opening temp dir to postgres: %w", err)
	}
	s := &Stack{Dir: dir, opts: opts, log: log}

	if err := s.start(ctx, tools, cred); err != nil {
		return nil, errors.Join(err, s.Close())
	}
	s.StartTime = time.Since(began)
	return s, nil
}

func (s *Stack) start(ctx context.Context, tools pgTools, cred *syscall.Credential) error {
	ports, err := freePorts(1 + 2 + 2 + 4)
	if err != nil {
		return err
	}
	pgPort := ports[0]

	// Every configuration is rendered and validated before anything starts, so a bad setting
	// costs no database and no migration.
	plan, err := s.plan(pgPort, ports[1:])
	if err != nil {
		return err
	}

	s.log.Info("starting postgres", "port", pgPort, "dir", s.Dir, "initdb", tools.initdb)
	s.pg, err = startPostgres(ctx, tools, cred, filepath.Join(s.Dir, "postgres"), pgPort)
	if err != nil {
		return fmt.Errorf("starting postgres: %w", err)
	}
	for _, svc := range plan {
		if err := s.pg.createServiceDatabase(ctx, string(svc.name), svc.password); err != nil {
			return err
		}
	}

	if err := s.migrate(ctx, plan); err != nil {
		return err
	}
	return s.serve(ctx, plan)
}

// plan renders the configuration of every requested server. ports holds eight free ports.
func (s *Stack) plan(pgPort int, ports []int) ([]*service, error) {
	var plan []*service
	var errs []error
	for _, name := range s.opts.services() {
		svc := &service{
			name:       name,
			bin:        filepath.Join(s.opts.BinDir, string(name)+"-"+name.Version()),
			configPath: filepath.Join(s.Dir, string(name)+".yaml"),
			password:   randomPassword(),
		}
		dsn := localDSN(name, pgPort, svc.password)

		var err error
		switch name {
		case Hydra:
			err = s.planHydra(svc, dsn, ports[0], ports[1])
		case Kratos:
			err = s.planKratos(svc, dsn, ports[2], ports[3])
		case Keto:
			err = s.planKeto(svc, dsn, ports[4:8])
		default:
			err = fmt.Errorf("unknown service %q; want hydra, kratos or keto", name)
		}
		if err == nil {
			err = s.writeConfig(svc)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("rendering %s config: %w", name, err))
			continue
		}
		s.log.Info("rendered config", "service", name, "version", name.Version(),
			"path", svc.configPath, "dsn", svc.dsn.Redacted())
		plan = append(plan, svc)
	}
	return plan, errors.Join(errs...)
}

const loopback = "127.0.0.1"

func loopbackURL(port int) string {
	return "http://" + net.JoinHostPort(loopback, strconv.Itoa(port))
}

// localDSN is the connection of service name to the local cluster, as its own role.
//
// The local stack runs PostgreSQL, not CockroachDB: the servers take their PostgreSQL migrations
// here and their CockroachDB ones in the cloud, so only the cloud exercises the latter.
func localDSN(name Service, pgPort int, password string) ory.DSN {
	return ory.DSN{
		Engine: ory.EnginePostgres, Host: loopback, Port: pgPort, Database: string(name),
		User: string(name), Password: password,
		// sslmode=disable is allowed for loopback only; ory.DSN refuses it for any remote
		// host, which must use verify-full.
		SSLMode: ory.SSLDisable,
		// The pools the cloud stacks get by default, so the local proof runs the same settings.
		MaxConns:        stacks.DefaultMaxConns,
		MaxIdleConns:    stacks.DefaultMaxIdleConns,
		MaxConnLifetime: stacks.DefaultMaxConnLifetime,
	}
}

func (s *Stack) planHydra(svc *service, dsn ory.DSN, public, admin int) error {
	set := ory.HydraSettings{
		DSN: dsn, ListenHost: loopback, PublicPort: public, AdminPort: admin,
		Issuer:        loopbackURL(public),
		SystemSecrets: []string{randomSecret()}, CookieSecrets: []string{randomSecret()},
		Dev: true, LogFormat: "text",
	}
	if s.opts.Hydra != nil {
		s.opts.Hydra(&set)
	}
	svc.dsn = set.DSN
	var err error
	svc.config, err = ory.HydraConfig(set)
	svc.serveArgs = ory.HydraServeArgs(svc.configPath, set.Dev)
	svc.migrate = ory.HydraMigrateArgs(svc.configPath)
	svc.readyURLs = []string{loopbackURL(public), loopbackURL(admin)}
	s.Endpoints.HydraPublicURL, s.Endpoints.HydraAdminURL = svc.readyURLs[0], svc.readyURLs[1]
	s.Endpoints.HydraIssuer = set.Issuer
	return err
}

func (s *Stack) planKratos(svc *service, dsn ory.DSN, public, admin int) error {
	set := ory.KratosSettings{
		DSN: dsn, ListenHost: loopback, PublicPort: public, AdminPort: admin,
		PublicBaseURL:           loopbackURL(public) + "/",
		AdminBaseURL:            loopbackURL(admin) + "/",
		DefaultBrowserReturnURL: "http://127.0.0.1/home",
		DefaultSecrets:          []string{randomSecret()},
		CookieSecrets:           []string{randomSecret()},
		CipherSecrets:           []string{randomSecret()},
		Dev:                     true,
		LogFormat:               "text",
	}
	if s.opts.Kratos != nil {
		s.opts.Kratos(&set)
	}
	svc.dsn = set.DSN
	var err error
	svc.config, err = ory.KratosConfig(set)
	svc.serveArgs = ory.KratosServeArgs(svc.configPath, set.Dev, set.CourierSMTPURI != "")
	svc.migrate = ory.KratosMigrateArgs(svc.configPath)
	svc.readyURLs = []string{loopbackURL(public), loopbackURL(admin)}
	s.Endpoints.KratosPublicURL, s.Endpoints.KratosAdminURL = svc.readyURLs[0], svc.readyURLs[1]
	return err
}

// planKeto takes the read, write, metrics and OPL ports in that order.
func (s *Stack) planKeto(svc *service, dsn ory.DSN, ports []int) error {
	set := ory.KetoSettings{
		DSN: dsn, ListenHost: loopback,
		ReadPort: ports[0], WritePort: ports[1], MetricsPort: ports[2], OPLPort: ports[3],
		LogFormat: "text",
	}
	if s.opts.Keto != nil {
		s.opts.Keto(&set)
	}
	svc.dsn = set.DSN
	var err error
	svc.config, err = ory.KetoConfig(set)
	if err == nil {
		err = set.RequireNamespaces(RequiredNamespaces...)
	}
	svc.serveArgs = ory.KetoServeArgs(svc.configPath)
	svc.migrate = ory.KetoMigrateArgs(svc.configPath)
	svc.readyURLs = []string{loopbackURL(ports[0]), loopbackURL(ports[1])}
	s.Endpoints.KetoReadURL, s.Endpoints.KetoWriteURL = svc.readyURLs[0], svc.readyURLs[1]
	return err
}

// writeConfig applies the test hook, if any, and writes the configuration file. The file holds
// secrets, so only this user may read it.
func (s *Stack) writeConfig(svc *service) error {
	if s.opts.MutateConfig != nil {
		s.opts.MutateConfig(svc.name, svc.config)
	}
	raw, err := ory.Marshal(svc.config)
	if err != nil {
		return err
	}
	if err := os.WriteFile(svc.configPath, raw, 0o600); err != nil {
		return fmt.Errorf("writing %s: %w", svc.configPath, err)
	}
	return nil
}

// migrate runs every server's migrations at the same time; they touch separate databases.
func (s *Stack) migrate(ctx context.Context, plan []*service) error {
	ctx, cancel := context.WithTimeout(ctx, s.opts.MigrateTimeout)
	defer cancel()

	errs := make([]error, len(plan))
	var wg sync.WaitGroup
	for i, svc := range plan {
		wg.Go(func() {
			began := time.Now()
			logPath := filepath.Join(s.Dir, string(svc.name)+"-migrate.log")
			if err := runCommand(ctx, logPath, nil, nil, svc.bin, svc.migrate...); err != nil {
				errs[i] = fmt.Errorf("migrating %s: %w", svc.name, err)
				return
			}
			s.log.Info("migrated", "service", svc.name, "took", time.Since(began).Round(time.Millisecond))
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// serve starts every server, then waits until all report ready.
func (s *Stack) serve(ctx context.Context, plan []*service) error {
	procs := make([]*process, len(plan))
	for i, svc := range plan {
		logPath := filepath.Join(s.Dir, string(svc.name)+".log")
		p, err := startProcess(string(svc.name), logPath, syscall.SIGTERM, nil, svc.bin,
			svc.serveArgs...)
		if err != nil {
			return err
		}
		procs[i] = p
		s.mu.Lock()
		s.servers = append(s.servers, p)
		s.started = append(s.started, svc)
		s.mu.Unlock()
	}

	errs := make([]error, len(plan))
	var wg sync.WaitGroup
	for i, svc := range plan {
		wg.Go(func() {
			began := time.Now()
			if err := waitReady(ctx, procs[i], svc.readyURLs, s.opts.ReadyTimeout); err != nil {
				errs[i] = fmt.Errorf("waiting for %s: %w", svc.name, err)
				return
			}
			s.log.Info("ready", "service", svc.name, "version", svc.name.Version(),
				"urls", svc.readyURLs, "took", time.Since(began).Round(time.Millisecond))
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// waitReady polls each base URL's /health/ready until it answers 200, the process exits, ctx
// ends or timeout passes.
func waitReady(ctx context.Context, p *process, baseURLs []string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client := &http.Client{Timeout: 2 * time.Second}

	pending := slices.Clone(baseURLs)
	var last error
	for {
		if p.exited() {
			return p.exitError()
		}
		pending = slices.DeleteFunc(pending, func(base string) bool {
			last = probe(ctx, client, base+"/health/ready")
			return last == nil
		})
		if len(pending) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("not ready after %s: %w; last log lines:%s", timeout, last,
				logTail(p.logPath, 20))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func probe(ctx context.Context, client *http.Client, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("building probe: %w", err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("probing: %w", err)
	}
	defer func() { _ = resp.Body.Close() }()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: status %d", url, resp.StatusCode)
	}
	return nil
}

// Wait blocks until ctx ends, returning nil, or until a server or PostgreSQL exits on its own,
// returning how it ended. Exits caused by a restart are not reported.
func (s *Stack) Wait(ctx context.Context) error {
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		if p := s.crashed(); p != nil {
			return p.exitError()
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// crashed returns a current process that exited without being asked to, or nil.
func (s *Stack) crashed() *process {
	s.mu.Lock()
	defer s.mu.Unlock()
	procs := slices.Clone(s.servers)
	if s.pg != nil && s.pg.proc != nil {
		procs = append(procs, s.pg.proc)
	}
	for _, p := range procs {
		if p.exited() && !p.stopping.Load() {
			return p
		}
	}
	return nil
}

// LogPath returns the log file of service s, or of PostgreSQL for "postgres".
func (s *Stack) LogPath(name string) string {
	if name == "postgres" {
		return filepath.Join(s.Dir, "postgres", "postgres.log")
	}
	return filepath.Join(s.Dir, name+".log")
}

// Close stops the servers, then PostgreSQL, and removes the temporary directory unless
// Options.KeepDir is set. It is safe to call more than once.
func (s *Stack) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		var errs []error
		for _, p := range slices.Backward(s.servers) {
			errs = append(errs, p.stop())
		}
		errs = append(errs, s.pg.stop())
		if s.opts.KeepDir {
			s.log.Info("kept temp dir", "dir", s.Dir)
		} else if err := os.RemoveAll(s.Dir); err != nil {
			errs = append(errs, fmt.Errorf("removing temp dir: %w", err))
		}
		s.closeErr = errors.Join(errs...)
	})
	return s.closeErr
}

// freePorts reserves n distinct free TCP ports on 127.0.0.1. The listeners are held until all
// ports are known, so the ports differ; another program may still take one before the server
// binds it, which shows as a startup error naming the port.
func freePorts(n int) ([]int, error) {
	var ports []int
	var listeners []net.Listener
	defer func() {
		for _, l := range listeners {
			_ = l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("finding a free port: %w", err)
		}
		listeners = append(listeners, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// randomSecret returns 32 random characters, the length every Ory secret here accepts.
func randomSecret() string {
	return (rand.Text() + rand.Text())[:32]
}

func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}
