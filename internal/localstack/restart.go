package localstack

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

// Postgres names the database in Restart and ProcessGroups, beside the Ory services.
const Postgres = "postgres"

// RestartPostgres stops PostgreSQL with a fast shutdown, which ends every open connection, and
// starts it again on the same port and data directory. It returns once the database accepts
// queries again; the Ory servers reconnect on their own. Fault tests call it mid-run.
func (s *Stack) RestartPostgres(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pg == nil || s.pg.proc == nil {
		return errors.New("restarting postgres: not running")
	}

	began := time.Now()
	if err := s.pg.proc.stop(); err != nil {
		return fmt.Errorf("stopping postgres: %w", err)
	}
	if err := s.pg.launch(ctx); err != nil {
		return fmt.Errorf("starting postgres again: %w", err)
	}
	s.log.Info("restarted", "service", Postgres, "took", time.Since(began).Round(time.Millisecond))
	return nil
}

// RestartServer stops one Ory server with SIGTERM, so it drains as in a rolling update, and
// starts it again with the same configuration and ports. It returns once the server reports
// ready.
func (s *Stack) RestartServer(ctx context.Context, name Service) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := slices.IndexFunc(s.started, func(svc *service) bool { return svc.name == name })
	if i < 0 {
		return fmt.Errorf("restarting %s: not running", name)
	}
	svc := s.started[i]

	began := time.Now()
	if err := s.servers[i].stop(); err != nil {
		return fmt.Errorf("stopping %s: %w", name, err)
	}
	p, err := startProcess(string(name), filepath.Join(s.Dir, string(name)+".log"),
		syscall.SIGTERM, nil, svc.bin, svc.serveArgs...)
	if err != nil {
		return err
	}
	s.servers[i] = p
	if err := waitReady(ctx, p, svc.readyURLs, s.opts.ReadyTimeout); err != nil {
		return fmt.Errorf("waiting for %s after restart: %w", name, err)
	}
	s.log.Info("restarted", "service", name, "took", time.Since(began).Round(time.Millisecond))
	return nil
}

// Restart restarts PostgreSQL ("postgres") or one Ory server ("hydra", "kratos", "keto").
func (s *Stack) Restart(ctx context.Context, name string) error {
	switch Service(name) {
	case Hydra, Kratos, Keto:
		return s.RestartServer(ctx, Service(name))
	}
	if name == Postgres {
		return s.RestartPostgres(ctx)
	}
	return fmt.Errorf("restarting %q: want postgres, %s", name, joinServices(AllServices))
}

// ProcessGroups returns the process group id of PostgreSQL and of every running server, by
// name. Each child leads its own group (see sysProcAttr), so the group holds PostgreSQL's
// backends too. A restart changes the ids.
func (s *Stack) ProcessGroups() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	groups := map[string]int{}
	for i, p := range s.servers {
		groups[string(s.started[i].name)] = p.cmd.Process.Pid
	}
	if s.pg != nil && s.pg.proc != nil {
		groups[Postgres] = s.pg.proc.cmd.Process.Pid
	}
	return groups
}

func joinServices(services []Service) string {
	names := make([]string, len(services))
	for i, svc := range services {
		names[i] = string(svc)
	}
	return strings.Join(names, ", ")
}
