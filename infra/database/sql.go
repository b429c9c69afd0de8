package database

import (
	"fmt"
	"regexp"
	"strings"
)

// Login is one database with the role that owns the right to use it.
type Login struct {
	// Database is the database name, such as hydra.
	Database string
	// User is the login role granted ALL on Database.
	User string
}

var identifier = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)

// BootstrapSQL renders the idempotent statements that create the databases and roles and set
// their passwords. It never drops anything: running it again only re-applies passwords and
// grants. Passwords must come from a generator of letters and digits, so that no quoting
// question arises; anything else is refused.
func BootstrapSQL(logins []Login, passwords map[string]string) (string, error) {
	var b strings.Builder
	users := map[string]bool{}
	for _, l := range logins {
		if !identifier.MatchString(l.Database) || !identifier.MatchString(l.User) {
			return "", fmt.Errorf("database %q or user %q is not a plain SQL identifier",
				l.Database, l.User)
		}
		fmt.Fprintf(&b, "CREATE DATABASE IF NOT EXISTS %s;\n", l.Database)
		if !users[l.User] {
			pw, ok := passwords[l.User]
			if !ok || !alphanumeric.MatchString(pw) {
				return "", fmt.Errorf("user %s: password missing or not alphanumeric", l.User)
			}
			fmt.Fprintf(&b, "CREATE USER IF NOT EXISTS %s WITH PASSWORD '%s';\n", l.User, pw)
			fmt.Fprintf(&b, "ALTER USER %s WITH PASSWORD '%s';\n", l.User, pw)
			users[l.User] = true
		}
		fmt.Fprintf(&b, "GRANT ALL ON DATABASE %s TO %s;\n", l.Database, l.User)
		// Migrations create tables in the public schema, which GRANT ON DATABASE alone does not
		// cover in CockroachDB.
		fmt.Fprintf(&b, "GRANT ALL ON SCHEMA %s.public TO %s;\n", l.Database, l.User)
	}
	return b.String(), nil
}

var alphanumeric = regexp.MustCompile(`^[A-Za-z0-9]{16,}$`)

// Logins lists the databases and roles for the services: one role per service, or the single
// shared role `ory` when shared is true.
func Logins(services []string, shared bool) []Login {
	out := make([]Login, len(services))
	for i, s := range services {
		user := s
		if shared {
			user = "ory"
		}
		out[i] = Login{Database: s, User: user}
	}
	return out
}
