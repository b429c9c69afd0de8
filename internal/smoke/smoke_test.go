package smoke_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ory-identity-layer/identity/internal/smoke"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// allChecks lists every check in run order; a run must report each exactly once.
var allChecks = []string{
	smoke.HydraCreateClient, smoke.HydraIssueToken, smoke.HydraIntrospectToken,
	smoke.HydraDeleteClient,
	smoke.KratosRegister, smoke.KratosLoginWrongPass, smoke.KratosLogin, smoke.KratosWhoami,
	smoke.KratosLogout, smoke.KratosWhoamiLoggedOut, smoke.KratosDeleteIdentity,
	smoke.KetoWriteTuple, smoke.KetoCheckAllowed, smoke.KetoCheckDenied, smoke.KetoExpand,
	smoke.KetoDeleteTuple, smoke.KetoCheckDeleted,
}

// fakeOry answers the endpoints the checks call, with just enough of Hydra, Kratos and Keto to
// pass them. fail maps "METHOD /path" to a status code the fake answers instead.
type fakeOry struct {
	t    *testing.T
	fail map[string]int

	mu       sync.Mutex
	password string
	sessions map[string]bool
	tuples   map[string]bool
	calls    []string
}

const fakeIssuer = "http://issuer.test"

func newFake(t *testing.T, fail map[string]int) *httptest.Server {
	f := &fakeOry{t: t, fail: fail, sessions: map[string]bool{}, tuples: map[string]bool{}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return srv
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func flow(id string, messages ...map[string]any) map[string]any {
	if messages == nil {
		messages = []map[string]any{}
	}
	return map[string]any{
		"id": id, "type": "api", "state": "choose_method", "request_url": "http://x/",
		"expires_at": "2030-01-01T00:00:00Z", "issued_at": "2029-01-01T00:00:00Z",
		"ui": map[string]any{
			"action": "http://x/", "method": "POST", "nodes": []any{},
			"messages": messages,
		},
	}
}

func identity() map[string]any {
	return map[string]any{
		"id": "identity-1", "schema_id": "default", "schema_url": "http://x/",
		"traits": map[string]any{},
	}
}

func (f *fakeOry) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	key := r.Method + " " + r.URL.Path
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, key)
	if status, ok := f.fail[key]; ok {
		writeJSON(w, status, map[string]any{"error": map[string]any{
			"code": status, "message": "injected failure", "reason": key,
		}})
		return
	}

	var body map[string]any
	_ = json.NewDecoder(r.Body).Decode(&body)
	q := r.URL.Query()
	tuple := q.Get("namespace") + ":" + q.Get("object") + "#" + q.Get("relation") + "@" +
		q.Get("subject_id")

	switch key {
	case "POST /admin/clients":
		writeJSON(w, 201, map[string]any{"client_id": "client-1", "client_secret": "secret-1"})
	case "POST /oauth2/token":
		user, pass, ok := r.BasicAuth()
		if !ok || user != "client-1" || pass != "secret-1" {
			writeJSON(w, 401, map[string]any{"error": "invalid_client"})
			return
		}
		writeJSON(w, 200, map[string]any{
			"access_token": "token-1", "token_type": "bearer",
			"expires_in": 3600,
		})
	case "POST /admin/oauth2/introspect":
		writeJSON(w, 200, map[string]any{
			"active": true, "client_id": "client-1",
			"iss": fakeIssuer + "/",
		})
	case "DELETE /admin/clients/client-1":
		w.WriteHeader(204)
	case "GET /self-service/registration/api", "GET /self-service/login/api":
		writeJSON(w, 200, flow("flow-1"))
	case "POST /self-service/registration":
		f.password, _ = body["password"].(string)
		writeJSON(w, 200, map[string]any{"identity": identity()})
	case "POST /self-service/login":
		if body["password"] != f.password {
			writeJSON(w, 400, flow("flow-1", map[string]any{
				"id":   4000006,
				"text": "The provided credentials are invalid", "type": "error",
			}))
			return
		}
		f.sessions["session-token-1"] = true
		writeJSON(w, 200, map[string]any{
			"session_token": "session-token-1",
			"session":       map[string]any{"id": "session-1"},
		})
	case "GET /sessions/whoami":
		if !f.sessions[r.Header.Get("X-Session-Token")] {
			writeJSON(w, 401, map[string]any{"error": map[string]any{
				"code":    401,
				"message": "No valid session credentials found in the request.",
			}})
			return
		}
		writeJSON(w, 200, map[string]any{
			"id": "session-1", "active": true,
			"identity": identity(),
		})
	case "DELETE /self-service/logout/api":
		delete(f.sessions, body["session_token"].(string))
		w.WriteHeader(204)
	case "DELETE /admin/identities/identity-1":
		w.WriteHeader(204)
	case "PUT /admin/relation-tuples":
		t := body["namespace"].(string) + ":" + body["object"].(string) + "#" +
			body["relation"].(string) + "@" + body["subject_id"].(string)
		f.tuples[t] = true
		writeJSON(w, 201, body)
	case "GET /relation-tuples/check":
		if f.tuples[tuple] {
			writeJSON(w, 200, map[string]any{"allowed": true})
			return
		}
		writeJSON(w, 403, map[string]any{"allowed": false})
	case "GET /relation-tuples/expand":
		var children []any
		for t := range f.tuples {
			subject := t[strings.Index(t, "@")+1:]
			children = append(children, map[string]any{"type": "leaf", "tuple": map[string]any{
				"namespace": "", "object": "", "relation": "", "subject_id": subject,
			}})
		}
		writeJSON(w, 200, map[string]any{"type": "union", "children": children})
	case "DELETE /admin/relation-tuples":
		delete(f.tuples, tuple)
		w.WriteHeader(204)
	default:
		f.t.Errorf("fake: unexpected request %s", key)
		w.WriteHeader(404)
	}
}

func configFor(srv *httptest.Server) smoke.Config {
	return smoke.Config{
		HydraAdminURL: srv.URL, HydraPublicURL: srv.URL, HydraIssuer: fakeIssuer,
		KratosAdminURL: srv.URL, KratosPublicURL: srv.URL,
		KetoReadURL: srv.URL, KetoWriteURL: srv.URL,
		Timeout: 5 * time.Second, RunID: "test",
	}
}

func checkNames(r *smoke.Report) []string {
	var names []string
	for _, res := range r.Results {
		names = append(names, res.Check)
	}
	return names
}

func TestRun_AllPassAgainstFake(t *testing.T) {
	report := smoke.Run(context.Background(), configFor(newFake(t, nil)))

	require.Equal(t, allChecks, checkNames(report))
	for _, res := range report.Results {
		assert.True(t, res.OK, "%s: %s", res.Check, res.Detail)
		assert.Positive(t, res.Latency, res.Check)
	}
	assert.True(t, report.OK())
	assert.Equal(t, len(allChecks), report.Passed)
	assert.Equal(t, 0, report.Failed)
}

func TestRun_EveryCheckRuns(t *testing.T) {
	tests := []struct {
		name string
		fail map[string]int
		// want maps checks to a substring of their detail; unlisted checks must pass.
		want map[string]string
	}{
		{
			name: "hydra client creation fails",
			fail: map[string]int{"POST /admin/clients": 500},
			want: map[string]string{
				smoke.HydraCreateClient:    "status 500: injected failure",
				smoke.HydraIssueToken:      "skipped: hydra/create-client failed",
				smoke.HydraIntrospectToken: "skipped: hydra/issue-token failed",
				smoke.HydraDeleteClient:    "skipped: hydra/create-client failed",
			},
		},
		{
			name: "keto namespace unknown",
			fail: map[string]int{"PUT /admin/relation-tuples": 404},
			want: map[string]string{
				smoke.KetoWriteTuple:   "writing documents:doc-test#viewer@user:alice-test: status 404",
				smoke.KetoCheckAllowed: "skipped: keto/write-tuple failed",
				smoke.KetoExpand:       "skipped: keto/write-tuple failed",
				smoke.KetoDeleteTuple:  "skipped: keto/write-tuple failed",
				smoke.KetoCheckDeleted: "skipped: keto/delete-tuple failed",
			},
		},
		{
			name: "logout broken leaves the token valid",
			fail: map[string]int{"DELETE /self-service/logout/api": 500},
			want: map[string]string{
				smoke.KratosLogout:          "logging out: status 500",
				smoke.KratosWhoamiLoggedOut: "skipped: kratos/logout failed",
			},
		},
		{
			name: "token endpoint down, cleanup still runs",
			fail: map[string]int{"POST /oauth2/token": 503},
			want: map[string]string{
				smoke.HydraIssueToken:      "requesting token: status 503",
				smoke.HydraIntrospectToken: "skipped: hydra/issue-token failed",
			},
		},
		{
			name: "one failure in each service",
			fail: map[string]int{
				"POST /admin/oauth2/introspect": 500, "GET /sessions/whoami": 500,
				"GET /relation-tuples/expand": 500,
			},
			want: map[string]string{
				smoke.HydraIntrospectToken:  "status 500",
				smoke.KratosWhoami:          "status 500",
				smoke.KratosWhoamiLoggedOut: "want status 401",
				smoke.KetoExpand:            "status 500",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			report := smoke.Run(context.Background(), configFor(newFake(t, tt.fail)))

			require.Equal(t, allChecks, checkNames(report), "every check must be reported")
			for _, res := range report.Results {
				want, failing := tt.want[res.Check]
				if !failing {
					assert.True(t, res.OK, "%s should pass: %s", res.Check, res.Detail)
					continue
				}
				assert.False(t, res.OK, "%s should fail", res.Check)
				assert.Contains(t, res.Detail, want, res.Check)
			}
			assert.False(t, report.OK())
			assert.Equal(t, len(tt.want), report.Failed)
			assert.Equal(t, len(allChecks)-len(tt.want), report.Passed)
		})
	}
}

func TestRun_NotConfigured(t *testing.T) {
	report := smoke.Run(context.Background(), smoke.Config{RunID: "x"})

	require.Equal(t, allChecks, checkNames(report))
	first := map[string]string{
		smoke.HydraCreateClient: "not configured: set HYDRA_ADMIN_URL",
		smoke.KratosRegister:    "not configured: set KRATOS_PUBLIC_URL",
		smoke.KetoWriteTuple:    "not configured: set KETO_WRITE_REMOTE",
		smoke.KetoCheckDenied:   "not configured: set KETO_READ_REMOTE",
	}
	for _, res := range report.Results {
		assert.False(t, res.OK, res.Check)
		assert.Zero(t, res.Latency, res.Check)
		if want, ok := first[res.Check]; ok {
			assert.Equal(t, want, res.Detail)
		}
	}
	assert.Equal(t, len(allChecks), report.Failed)
}

func TestRun_UniqueDataPerRun(t *testing.T) {
	srv := newFake(t, nil)
	cfg := configFor(srv)
	cfg.RunID = ""

	a := smoke.Run(context.Background(), cfg)
	b := smoke.Run(context.Background(), cfg)
	require.NotEqual(t, a.RunID, b.RunID)
	ra, _ := a.Result(smoke.KetoWriteTuple)
	rb, _ := b.Result(smoke.KetoWriteTuple)
	assert.NotEqual(t, ra.Detail, rb.Detail)
	assert.Contains(t, ra.Detail, a.RunID)
}

func TestConfig_Validate(t *testing.T) {
	tests := []struct {
		name    string
		cfg     smoke.Config
		wantErr string
	}{
		{name: "empty is allowed", cfg: smoke.Config{}},
		{name: "absolute urls", cfg: smoke.Config{HydraAdminURL: "https://h:4445"}},
		{
			name:    "relative url",
			cfg:     smoke.Config{KetoReadURL: "keto:4466"},
			wantErr: `KETO_READ_REMOTE: got "keto:4466"; want an absolute http(s) URL`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if tt.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.wantErr)
		})
	}
}

func TestFromEnv(t *testing.T) {
	env := map[string]string{
		"HYDRA_ADMIN_URL": "a", "HYDRA_PUBLIC_URL": "b", "HYDRA_ISSUER": "c",
		"KRATOS_ADMIN_URL": "d", "KRATOS_PUBLIC_URL": "e", "KETO_READ_REMOTE": "f",
		"KETO_WRITE_REMOTE": "g",
	}
	cfg := smoke.FromEnv(func(k string) string { return env[k] })
	assert.Equal(t, smoke.Config{
		HydraAdminURL: "a", HydraPublicURL: "b", HydraIssuer: "c", KratosAdminURL: "d",
		KratosPublicURL: "e", KetoReadURL: "f", KetoWriteURL: "g",
	}, cfg)
}

// fixedReport is a report with known values, so its table and JSON can be compared to golden
// files.
func fixedReport() *smoke.Report {
	return &smoke.Report{
		RunID:     "abcd1234",
		StartedAt: time.Date(2025, 6, 15, 22, 28, 38, 0, time.UTC),
		Duration:  1234567890 * time.Nanosecond,
		Passed:    2,
		Failed:    2,
		Results: []smoke.Result{
			{
				Service: "hydra", Check: smoke.HydraCreateClient, OK: true,
				Latency: 11834 * time.Microsecond, Detail: "client_id=c-1",
			},
			{
				Service: "hydra", Check: smoke.HydraIssueToken, OK: false,
				Latency: 950 * time.Microsecond, Detail: "requesting token: status 503:\nline two",
			},
			{
				Service: "hydra", Check: smoke.HydraIntrospectToken, OK: false,
				Detail: "skipped: hydra/issue-token failed",
			},
			{
				Service: "keto", Check: smoke.KetoExpand, OK: true,
				Latency: 2500 * time.Millisecond, Detail: "user:alice in tree",
			},
		},
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.MkdirAll("testdata", 0o755))
		require.NoError(t, os.WriteFile(path, got, 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test ./internal/smoke -update to create it")
	assert.Equal(t, string(want), string(got))
}

func TestReport_Output(t *testing.T) {
	tests := []struct {
		name  string
		write func(*smoke.Report, *bytes.Buffer) error
	}{
		{name: "report.table", write: func(r *smoke.Report, b *bytes.Buffer) error {
			return r.WriteTable(b)
		}},
		{name: "report.json", write: func(r *smoke.Report, b *bytes.Buffer) error {
			return r.WriteJSON(b)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			require.NoError(t, tt.write(fixedReport(), &buf))
			golden(t, tt.name, buf.Bytes())
		})
	}
}

func TestReport_JSONRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	require.NoError(t, fixedReport().WriteJSON(&buf))

	var back smoke.Report
	require.NoError(t, json.Unmarshal(buf.Bytes(), &back))
	assert.Equal(t, *fixedReport(), back)
}

func TestReport_OK(t *testing.T) {
	tests := []struct {
		name   string
		report smoke.Report
		want   bool
	}{
		{name: "all passed", report: smoke.Report{Passed: 3}, want: true},
		{name: "one failed", report: smoke.Report{Passed: 3, Failed: 1}, want: false},
		{name: "nothing ran", report: smoke.Report{}, want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.report.OK())
		})
	}
}
