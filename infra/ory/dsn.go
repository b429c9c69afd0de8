package ory

import (
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Engine names the SQL database behind a DSN. It selects the DSN scheme.
type Engine string

// Engines the Ory servers are run against.
const (
	// EngineCockroach is CockroachDB; DSNs use the cockroach:// scheme, which makes the Ory
	// servers pick their CockroachDB migrations and retry serialization conflicts.
	EngineCockroach Engine = "cockroach"
	// EnginePostgres is PostgreSQL; DSNs use the postgres:// scheme.
	EnginePostgres Engine = "postgres"
)

// SSL modes accepted in DSN.SSLMode. They follow libpq's sslmode.
const (
	SSLDisable    = "disable"
	SSLRequire    = "require"
	SSLVerifyCA   = "verify-ca"
	SSLVerifyFull = "verify-full"
)

// SSLModes lists the accepted values of DSN.SSLMode.
var SSLModes = []string{SSLDisable, SSLRequire, SSLVerifyCA, SSLVerifyFull}

// DSN describes the database connection of one Ory server. URL renders it.
type DSN struct {
	// Engine selects the URL scheme. Required: EngineCockroach or EnginePostgres.
	Engine Engine
	// Host is the database host name or IP address, without port. Required.
	Host string
	// Port is the TCP port. Optional; default 26257 for CockroachDB and 5432 for PostgreSQL.
	Port int
	// Database is the database name, such as "hydra". Required.
	Database string
	// User is the login role. Required. It is URL-escaped in the rendered DSN.
	User string
	// Password is the role's password. Optional (certificate or trust authentication); it is
	// URL-escaped in the rendered DSN, so any character is allowed.
	Password string
	// SSLMode is libpq's sslmode and always appears in the DSN. Required: one of disable,
	// require, verify-ca or verify-full. disable is accepted only for a loopback Host
	// (localhost, 127.0.0.0/8, ::1); remote hosts should use verify-full.
	SSLMode string
	// SSLRootCert is the path of the CA bundle that verifies the server, as seen by the Ory
	// process. Optional; required with verify-ca and verify-full unless UseSystemRoots is set.
	SSLRootCert string
	// UseSystemRoots verifies the server against the operating system's trusted roots instead
	// of SSLRootCert, as for CockroachDB Cloud's publicly trusted certificates. Optional; only
	// with verify-full, and not together with SSLRootCert.
	UseSystemRoots bool
	// Options is the libpq options parameter, such as --cluster=<routing-id> for CockroachDB
	// Cloud Basic and Standard. Optional.
	Options string
	// SSLCert is the path of a client certificate for certificate authentication. Optional;
	// when set, SSLKey is required too.
	SSLCert string
	// SSLKey is the path of the client certificate's private key. Optional; requires SSLCert.
	SSLKey string
	// MaxConns caps the open connections of one server process (max_conns). Optional; 0 leaves
	// the server's default (CPU count times two). Must not be negative.
	MaxConns int
	// MaxIdleConns caps the idle connections kept open (max_idle_conns). Optional; 0 leaves the
	// server's default. Must not be negative or above MaxConns when MaxConns is set.
	MaxIdleConns int
	// MaxConnLifetime closes connections older than this (max_conn_lifetime), which spreads
	// load again after database nodes are added. Optional; 0 means no limit. Whole seconds.
	MaxConnLifetime time.Duration
}

// withDefaults returns d with the documented defaults applied.
func (d DSN) withDefaults() DSN {
	if d.Port == 0 {
		switch d.Engine {
		case EngineCockroach:
			d.Port = 26257
		case EnginePostgres:
			d.Port = 5432
		}
	}
	return d
}

// Validate reports every field of d that is not accepted. Keys are named under "dsn".
func (d DSN) Validate() error {
	return d.validate("dsn")
}

func (d DSN) validate(key string) error {
	var f fieldErrors
	d = d.withDefaults()

	checkOneOf(&f, key+".engine", string(d.Engine),
		[]string{string(EngineCockroach), string(EnginePostgres)})
	if d.Host == "" || strings.ContainsAny(d.Host, "/?#@ ") {
		f.add(key+".host", "got %q; want a host name or IP address without port", d.Host)
	}
	checkPort(&f, key+".port", d.Port)
	if d.Database == "" || strings.ContainsAny(d.Database, "/?#") {
		f.add(key+".database", "got %q; want a database name without / ? or #", d.Database)
	}
	if d.User == "" {
		f.add(key+".user", "required; want the login role name")
	}

	checkOneOf(&f, key+".sslmode", d.SSLMode, SSLModes)
	// Without verification, anyone on the path can read or alter the traffic, so a remote
	// host always gets a verified connection.
	if (d.SSLMode == SSLDisable || d.SSLMode == SSLRequire) && !isLoopback(d.Host) {
		f.add(key+".sslmode", "%s is accepted only for loopback hosts, got host %q; "+
			"want verify-full with sslrootcert", d.SSLMode, d.Host)
	}
	verifying := d.SSLMode == SSLVerifyCA || d.SSLMode == SSLVerifyFull
	switch {
	case d.UseSystemRoots && (d.SSLMode != SSLVerifyFull || d.SSLRootCert != ""):
		f.add(key+".sslrootcert", "system roots need sslmode verify-full and no sslrootcert")
	case verifying && d.SSLRootCert == "" && !d.UseSystemRoots:
		f.add(key+".sslrootcert", "required with sslmode %s; want the CA bundle path", d.SSLMode)
	}
	if (d.SSLCert == "") != (d.SSLKey == "") {
		f.add(key+".sslcert", "sslcert and sslkey go together; want both or neither")
	}

	if d.MaxConns < 0 {
		f.add(key+".max_conns", "got %d; want 0 (server default) or more", d.MaxConns)
	}
	if d.MaxIdleConns < 0 || (d.MaxConns > 0 && d.MaxIdleConns > d.MaxConns) {
		f.add(key+".max_idle_conns", "got %d; want 0 to max_conns (%d)", d.MaxIdleConns, d.MaxConns)
	}
	if d.MaxConnLifetime < 0 || d.MaxConnLifetime%time.Second != 0 {
		f.add(key+".max_conn_lifetime", "got %s; want 0 (no limit) or whole seconds", d.MaxConnLifetime)
	}
	return f.err()
}

// URL validates d and renders it as a connection URL such as
// cockroach://hydra:secret@db:26257/hydra?sslmode=verify-full&sslrootcert=%2Fcerts%2Fca.crt.
// Query values are URL-escaped too. The result holds the password: do not log it, use Redacted.
func (d DSN) URL() (string, error) {
	if err := d.Validate(); err != nil {
		return "", err
	}
	return d.render(url.UserPassword(d.User, d.Password)), nil
}

// Redacted renders d like URL with the password replaced by "xxxxx", for logs and errors.
// It does not validate d.
func (d DSN) Redacted() string {
	if d.Password == "" {
		return d.render(url.User(d.User))
	}
	return d.render(url.UserPassword(d.User, "xxxxx"))
}

func (d DSN) render(user *url.Userinfo) string {
	d = d.withDefaults()
	if d.Password == "" {
		user = url.User(d.User)
	}

	q := url.Values{}
	q.Set("sslmode", d.SSLMode)
	setIf(q, "sslrootcert", d.SSLRootCert)
	setIf(q, "sslcert", d.SSLCert)
	setIf(q, "sslkey", d.SSLKey)
	setIf(q, "options", d.Options)
	if d.MaxConns > 0 {
		q.Set("max_conns", strconv.Itoa(d.MaxConns))
	}
	if d.MaxIdleConns > 0 {
		q.Set("max_idle_conns", strconv.Itoa(d.MaxIdleConns))
	}
	if d.MaxConnLifetime > 0 {
		q.Set("max_conn_lifetime", d.MaxConnLifetime.String())
	}

	u := url.URL{
		Scheme:   string(d.Engine),
		User:     user,
		Host:     net.JoinHostPort(strings.Trim(d.Host, "[]"), strconv.Itoa(d.Port)),
		Path:     "/" + d.Database,
		RawQuery: encodeSorted(q),
	}
	return u.String()
}

func setIf(q url.Values, key, v string) {
	if v != "" {
		q.Set(key, v)
	}
}

// encodeSorted encodes q with sslmode first, then the other keys in name order, so rendered
// DSNs are stable and the TLS setting is easy to spot when reading one.
func encodeSorted(q url.Values) string {
	keys := make([]string, 0, len(q))
	for k := range q {
		if k != "sslmode" {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	keys = append([]string{"sslmode"}, keys...)

	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, url.QueryEscape(k)+"="+url.QueryEscape(q.Get(k)))
	}
	return strings.Join(parts, "&")
}

// String renders d without its password so that a DSN printed by accident leaks nothing.
func (d DSN) String() string {
	return d.Redacted()
}

var _ fmt.Stringer = DSN{}
