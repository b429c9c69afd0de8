package localstack

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ory-identity-layer/identity/infra/ory"
)

func TestTailOf(t *testing.T) {
	tests := []struct {
		name string
		in   string
		n    int
		want string
	}{
		{name: "empty", in: "", n: 3, want: ""},
		{name: "short", in: "a\nb\n", n: 3, want: "\n  | a\n  | b"},
		{name: "cut", in: "a\nb\nc\nd", n: 2, want: "\n  | c\n  | d"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, tailOf(tt.in, tt.n))
		})
	}
}

func TestQuoting(t *testing.T) {
	tests := []struct {
		name, in, ident, literal string
	}{
		{name: "plain", in: "hydra", ident: `"hydra"`, literal: `'hydra'`},
		{name: "quotes", in: `a'b"c`, ident: `"a'b""c"`, literal: `'a''b"c'`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.ident, quoteIdent(tt.in))
			assert.Equal(t, tt.literal, quoteLiteral(tt.in))
		})
	}
}

// TestRandomPassword_SurvivesTheDSN checks that the characters the local stack adds on purpose
// come back intact from a rendered DSN.
func TestRandomPassword_SurvivesTheDSN(t *testing.T) {
	a, b := randomPassword(), randomPassword()
	assert.NotEqual(t, a, b)
	assert.Contains(t, a, "@/% :")

	raw, err := ory.DSN{
		Engine: ory.EnginePostgres, Host: "127.0.0.1", Database: "keto",
		User: "keto", Password: a, SSLMode: ory.SSLDisable,
	}.URL()
	require.NoError(t, err)
	u, err := url.Parse(raw)
	require.NoError(t, err)
	got, _ := u.User.Password()
	assert.Equal(t, a, got)
}

func TestRandomSecret(t *testing.T) {
	s := randomSecret()
	assert.Len(t, s, ory.KratosCipherLength)
	assert.NotEqual(t, s, randomSecret())
}

func TestFreePorts_Distinct(t *testing.T) {
	ports, err := freePorts(9)
	require.NoError(t, err)
	seen := map[int]bool{}
	for _, p := range ports {
		assert.False(t, seen[p], "port %d twice", p)
		seen[p] = true
	}
}

// TestPostgres_RolesOwnOnlyTheirDatabase starts a real cluster and checks that a service role
// logs in over TCP with its URL-escaped password, owns its database, and can reach nothing else.
func TestPostgres_RolesOwnOnlyTheirDatabase(t *testing.T) {
	if os.Getenv("IDENTITY_E2E") == "0" {
		t.Skip("IDENTITY_E2E=0: needs PostgreSQL")
	}
	tools, err := findPostgres("")
	require.NoError(t, err, "set IDENTITY_E2E=0 to skip on purpose")
	cred, err := postgresCredential()
	require.NoError(t, err)

	// Not t.TempDir: its parent is private to this user, and PostgreSQL runs as another one.
	dir, err := os.MkdirTemp("", "identity-pg-test-")
	require.NoError(t, err)
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	require.NoError(t, os.Chmod(dir, 0o711))
	ports, err := freePorts(1)
	require.NoError(t, err)
	ctx := context.Background()
	pg, err := startPostgres(ctx, tools, cred, filepath.Join(dir, "pg"), ports[0])
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, pg.stop()) })

	passwords := map[string]string{}
	for _, name := range []string{"hydra", "kratos"} {
		passwords[name] = randomPassword()
		require.NoError(t, pg.createServiceDatabase(ctx, name, passwords[name]))
	}

	psql := func(role, db, sql string) error {
		raw, err := localDSN(Service(role), ports[0], passwords[role]).URL()
		require.NoError(t, err)
		u, err := url.Parse(raw)
		require.NoError(t, err)
		// psql knows no pool parameters; those are for the Ory servers.
		u.Scheme, u.Path, u.RawQuery = "postgresql", "/"+db, "sslmode=disable"
		return runCommand(ctx, filepath.Join(dir, "client.log"), nil, strings.NewReader(sql),
			tools.psql, "--no-psqlrc", "--set", "ON_ERROR_STOP=1", "--dbname", u.String(),
			"--file", "-")
	}

	tests := []struct {
		name, role, db, sql string
		wantErr             string
	}{
		{
			name: "own database", role: "hydra", db: "hydra",
			sql: "CREATE TABLE t (id int); DROP TABLE t;",
		},
		{
			name: "other database", role: "hydra", db: "kratos", sql: "SELECT 1;",
			wantErr: "permission denied for database",
		},
		{
			name: "no new databases", role: "kratos", db: "kratos", sql: "CREATE DATABASE x;",
			wantErr: "permission denied to create database",
		},
		{
			name: "no new roles", role: "kratos", db: "kratos", sql: "CREATE ROLE x;",
			wantErr: "permission denied to create role",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := psql(tt.role, tt.db, tt.sql)
			if tt.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.wantErr)
		})
	}
}
