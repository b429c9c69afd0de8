package load

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync/atomic"
	"time"
)

// Hydra operation names.
const (
	OpHydraToken      = "hydra/token"
	OpHydraIntrospect = "hydra/introspect"
)

// hydraLoad issues client_credentials tokens (writes) and introspects them (reads).
type hydraLoad struct {
	r       *Runner
	clients []oauthClient
	next    atomic.Uint64
	tokens  *tracked[issuedToken]
}

type oauthClient struct{ id, secret string }

// issuedToken is an acknowledged write: a token Hydra returned, valid until expires.
type issuedToken struct {
	token    string
	clientID string
	expires  time.Time
}

func newHydraLoad(r *Runner) *hydraLoad {
	return &hydraLoad{r: r, tokens: newTracked[issuedToken](r.cfg.MaxTracked)}
}

func (h *hydraLoad) ops() []string { return []string{OpHydraToken, OpHydraIntrospect} }

func (h *hydraLoad) untracked() int64 { return h.tokens.overflow() }

// setup creates the OAuth2 clients the tokens are issued to. Several clients spread the
// tokens over more than one client row.
func (h *hydraLoad) setup(ctx context.Context) error {
	for i := range h.r.cfg.HydraClients {
		var created struct {
			ID     string `json:"client_id"`
			Secret string `json:"client_secret"`
		}
		_, err := send(ctx, h.r.client, request{
			method: http.MethodPost,
			url:    joinURL(h.r.cfg.Endpoints.HydraAdminURL, "/admin/clients"),
			json: map[string]any{
				"client_name":                fmt.Sprintf("identity-load-%s-%d", h.r.cfg.RunID, i),
				"grant_types":                []string{"client_credentials"},
				"response_types":             []string{"token"},
				"token_endpoint_auth_method": "client_secret_basic",
			},
		}, &created)
		if err != nil {
			return fmt.Errorf("creating oauth2 client: %w", err)
		}
		if created.ID == "" || created.Secret == "" {
			return errors.New("creating oauth2 client: answer has no client_id or secret")
		}
		h.clients = append(h.clients, oauthClient{created.ID, created.Secret})
	}
	return nil
}

// teardown deletes the clients, and with them their tokens; it runs after verification.
func (h *hydraLoad) teardown(ctx context.Context) error {
	var errs []error
	for _, c := range h.clients {
		_, err := send(ctx, h.r.client, request{
			method: http.MethodDelete,
			url: joinURL(h.r.cfg.Endpoints.HydraAdminURL,
				"/admin/clients/"+url.PathEscape(c.id)),
		}, nil)
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func (h *hydraLoad) step(ctx context.Context, due time.Time, read bool) {
	if read {
		if tok, ok := h.tokens.random(); ok {
			_ = h.r.do(ctx, OpHydraIntrospect, due, func(ctx context.Context) (int, error) {
				status, active, err := h.introspect(ctx, tok)
				if err == nil && !active && time.Now().Before(tok.expires) {
					err = errors.New("introspection: acknowledged token is not active")
				}
				return status, err
			})
			return
		}
	}
	c := h.clients[h.next.Add(1)%uint64(len(h.clients))]
	_ = h.r.do(ctx, OpHydraToken, due, func(ctx context.Context) (int, error) {
		return h.issue(ctx, c)
	})
}

func (h *hydraLoad) issue(ctx context.Context, c oauthClient) (int, error) {
	var tok struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int64  `json:"expires_in"`
	}
	status, err := send(ctx, h.r.client, request{
		method: http.MethodPost,
		url:    joinURL(h.r.cfg.Endpoints.HydraPublicURL, "/oauth2/token"),
		form:   url.Values{"grant_type": {"client_credentials"}},
		basic:  &[2]string{url.QueryEscape(c.id), url.QueryEscape(c.secret)},
	}, &tok)
	if err != nil {
		return status, err
	}
	if tok.AccessToken == "" || tok.ExpiresIn <= 0 {
		return status, errors.New("token answer has no access_token or expires_in")
	}
	h.tokens.add(issuedToken{
		token: tok.AccessToken, clientID: c.id,
		expires: time.Now().Add(time.Duration(tok.ExpiresIn) * time.Second),
	})
	return status, nil
}

// introspect asks Hydra's admin API about tok and checks that an active answer names the
// client the token was issued to.
func (h *hydraLoad) introspect(ctx context.Context, tok issuedToken) (int, bool, error) {
	var info struct {
		Active   bool   `json:"active"`
		ClientID string `json:"client_id"`
	}
	status, err := send(ctx, h.r.client, request{
		method: http.MethodPost,
		url:    joinURL(h.r.cfg.Endpoints.HydraAdminURL, "/admin/oauth2/introspect"),
		form:   url.Values{"token": {tok.token}},
	}, &info)
	if err != nil {
		return status, false, err
	}
	if info.Active && info.ClientID != tok.clientID {
		return status, false, fmt.Errorf("introspection: token belongs to another client")
	}
	return status, info.Active, nil
}

// verify introspects every acknowledged token that has not expired yet.
func (h *hydraLoad) verify(ctx context.Context, v *verifier) VerifyService {
	tokens := h.tokens.all()
	out := VerifyService{Service: Hydra, What: "tokens introspect as active"}
	return v.run(ctx, out, len(tokens), func(ctx context.Context, i int) (verdict, string) {
		tok := tokens[i]
		// A token about to expire could lapse between the question and the answer.
		if time.Until(tok.expires) < 5*time.Second {
			return skipped, ""
		}
		_, active, err := h.introspect(ctx, tok)
		switch {
		case err != nil:
			return unsure, err.Error()
		case !active:
			return lost, "token of client " + tok.clientID + " is not active"
		}
		return found, ""
	})
}
