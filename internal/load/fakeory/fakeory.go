// Package fakeory is an in-memory stand-in for the Hydra, Kratos and Keto endpoints the load
// generator calls, served by httptest. Tests of internal/load and cmd/load use it to run the
// generator under the race detector without the real servers. It checks what the real servers
// check (client secrets, passwords, session tokens) and can be told to misbehave.
package fakeory

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Faults make the server misbehave. Set them before or during a run with Server.SetFaults.
type Faults struct {
	// Delay holds every answer this long.
	Delay time.Duration
	// FailEvery answers every n-th request with a 500 whose message names the request's
	// number, so that each failure has a distinct message. 0 never fails.
	FailEvery int64
	// Down answers every request with 503.
	Down bool
	// ForgetTuples acknowledges Keto writes without storing them.
	ForgetTuples bool
	// IgnoreFilter makes the identity list ignore credentials_identifier, as a server that
	// does not support the filter would.
	IgnoreFilter bool
}

// Server is the fake. Its URL serves every API; each of the six endpoint URLs may point at it.
type Server struct {
	*httptest.Server

	requests atomic.Int64

	mu         sync.Mutex
	faults     Faults
	clients    map[string]string // id -> secret
	tokens     map[string]string // token -> client id
	identities map[string]identity
	sessions   map[string]string // token -> identity id
	tuples     map[string]bool
}

type identity struct {
	ID       string            `json:"id"`
	Traits   map[string]string `json:"traits"`
	password string
}

// New starts a fake server; the caller closes it.
func New() *Server {
	s := &Server{
		clients: map[string]string{}, tokens: map[string]string{},
		identities: map[string]identity{}, sessions: map[string]string{},
		tuples: map[string]bool{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /admin/clients", s.createClient)
	mux.HandleFunc("DELETE /admin/clients/{id}", s.deleteClient)
	mux.HandleFunc("POST /oauth2/token", s.token)
	mux.HandleFunc("POST /admin/oauth2/introspect", s.introspect)
	mux.HandleFunc("GET /self-service/registration/api", s.newFlow)
	mux.HandleFunc("GET /self-service/login/api", s.newFlow)
	mux.HandleFunc("POST /self-service/registration", s.register)
	mux.HandleFunc("POST /self-service/login", s.login)
	mux.HandleFunc("GET /sessions/whoami", s.whoami)
	mux.HandleFunc("GET /admin/identities", s.listIdentities)
	mux.HandleFunc("PUT /admin/relation-tuples", s.writeTuple)
	mux.HandleFunc("GET /relation-tuples/check", s.check)
	s.Server = httptest.NewServer(s.faulty(mux))
	return s
}

// SetFaults replaces the faults.
func (s *Server) SetFaults(f Faults) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = f
}

// Requests counts every request received.
func (s *Server) Requests() int64 { return s.requests.Load() }

// Env returns the six endpoint variables, all pointing at the server.
func (s *Server) Env() []string {
	var env []string
	for _, k := range []string{
		"HYDRA_ADMIN_URL", "HYDRA_PUBLIC_URL", "KRATOS_ADMIN_URL",
		"KRATOS_PUBLIC_URL", "KETO_READ_REMOTE", "KETO_WRITE_REMOTE",
	} {
		env = append(env, k+"="+s.URL)
	}
	return env
}

func (s *Server) faulty(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := s.requests.Add(1)
		s.mu.Lock()
		f := s.faults
		s.mu.Unlock()
		if f.Delay > 0 {
			time.Sleep(f.Delay)
		}
		switch {
		case f.Down:
			herodot(w, http.StatusServiceUnavailable, "service unavailable")
		case f.FailEvery > 0 && n%f.FailEvery == 0:
			herodot(w, http.StatusInternalServerError, fmt.Sprintf("injected failure %d", n))
		default:
			next.ServeHTTP(w, r)
		}
	})
}

func (s *Server) createClient(w http.ResponseWriter, _ *http.Request) {
	id, secret := rand.Text(), rand.Text()
	s.mu.Lock()
	s.clients[id] = secret
	s.mu.Unlock()
	reply(w, http.StatusCreated, map[string]string{"client_id": id, "client_secret": secret})
}

func (s *Server) deleteClient(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	delete(s.clients, r.PathValue("id"))
	s.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	id, secret, ok := r.BasicAuth()
	s.mu.Lock()
	defer s.mu.Unlock()
	if !ok || s.clients[id] != secret || r.FormValue("grant_type") != "client_credentials" {
		reply(w, http.StatusUnauthorized, map[string]string{"error": "invalid_client"})
		return
	}
	tok := rand.Text()
	s.tokens[tok] = id
	reply(w, http.StatusOK, map[string]any{
		"access_token": tok, "expires_in": 3600,
		"token_type": "bearer",
	})
}

func (s *Server) introspect(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	client, ok := s.tokens[r.FormValue("token")]
	s.mu.Unlock()
	reply(w, http.StatusOK, map[string]any{"active": ok, "client_id": client})
}

func (s *Server) newFlow(w http.ResponseWriter, _ *http.Request) {
	reply(w, http.StatusOK, map[string]string{"id": uuid()})
}

func (s *Server) register(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Password string            `json:"password"`
		Traits   map[string]string `json:"traits"`
	}
	if json.NewDecoder(r.Body).Decode(&body) != nil || r.URL.Query().Get("flow") == "" {
		herodot(w, http.StatusBadRequest, "bad registration")
		return
	}
	id := identity{ID: uuid(), Traits: body.Traits, password: body.Password}
	s.mu.Lock()
	s.identities[id.ID] = id
	s.mu.Unlock()
	reply(w, http.StatusOK, map[string]any{"identity": id})
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	var body struct{ Identifier, Password string }
	_ = json.NewDecoder(r.Body).Decode(&body)
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range s.identities {
		if id.Traits["email"] == body.Identifier && id.password == body.Password {
			tok := rand.Text()
			s.sessions[tok] = id.ID
			reply(w, http.StatusOK, map[string]any{
				"session_token": tok,
				"session":       map[string]any{"identity": id},
			})
			return
		}
	}
	reply(w, http.StatusBadRequest, map[string]any{"ui": map[string]any{"messages": []any{
		map[string]any{"id": 4000006, "text": "The provided credentials are invalid"},
	}}})
}

func (s *Server) whoami(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	id, ok := s.sessions[r.Header.Get("X-Session-Token")]
	s.mu.Unlock()
	if !ok {
		herodot(w, http.StatusUnauthorized, "no session")
		return
	}
	reply(w, http.StatusOK, map[string]any{
		"active":   true,
		"identity": map[string]string{"id": id},
	})
}

func (s *Server) listIdentities(w http.ResponseWriter, r *http.Request) {
	email := r.URL.Query().Get("credentials_identifier")
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []identity{}
	for _, id := range s.identities {
		if s.faults.IgnoreFilter || strings.EqualFold(id.Traits["email"], email) {
			out = append(out, id)
		}
	}
	reply(w, http.StatusOK, out)
}

func (s *Server) writeTuple(w http.ResponseWriter, r *http.Request) {
	var t map[string]string
	if json.NewDecoder(r.Body).Decode(&t) != nil {
		herodot(w, http.StatusBadRequest, "bad tuple")
		return
	}
	s.mu.Lock()
	if !s.faults.ForgetTuples {
		s.tuples[tupleKey(t["namespace"], t["object"], t["relation"], t["subject_id"])] = true
	}
	s.mu.Unlock()
	reply(w, http.StatusCreated, t)
}

func (s *Server) check(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	s.mu.Lock()
	ok := s.tuples[tupleKey(q.Get("namespace"), q.Get("object"), q.Get("relation"),
		q.Get("subject_id"))]
	s.mu.Unlock()
	status := http.StatusForbidden
	if ok {
		status = http.StatusOK
	}
	reply(w, status, map[string]bool{"allowed": ok})
}

func tupleKey(parts ...string) string { return strings.Join(parts, "\x00") }

func reply(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func herodot(w http.ResponseWriter, status int, msg string) {
	reply(w, status, map[string]any{"error": map[string]any{"code": status, "message": msg}})
}

func uuid() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
