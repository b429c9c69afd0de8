package localstack

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// pgSuperuser is the bootstrap superuser initdb creates. It only logs in over the unix socket,
// which trusts local users; TCP logins need a password.
const pgSuperuser = "postgres"

// pgUnprivilegedUser runs PostgreSQL when this process is root: the server refuses to start as
// root. Debian's postgresql packages create this user.
const pgUnprivilegedUser = "postgres"

// postgresCredential returns the credential to run PostgreSQL with: nil when this process is
// not root, else the unprivileged postgres user.
func postgresCredential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup(pgUnprivilegedUser)
	if err != nil {
		return nil, fmt.Errorf("%w: PostgreSQL refuses to run as root and user %q does not "+
			"exist. Create it with: apt-get install postgresql-15 (or useradd --system %s)",
			ErrMissingTool, pgUnprivilegedUser, pgUnprivilegedUser)
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("parsing uid of %s: %w", pgUnprivilegedUser, err)
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("parsing gid of %s: %w", pgUnprivilegedUser, err)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: true}, nil
}

// postgres is a throwaway PostgreSQL cluster listening on 127.0.0.1 and on a unix socket.
type postgres struct {
	tools   pgTools
	cred    *syscall.Credential
	dir     string // owned by the server's user: data/, sockets, log
	port    int
	proc    *process
	logPath string
}

// startPostgres creates a cluster under dir and starts it on port. PostgreSQL runs in the
// foreground as a child of this process instead of through pg_ctl start, so that it shares the
// process group handling and dies with this process even when cleanup never runs.
func startPostgres(
	ctx context.Context,
	tools pgTools,
	cred *syscall.Credential,
	dir string,
	port int,
) (*postgres, error) {
	pg := &postgres{
		tools: tools, cred: cred, dir: dir, port: port,
		logPath: filepath.Join(dir, "postgres.log"),
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating postgres dir: %w", err)
	}
	if cred != nil {
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			return nil, fmt.Errorf("handing postgres dir to %s: %w", pgUnprivilegedUser, err)
		}
	}

	// fsync is off and the cluster skips its sync at the end of initdb: the data is thrown
	// away after the run, and syncing costs seconds on a small machine.
	err := runCommand(ctx, pg.logPath, cred, nil, tools.initdb,
		"--pgdata", pg.dataDir(), "--username", pgSuperuser, "--auth-local", "trust",
		"--auth-host", "scram-sha-256", "--encoding", "UTF8", "--locale", "C", "--no-sync")
	if err != nil {
		return nil, fmt.Errorf("initdb: %w", err)
	}

	if err := pg.launch(ctx); err != nil {
		return nil, err
	}
	return pg, nil
}

// launch starts the server on the existing data directory and waits until it accepts queries.
// Start and RestartPostgres both use it, so a restart keeps the port, socket and data.
//
// fsync and synchronous_commit are off for speed: a clean shutdown (SIGINT, as stop sends)
// still writes everything, but a crash of the server could drop commits it had acknowledged.
func (pg *postgres) launch(ctx context.Context) error {
	var err error
	pg.proc, err = startProcess("postgres", pg.logPath, syscall.SIGINT, pg.cred,
		pg.tools.postgres,
		"-D", pg.dataDir(),
		"-p", strconv.Itoa(pg.port),
		"-h", "127.0.0.1",
		"-k", pg.dir,
		"-c", "fsync=off",
		"-c", "synchronous_commit=off",
		"-c", "full_page_writes=off",
		"-c", "max_connections=200",
	)
	if err != nil {
		return err
	}
	if err := pg.waitReady(ctx, 30*time.Second); err != nil {
		_ = pg.proc.stop()
		return err
	}
	return nil
}

func (pg *postgres) dataDir() string { return filepath.Join(pg.dir, "data") }

// waitReady polls with psql until the server accepts a query over its socket.
func (pg *postgres) waitReady(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		if pg.proc.exited() {
			return pg.proc.exitError()
		}
		last = pg.exec(ctx, "SELECT 1;")
		if last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for postgres: %w", ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
	return fmt.Errorf("postgres not ready after %s: %w%s", timeout, last, logTail(pg.logPath, 20))
}

// exec runs SQL as the superuser over the unix socket. The SQL goes through stdin so that
// passwords in it never appear in a process listing.
func (pg *postgres) exec(ctx context.Context, sql string) error {
	return runCommand(ctx, filepath.Join(pg.dir, "psql.log"), pg.cred, strings.NewReader(sql),
		pg.tools.psql, "--no-psqlrc", "--quiet", "--set", "ON_ERROR_STOP=1",
		"--host", pg.dir, "--port", strconv.Itoa(pg.port),
		"--username", pgSuperuser, "--dbname", "postgres", "--file", "-")
}

// createServiceDatabase creates database name owned by a login role of the same name with the
// given password. The role owns only its own database and no other role may connect to it.
func (pg *postgres) createServiceDatabase(ctx context.Context, name, password string) error {
	sql := fmt.Sprintf(`
CREATE ROLE %[1]s LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD %[2]s;
CREATE DATABASE %[1]s OWNER %[1]s;
REVOKE ALL ON DATABASE %[1]s FROM PUBLIC;
`, quoteIdent(name), quoteLiteral(password))
	if err := pg.exec(ctx, sql); err != nil {
		return fmt.Errorf("creating database %s: %w", name, err)
	}
	return nil
}

// randomPassword returns 26 random characters followed by characters that must be URL-escaped
// in a DSN. Keeping them in every local run proves the escaping end to end.
func randomPassword() string {
	return rand.Text() + "@/% :"
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

func quoteLiteral(s string) string { return `'` + strings.ReplaceAll(s, `'`, `''`) + `'` }

func (pg *postgres) stop() error {
	if pg == nil || pg.proc == nil {
		return nil
	}
	return pg.proc.stop()
}
