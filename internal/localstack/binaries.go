package localstack

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Versions of the Ory servers the local stack runs. They match the tool modules under tools/,
// which scripts/build-ory.sh builds; a test keeps the two in step.
const (
	HydraVersion  = "v2.3.0"
	KratosVersion = "v1.3.1"
	KetoVersion   = "v0.13.0-alpha.0"
)

// Service names one Ory server.
type Service string

// The Ory servers, in start order.
const (
	Hydra  Service = "hydra"
	Kratos Service = "kratos"
	Keto   Service = "keto"
)

// AllServices lists every service in start order.
var AllServices = []Service{Hydra, Kratos, Keto}

// Version returns the version of s the local stack runs.
func (s Service) Version() string {
	switch s {
	case Hydra:
		return HydraVersion
	case Kratos:
		return KratosVersion
	case Keto:
		return KetoVersion
	}
	return ""
}

// DefaultBinDir returns where scripts/build-ory.sh puts the Ory binaries: $ORY_BIN_DIR, else
// $XDG_CACHE_HOME/identity-ory/bin, else ~/.cache/identity-ory/bin.
func DefaultBinDir() string {
	if dir := os.Getenv("ORY_BIN_DIR"); dir != "" {
		return dir
	}
	cache := os.Getenv("XDG_CACHE_HOME")
	if cache == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			home = "."
		}
		cache = filepath.Join(home, ".cache")
	}
	return filepath.Join(cache, "identity-ory", "bin")
}

// ErrMissingTool marks an error about a program that is not installed. Its message says how
// to install it.
var ErrMissingTool = errors.New("missing tool")

// oryBinary returns the path of the binary of s under binDir, or an error that says how to
// build it.
func oryBinary(binDir string, s Service) (string, error) {
	path := filepath.Join(binDir, string(s)+"-"+s.Version())
	info, err := os.Stat(path)
	if err != nil || info.IsDir() || info.Mode()&0o111 == 0 {
		return "", fmt.Errorf("%w: %s %s not found at %s. Build it with: scripts/build-ory.sh %s "+
			"(set ORY_BIN_DIR to use another directory)", ErrMissingTool, s, s.Version(), path, s)
	}
	return path, nil
}

// postgresBinDirs are searched after PATH. Debian keeps the server programs out of PATH.
var postgresBinDirs = []string{
	"/usr/lib/postgresql/15/bin", "/usr/lib/postgresql/16/bin",
	"/usr/lib/postgresql/17/bin",
}

// pgTools holds the PostgreSQL programs the stack runs.
type pgTools struct {
	initdb, postgres, psql string
}

// findPostgres finds initdb, postgres and psql in dir, or when dir is empty on PATH and then in
// Debian's PostgreSQL directories. The three come from one directory when possible so their
// versions match.
func findPostgres(dir string) (pgTools, error) {
	dirs := postgresBinDirs
	if dir != "" {
		dirs = []string{dir}
	} else if p, err := exec.LookPath("initdb"); err == nil {
		// Debian's /usr/bin/initdb may be a symlink into /usr/lib/postgresql/N/bin; resolving
		// it finds the postgres program of the same version next to it.
		if real, err := filepath.EvalSymlinks(p); err == nil {
			p = real
		}
		dirs = append([]string{filepath.Dir(p)}, dirs...)
	}

	for _, d := range dirs {
		t := pgTools{
			initdb:   filepath.Join(d, "initdb"),
			postgres: filepath.Join(d, "postgres"),
			psql:     filepath.Join(d, "psql"),
		}
		if isExecutable(t.initdb) && isExecutable(t.postgres) {
			if !isExecutable(t.psql) {
				p, err := exec.LookPath("psql")
				if err != nil {
					continue
				}
				t.psql = p
			}
			return t, nil
		}
	}
	return pgTools{}, fmt.Errorf("%w: PostgreSQL server programs (initdb, postgres, psql) not "+
		"found on PATH or in %s. Install them with: apt-get install postgresql-15",
		ErrMissingTool, strings.Join(dirs, ", "))
}

func isExecutable(path string) bool {
	info, err := os.Stat(path)
	return err == nil && !info.IsDir() && info.Mode()&0o111 != 0
}

// CheckPrerequisites reports every program the stack needs that is missing, each with the
// command that installs it. Callers use it to fail early with one clear message.
func CheckPrerequisites(opts Options) error {
	var errs []error
	if _, err := findPostgres(opts.PostgresBinDir); err != nil {
		errs = append(errs, err)
	}
	if _, err := postgresCredential(); err != nil {
		errs = append(errs, err)
	}
	binDir := opts.BinDir
	if binDir == "" {
		binDir = DefaultBinDir()
	}
	for _, s := range opts.services() {
		if _, err := oryBinary(binDir, s); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
