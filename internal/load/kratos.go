package load

import (
	"context"
	crand "crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"
)

// Kratos operation names.
const (
	OpKratosRegister = "kratos/register"
	OpKratosLogin    = "kratos/login"
	OpKratosWhoami   = "kratos/whoami"
	OpKratosLookup   = "kratos/lookup"
)

// kratosSessions is how many recent session tokens are kept for whoami.
const kratosSessions = 1024

// kratosLoad registers identities (writes); its reads rotate over a password login, a whoami
// with a session token from an earlier login, and an admin lookup of an identity by email.
type kratosLoad struct {
	r          *Runner
	seq        atomic.Uint64
	reads      atomic.Uint64
	identities *tracked[identity]
	sessions   *ring[session]
}

// identity is an acknowledged write: a registration Kratos accepted.
type identity struct {
	id, email, password string
}

type session struct {
	token, identityID string
}

func newKratosLoad(r *Runner) *kratosLoad {
	return &kratosLoad{
		r:          r,
		identities: newTracked[identity](r.cfg.MaxTracked),
		sessions:   newRing[session](kratosSessions),
	}
}

func (k *kratosLoad) ops() []string {
	return []string{OpKratosRegister, OpKratosLogin, OpKratosWhoami, OpKratosLookup}
}

func (k *kratosLoad) untracked() int64 { return k.identities.overflow() }

func (k *kratosLoad) setup(context.Context) error { return nil }

// teardown leaves the identities in place: deleting thousands would take longer than the run.
// Their emails carry the run id.
func (k *kratosLoad) teardown(context.Context) error { return nil }

func (k *kratosLoad) step(ctx context.Context, due time.Time, read bool) {
	id, ok := k.identities.random()
	if !read || !ok {
		_ = k.r.do(ctx, OpKratosRegister, due, k.register)
		return
	}
	switch k.reads.Add(1) % 3 {
	case 0:
		_ = k.r.do(ctx, OpKratosLogin, due, func(ctx context.Context) (int, error) {
			return k.login(ctx, id)
		})
	case 1:
		s, ok := k.sessions.random()
		if !ok {
			_ = k.r.do(ctx, OpKratosLogin, due, func(ctx context.Context) (int, error) {
				return k.login(ctx, id)
			})
			return
		}
		_ = k.r.do(ctx, OpKratosWhoami, due, func(ctx context.Context) (int, error) {
			return k.whoami(ctx, s)
		})
	default:
		_ = k.r.do(ctx, OpKratosLookup, due, func(ctx context.Context) (int, error) {
			status, _, err := k.lookup(ctx, id)
			return status, err
		})
	}
}

// flowID creates a native (API) self-service flow and returns its id.
func (k *kratosLoad) flowID(ctx context.Context, kind string) (int, string, error) {
	var flow struct {
		ID string `json:"id"`
	}
	status, err := send(ctx, k.r.client, request{
		method: http.MethodGet,
		url:    joinURL(k.r.cfg.Endpoints.KratosPublicURL, "/self-service/"+kind+"/api"),
	}, &flow)
	if err == nil && flow.ID == "" {
		err = fmt.Errorf("%s flow has no id", kind)
	}
	return status, flow.ID, err
}

func (k *kratosLoad) register(ctx context.Context) (int, error) {
	status, flow, err := k.flowID(ctx, "registration")
	if err != nil {
		return status, err
	}
	id := identity{
		email: fmt.Sprintf("load-%s-%d@example.com", k.r.cfg.RunID, k.seq.Add(1)),
		// Random text is far from the email, which Kratos' similarity check requires.
		password: crand.Text(),
	}
	var done struct {
		Identity struct {
			ID string `json:"id"`
		} `json:"identity"`
	}
	status, err = send(ctx, k.r.client, request{
		method: http.MethodPost,
		url: joinURL(k.r.cfg.Endpoints.KratosPublicURL,
			"/self-service/registration?flow="+url.QueryEscape(flow)),
		json: map[string]any{
			"method": "password", "password": id.password,
			"traits": map[string]any{"email": id.email},
		},
	}, &done)
	if err != nil {
		return status, err
	}
	if done.Identity.ID == "" {
		return status, errors.New("registration answer has no identity id")
	}
	id.id = done.Identity.ID
	k.identities.add(id)
	return status, nil
}

func (k *kratosLoad) login(ctx context.Context, id identity) (int, error) {
	status, flow, err := k.flowID(ctx, "login")
	if err != nil {
		return status, err
	}
	var ok struct {
		Token   string `json:"session_token"`
		Session struct {
			Identity struct {
				ID string `json:"id"`
			} `json:"identity"`
		} `json:"session"`
	}
	status, err = send(ctx, k.r.client, request{
		method: http.MethodPost,
		url: joinURL(k.r.cfg.Endpoints.KratosPublicURL,
			"/self-service/login?flow="+url.QueryEscape(flow)),
		json: map[string]any{
			"method": "password", "identifier": id.email, "password": id.password,
		},
	}, &ok)
	if err != nil {
		return status, err
	}
	if ok.Token == "" || ok.Session.Identity.ID != id.id {
		return status, errors.New("login answer has no session token for the identity")
	}
	k.sessions.add(session{token: ok.Token, identityID: id.id})
	return status, nil
}

func (k *kratosLoad) whoami(ctx context.Context, s session) (int, error) {
	var sess struct {
		Active   bool `json:"active"`
		Identity struct {
			ID string `json:"id"`
		} `json:"identity"`
	}
	status, err := send(ctx, k.r.client, request{
		method: http.MethodGet,
		url:    joinURL(k.r.cfg.Endpoints.KratosPublicURL, "/sessions/whoami"),
		header: http.Header{"X-Session-Token": {s.token}},
	}, &sess)
	if err != nil {
		return status, err
	}
	if !sess.Active || sess.Identity.ID != s.identityID {
		return status, errors.New("whoami: session not active for its identity")
	}
	return status, nil
}

// lookup finds an identity by email with the admin API's credentials_identifier filter. It
// checks that the filter was applied: exactly one identity, the one registered. A server that
// ignored the parameter would answer with a page of every identity.
func (k *kratosLoad) lookup(ctx context.Context, id identity) (int, bool, error) {
	var found []struct {
		ID     string `json:"id"`
		Traits struct {
			Email string `json:"email"`
		} `json:"traits"`
	}
	status, err := send(ctx, k.r.client, request{
		method: http.MethodGet,
		url: joinURL(k.r.cfg.Endpoints.KratosAdminURL,
			"/admin/identities?credentials_identifier="+url.QueryEscape(id.email)),
	}, &found)
	switch {
	case err != nil:
		return status, false, err
	case len(found) == 0:
		return status, false, nil
	case len(found) > 1:
		return status, false, fmt.Errorf("lookup by credentials_identifier returned %d "+
			"identities, want 1: the filter was not applied", len(found))
	case found[0].ID != id.id || !strings.EqualFold(found[0].Traits.Email, id.email):
		return status, false, errors.New("lookup by credentials_identifier returned " +
			"another identity")
	}
	return status, true, nil
}

// verify looks up every acknowledged identity by email and logs in with its password.
func (k *kratosLoad) verify(ctx context.Context, v *verifier) VerifyService {
	ids := k.identities.all()
	out := VerifyService{Service: Kratos, What: "identities found by email and logged in"}
	return v.run(ctx, out, len(ids), func(ctx context.Context, i int) (verdict, string) {
		id := ids[i]
		status, exists, err := k.lookup(ctx, id)
		switch {
		case err != nil && (status == 0 || status >= 500):
			return unsure, err.Error()
		case err != nil:
			return lost, id.email + ": " + err.Error()
		case !exists:
			return lost, id.email + ": no identity with this email"
		}
		status, err = k.login(ctx, id)
		switch {
		case err != nil && (status == 0 || status >= 500):
			return unsure, err.Error()
		case err != nil:
			return lost, id.email + ": cannot log in: " + err.Error()
		}
		return found, ""
	})
}
