package orybody_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/ory-identity-layer/identity/internal/orybody"
)

func TestMessage(t *testing.T) {
	cases := []struct {
		name, body, want string
	}{
		{
			"herodot with reason", `{"error":{"message":"not found","reason":"no such tuple"}}`,
			"not found: no such tuple",
		},
		{"herodot without reason", `{"error":{"message":"not found"}}`, "not found"},
		{
			"oauth2", `{"error":"invalid_client","error_description":"bad secret"}`,
			"invalid_client: bad secret",
		},
		{"oauth2 without description", `{"error":"invalid_client"}`, "invalid_client"},
		{
			"kratos flow", `{"ui":{"messages":[{"id":4000006,"text":"invalid credentials"}]}}`,
			"4000006 invalid credentials",
		},
		{"not json", "  upstream connect error  ", "upstream connect error"},
		{"empty", "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, orybody.Message([]byte(tc.body)))
		})
	}
}

func TestTruncate(t *testing.T) {
	assert.Equal(t, "abc", orybody.Truncate(" abc ", 10))
	assert.Equal(t, strings.Repeat("x", 5)+"…", orybody.Truncate(strings.Repeat("x", 9), 5))
}
