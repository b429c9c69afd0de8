package database

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestBootstrapSQLPerService(t *testing.T) {
	logins := Logins([]string{"hydra", "kratos", "keto"}, false)
	pw := map[string]string{
		"hydra": strings.Repeat("a", 32), "kratos": strings.Repeat("b", 32), "keto": strings.Repeat("c", 32),
	}
	sql, err := BootstrapSQL(logins, pw)
	require.NoError(t, err)
	for _, s := range []string{"hydra", "kratos", "keto"} {
		assert.Contains(t, sql, "CREATE DATABASE IF NOT EXISTS "+s+";")
		assert.Contains(t, sql, "CREATE USER IF NOT EXISTS "+s+" WITH PASSWORD '"+pw[s]+"';")
		assert.Contains(t, sql, "ALTER USER "+s+" WITH PASSWORD '"+pw[s]+"';")
		assert.Contains(t, sql, "GRANT ALL ON DATABASE "+s+" TO "+s+";")
	}
	assert.NotContains(t, strings.ToUpper(sql), "DROP")
	assert.NotContains(t, sql, "GRANT ALL ON DATABASE hydra TO kratos", "each role gets its own database only")
}

func TestBootstrapSQLShared(t *testing.T) {
	sql, err := BootstrapSQL(Logins([]string{"hydra", "keto"}, true),
		map[string]string{"ory": strings.Repeat("z", 32)})
	require.NoError(t, err)
	assert.Equal(t, 1, strings.Count(sql, "CREATE USER IF NOT EXISTS ory"))
	assert.Contains(t, sql, "GRANT ALL ON DATABASE hydra TO ory;")
	assert.Contains(t, sql, "GRANT ALL ON DATABASE keto TO ory;")
}

func TestBootstrapSQLRefusesUnsafeInput(t *testing.T) {
	cases := []struct {
		name   string
		logins []Login
		pw     map[string]string
	}{
		{"quote in password", []Login{{"hydra", "hydra"}}, map[string]string{"hydra": "abc'; DROP DATABASE x; --aaaaaaaa"}},
		{"short password", []Login{{"hydra", "hydra"}}, map[string]string{"hydra": "abc"}},
		{"missing password", []Login{{"hydra", "hydra"}}, map[string]string{}},
		{"odd identifier", []Login{{"hy-dra", "hydra"}}, map[string]string{"hydra": strings.Repeat("a", 32)}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := BootstrapSQL(tc.logins, tc.pw)
			assert.Error(t, err)
		})
	}
}
