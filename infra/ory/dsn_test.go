package ory_test

import (
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ory-identity-layer/identity/infra/ory"
)

func TestDSN_URL(t *testing.T) {
	tests := []struct {
		name string
		dsn  ory.DSN
		want string
	}{
		{
			name: "cockroach with default port and tls",
			dsn: ory.DSN{
				Engine: ory.EngineCockroach, Host: "crdb.internal", Database: "hydra",
				User: "hydra", Password: "pw", SSLMode: ory.SSLVerifyFull,
				SSLRootCert: "/certs/ca.crt",
			},
			want: "cockroach://hydra:pw@crdb.internal:26257/hydra" +
				"?sslmode=verify-full&sslrootcert=%2Fcerts%2Fca.crt",
		},
		{
			name: "postgres on loopback without tls",
			dsn: ory.DSN{
				Engine: ory.EnginePostgres, Host: "127.0.0.1", Port: 15432, Database: "keto",
				User: "keto", Password: "pw", SSLMode: ory.SSLDisable,
			},
			want: "postgres://keto:pw@127.0.0.1:15432/keto?sslmode=disable",
		},
		{
			name: "pool parameters",
			dsn: ory.DSN{
				Engine: ory.EnginePostgres, Host: "localhost", Database: "kratos",
				User: "kratos", SSLMode: ory.SSLDisable, MaxConns: 20, MaxIdleConns: 4,
				MaxConnLifetime: 5 * time.Minute,
			},
			want: "postgres://kratos@localhost:5432/kratos?sslmode=disable" +
				"&max_conn_lifetime=5m0s&max_conns=20&max_idle_conns=4",
		},
		{
			name: "client certificate",
			dsn: ory.DSN{
				Engine: ory.EngineCockroach, Host: "10.0.0.5", Database: "keto", User: "keto",
				SSLMode: ory.SSLVerifyCA, SSLRootCert: "/c/ca.crt", SSLCert: "/c/client.crt",
				SSLKey: "/c/client.key",
			},
			want: "cockroach://keto@10.0.0.5:26257/keto?sslmode=verify-ca" +
				"&sslcert=%2Fc%2Fclient.crt&sslkey=%2Fc%2Fclient.key&sslrootcert=%2Fc%2Fca.crt",
		},
		{
			name: "ipv6 loopback",
			dsn: ory.DSN{
				Engine: ory.EnginePostgres, Host: "::1", Database: "hydra", User: "hydra",
				SSLMode: ory.SSLDisable,
			},
			want: "postgres://hydra@[::1]:5432/hydra?sslmode=disable",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.dsn.URL()
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestDSN_URL_EscapesCredentials(t *testing.T) {
	tests := []struct {
		name     string
		user     string
		password string
	}{
		{name: "at sign", user: "hydra", password: "p@ss@word"},
		{name: "slash", user: "hydra", password: "a/b//c"},
		{name: "percent", user: "hydra", password: "100%25%"},
		{name: "spaces", user: "hydra", password: " lead and trail "},
		{name: "colon and question mark", user: "hydra", password: "a:b?c#d"},
		{name: "everything at once", user: "svc user@x", password: "@/% :?#&=+'\"\\"},
		{name: "unicode", user: "hydra", password: "pässwörd✓"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := ory.DSN{
				Engine: ory.EngineCockroach, Host: "db.example.com", Database: "hydra",
				User: tt.user, Password: tt.password, SSLMode: ory.SSLVerifyFull, UseSystemRoots: true,
			}
			raw, err := d.URL()
			require.NoError(t, err)

			u, err := url.Parse(raw)
			require.NoError(t, err)
			got, ok := u.User.Password()
			require.True(t, ok, "password lost in %q", raw)
			assert.Equal(t, tt.password, got)
			assert.Equal(t, tt.user, u.User.Username())
			assert.Equal(t, "db.example.com:26257", u.Host)
			assert.Equal(t, "/hydra", u.Path)
			assert.Equal(t, "verify-full", u.Query().Get("sslmode"))
		})
	}
}

func TestDSN_Redacted(t *testing.T) {
	d := ory.DSN{
		Engine: ory.EnginePostgres, Host: "127.0.0.1", Database: "hydra", User: "hydra",
		Password: "s3cret@pw", SSLMode: ory.SSLDisable,
	}
	assert.Equal(t, "postgres://hydra:xxxxx@127.0.0.1:5432/hydra?sslmode=disable", d.Redacted())
	assert.NotContains(t, d.String(), "s3cret")
}

func TestDSN_Validate(t *testing.T) {
	valid := ory.DSN{
		Engine: ory.EngineCockroach, Host: "db.example.com", Database: "hydra", User: "hydra",
		SSLMode: ory.SSLVerifyFull, SSLRootCert: "/certs/ca.crt",
	}
	tests := []struct {
		name    string
		mutate  func(d *ory.DSN)
		wantErr []string
	}{
		{name: "valid", mutate: func(*ory.DSN) {}},
		{
			name:    "unknown engine",
			mutate:  func(d *ory.DSN) { d.Engine = "mysql" },
			wantErr: []string{`dsn.engine: got "mysql"; want one of cockroach, postgres`},
		},
		{
			name:    "missing sslmode",
			mutate:  func(d *ory.DSN) { d.SSLMode = "" },
			wantErr: []string{`dsn.sslmode: got ""; want one of disable, require`},
		},
		{
			name:    "disable on a remote host",
			mutate:  func(d *ory.DSN) { d.SSLMode = ory.SSLDisable },
			wantErr: []string{"dsn.sslmode: disable is accepted only for loopback hosts"},
		},
		{
			name:    "require on a remote host",
			mutate:  func(d *ory.DSN) { d.SSLMode = ory.SSLRequire },
			wantErr: []string{"dsn.sslmode: require is accepted only for loopback hosts"},
		},
		{name: "system roots", mutate: func(d *ory.DSN) { d.SSLRootCert, d.UseSystemRoots = "", true }},
		{
			name:    "system roots with a CA file",
			mutate:  func(d *ory.DSN) { d.UseSystemRoots = true },
			wantErr: []string{"dsn.sslrootcert: system roots need sslmode verify-full and no sslrootcert"},
		},
		{
			name:    "verify-full without root cert",
			mutate:  func(d *ory.DSN) { d.SSLRootCert = "" },
			wantErr: []string{"dsn.sslrootcert: required with sslmode verify-full"},
		},
		{
			name:    "cert without key",
			mutate:  func(d *ory.DSN) { d.SSLCert = "/c.crt" },
			wantErr: []string{"dsn.sslcert: sslcert and sslkey go together"},
		},
		{
			name: "missing host user and database",
			mutate: func(d *ory.DSN) {
				d.Host, d.User, d.Database = "", "", ""
			},
			wantErr: []string{"dsn.host:", "dsn.user: required", "dsn.database:"},
		},
		{
			name:    "host with user info",
			mutate:  func(d *ory.DSN) { d.Host = "db@evil" },
			wantErr: []string{`dsn.host: got "db@evil"`},
		},
		{
			name:    "port out of range",
			mutate:  func(d *ory.DSN) { d.Port = 70000 },
			wantErr: []string{"dsn.port: got 70000; want a TCP port from 1 to 65535"},
		},
		{
			name:    "idle above max",
			mutate:  func(d *ory.DSN) { d.MaxConns, d.MaxIdleConns = 2, 3 },
			wantErr: []string{"dsn.max_idle_conns: got 3; want 0 to max_conns (2)"},
		},
		{
			name:    "negative max conns",
			mutate:  func(d *ory.DSN) { d.MaxConns = -1 },
			wantErr: []string{"dsn.max_conns: got -1"},
		},
		{
			name:    "fractional lifetime",
			mutate:  func(d *ory.DSN) { d.MaxConnLifetime = 1500 * time.Millisecond },
			wantErr: []string{"dsn.max_conn_lifetime: got 1.5s; want 0 (no limit) or whole seconds"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := valid
			tt.mutate(&d)
			err := d.Validate()
			if len(tt.wantErr) == 0 {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			for _, want := range tt.wantErr {
				assert.Contains(t, err.Error(), want)
			}
		})
	}
}

func TestDSN_URL_CloudOptions(t *testing.T) {
	d := ory.DSN{
		Engine: ory.EngineCockroach, Host: "free-tier.gcp-us-central1.cockroachlabs.cloud",
		Database: "kratos", User: "kratos", Password: "pw", SSLMode: ory.SSLVerifyFull,
		UseSystemRoots: true, Options: "--cluster=my-cluster-123",
	}
	raw, err := d.URL()
	require.NoError(t, err)
	u, err := url.Parse(raw)
	require.NoError(t, err)
	assert.Equal(t, "--cluster=my-cluster-123", u.Query().Get("options"))
	assert.Empty(t, u.Query().Get("sslrootcert"), "system roots name no CA file")
	assert.Equal(t, "verify-full", u.Query().Get("sslmode"))
}
