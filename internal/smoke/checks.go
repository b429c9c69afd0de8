package smoke

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	client "github.com/ory/client-go"

	"github.com/ory-identity-layer/identity/internal/orybody"
)

// Check names, in run order.
const (
	HydraCreateClient     = "hydra/create-client"
	HydraIssueToken       = "hydra/issue-token"
	HydraIntrospectToken  = "hydra/introspect-token"
	HydraDeleteClient     = "hydra/delete-client"
	KratosRegister        = "kratos/register"
	KratosLoginWrongPass  = "kratos/login-wrong-password"
	KratosLogin           = "kratos/login"
	KratosWhoami          = "kratos/whoami"
	KratosLogout          = "kratos/logout"
	KratosWhoamiLoggedOut = "kratos/whoami-after-logout"
	KratosDeleteIdentity  = "kratos/delete-identity"
	KetoWriteTuple        = "keto/write-tuple"
	KetoCheckAllowed      = "keto/check-allowed"
	KetoCheckDenied       = "keto/check-denied"
	KetoExpand            = "keto/expand"
	KetoDeleteTuple       = "keto/delete-tuple"
	KetoCheckDeleted      = "keto/check-after-delete"
)

// kratosInvalidCredentials is the id of Kratos' "The provided credentials are invalid" message.
const kratosInvalidCredentials = 4000006

// check is one step of the run.
type check struct {
	service string
	name    string
	// needs are checks that must have passed; otherwise this one is skipped and fails.
	needs []string
	// urls are the base URLs this check calls.
	urls []envURL
	run  func(ctx context.Context) (detail string, err error)
}

type envURL struct{ env, value string }

// runner holds the clients and the data the checks pass to each other.
type runner struct {
	cfg                         Config
	hydraAdmin, hydraPublic     *client.APIClient
	kratosAdmin, kratosPublic   *client.APIClient
	ketoRead, ketoWrite         *client.APIClient
	clientID, clientSecret      string
	accessToken                 string
	email, password, identityID string
	sessionToken                string
	object, viewer, stranger    string
}

func newRunner(cfg Config) *runner {
	return &runner{
		cfg:          cfg,
		hydraAdmin:   apiClient(cfg.HydraAdminURL, cfg.HTTPClient),
		hydraPublic:  apiClient(cfg.HydraPublicURL, cfg.HTTPClient),
		kratosAdmin:  apiClient(cfg.KratosAdminURL, cfg.HTTPClient),
		kratosPublic: apiClient(cfg.KratosPublicURL, cfg.HTTPClient),
		ketoRead:     apiClient(cfg.KetoReadURL, cfg.HTTPClient),
		ketoWrite:    apiClient(cfg.KetoWriteURL, cfg.HTTPClient),
		email:        "smoke-" + cfg.RunID + "@example.com",
		// Kratos rejects passwords close to the identifier; random text is far from it.
		password: rand.Text(),
		object:   "doc-" + cfg.RunID,
		viewer:   "user:alice-" + cfg.RunID,
		stranger: "user:mallory-" + cfg.RunID,
	}
}

func (r *runner) checks() []check {
	c := r.cfg
	hydraAdmin := envURL{EnvHydraAdminURL, c.HydraAdminURL}
	hydraPublic := envURL{EnvHydraPublicURL, c.HydraPublicURL}
	kratosAdmin := envURL{EnvKratosAdminURL, c.KratosAdminURL}
	kratosPublic := envURL{EnvKratosPublicURL, c.KratosPublicURL}
	ketoRead := envURL{EnvKetoReadURL, c.KetoReadURL}
	ketoWrite := envURL{EnvKetoWriteURL, c.KetoWriteURL}

	return []check{
		{"hydra", HydraCreateClient, nil, []envURL{hydraAdmin}, r.hydraCreateClient},
		{
			"hydra", HydraIssueToken,
			[]string{HydraCreateClient},
			[]envURL{hydraPublic},
			r.hydraIssueToken,
		},
		{
			"hydra", HydraIntrospectToken,
			[]string{HydraIssueToken},
			[]envURL{hydraAdmin},
			r.hydraIntrospect,
		},
		{
			"hydra", HydraDeleteClient,
			[]string{HydraCreateClient},
			[]envURL{hydraAdmin},
			r.hydraDeleteClient,
		},

		{"kratos", KratosRegister, nil, []envURL{kratosPublic}, r.kratosRegister},
		{
			"kratos", KratosLoginWrongPass,
			[]string{KratosRegister},
			[]envURL{kratosPublic},
			r.kratosLoginWrongPassword,
		},
		{"kratos", KratosLogin, []string{KratosRegister}, []envURL{kratosPublic}, r.kratosLogin},
		{"kratos", KratosWhoami, []string{KratosLogin}, []envURL{kratosPublic}, r.kratosWhoami},
		{"kratos", KratosLogout, []string{KratosLogin}, []envURL{kratosPublic}, r.kratosLogout},
		{
			"kratos", KratosWhoamiLoggedOut,
			[]string{KratosLogout},
			[]envURL{kratosPublic},
			r.kratosWhoamiAfterLogout,
		},
		{
			"kratos", KratosDeleteIdentity,
			[]string{KratosRegister},
			[]envURL{kratosAdmin},
			r.kratosDeleteIdentity,
		},

		{"keto", KetoWriteTuple, nil, []envURL{ketoWrite}, r.ketoWriteTuple},
		{
			"keto", KetoCheckAllowed,
			[]string{KetoWriteTuple},
			[]envURL{ketoRead},
			r.ketoCheckAllowed,
		},
		// The denial check needs no tuple: it proves a fresh subject is not let in. Keto also
		// answers 403 for a namespace it does not know, so this check cannot detect a missing
		// namespace; keto/write-tuple does.
		{"keto", KetoCheckDenied, nil, []envURL{ketoRead}, r.ketoCheckDenied},
		{"keto", KetoExpand, []string{KetoWriteTuple}, []envURL{ketoRead}, r.ketoExpand},
		{"keto", KetoDeleteTuple, []string{KetoWriteTuple}, []envURL{ketoWrite}, r.ketoDeleteTuple},
		{
			"keto", KetoCheckDeleted,
			[]string{KetoDeleteTuple},
			[]envURL{ketoRead},
			r.ketoCheckAfterDelete,
		},
	}
}

// --- Hydra ---

func (r *runner) hydraCreateClient(ctx context.Context) (string, error) {
	body := client.NewOAuth2Client()
	body.SetClientName("identity-smoke-" + r.cfg.RunID)
	body.SetGrantTypes([]string{"client_credentials"})
	body.SetResponseTypes([]string{"token"})
	created, resp, err := r.hydraAdmin.OAuth2API.CreateOAuth2Client(ctx).OAuth2Client(*body).Execute()
	if err != nil {
		return "", apiError("creating oauth2 client", resp, err)
	}
	r.clientID, r.clientSecret = created.GetClientId(), created.GetClientSecret()
	if r.clientID == "" || r.clientSecret == "" {
		return "", errors.New("created client has no id or secret")
	}
	return "client_id=" + r.clientID, nil
}

func (r *runner) hydraIssueToken(ctx context.Context) (string, error) {
	ctx = context.WithValue(ctx, client.ContextBasicAuth, client.BasicAuth{
		UserName: r.clientID, Password: r.clientSecret,
	})
	tok, resp, err := r.hydraPublic.OAuth2API.Oauth2TokenExchange(ctx).
		GrantType("client_credentials").Execute()
	if err != nil {
		return "", apiError("requesting token", resp, err)
	}
	r.accessToken = tok.GetAccessToken()
	if r.accessToken == "" {
		return "", errors.New("token response has no access_token")
	}
	return fmt.Sprintf("token_type=%s expires_in=%ds", tok.GetTokenType(), tok.GetExpiresIn()), nil
}

func (r *runner) hydraIntrospect(ctx context.Context) (string, error) {
	info, resp, err := r.hydraAdmin.OAuth2API.IntrospectOAuth2Token(ctx).
		Token(r.accessToken).Execute()
	if err != nil {
		return "", apiError("introspecting token", resp, err)
	}
	var problems []string
	if !info.GetActive() {
		problems = append(problems, "token is not active")
	}
	if got := info.GetClientId(); got != r.clientID {
		problems = append(problems, fmt.Sprintf("client_id is %q, want %q", got, r.clientID))
	}
	// Hydra adds a trailing slash to an issuer given without path in some versions; both
	// spellings name the same issuer.
	if got := info.GetIss(); trimSlash(got) != trimSlash(r.cfg.HydraIssuer) {
		problems = append(problems, fmt.Sprintf("iss is %q, want %q (HYDRA_ISSUER)", got,
			r.cfg.HydraIssuer))
	}
	if len(problems) > 0 {
		return "", errors.New(strings.Join(problems, "; "))
	}
	return "active, iss=" + info.GetIss(), nil
}

func (r *runner) hydraDeleteClient(ctx context.Context) (string, error) {
	resp, err := r.hydraAdmin.OAuth2API.DeleteOAuth2Client(ctx, r.clientID).Execute()
	if err != nil {
		return "", apiError("deleting oauth2 client", resp, err)
	}
	return fmt.Sprintf("status %d", resp.StatusCode), nil
}

// --- Kratos ---

func (r *runner) kratosRegister(ctx context.Context) (string, error) {
	flow, resp, err := r.kratosPublic.FrontendAPI.CreateNativeRegistrationFlow(ctx).Execute()
	if err != nil {
		return "", apiError("creating registration flow", resp, err)
	}
	traits := map[string]any{
		"email": r.email,
		"name":  map[string]any{"first": "Smoke", "last": "Test " + r.cfg.RunID},
	}
	body := client.UpdateRegistrationFlowWithPasswordMethodAsUpdateRegistrationFlowBody(
		client.NewUpdateRegistrationFlowWithPasswordMethod("password", r.password, traits))
	done, resp, err := r.kratosPublic.FrontendAPI.UpdateRegistrationFlow(ctx).
		Flow(flow.GetId()).UpdateRegistrationFlowBody(body).Execute()
	if err != nil {
		return "", apiError("submitting registration", resp, err)
	}
	r.identityID = done.Identity.GetId()
	if r.identityID == "" {
		return "", errors.New("registration returned no identity id")
	}
	return "identity=" + r.identityID + " email=" + r.email, nil
}

func (r *runner) kratosLoginWith(ctx context.Context, password string) (
	*client.SuccessfulNativeLogin, *http.Response, error,
) {
	flow, resp, err := r.kratosPublic.FrontendAPI.CreateNativeLoginFlow(ctx).Execute()
	if err != nil {
		return nil, resp, fmt.Errorf("creating login flow: %w", apiError("", resp, err))
	}
	body := client.UpdateLoginFlowWithPasswordMethodAsUpdateLoginFlowBody(
		client.NewUpdateLoginFlowWithPasswordMethod(r.email, "password", password))
	ok, resp, err := r.kratosPublic.FrontendAPI.UpdateLoginFlow(ctx).Flow(flow.GetId()).
		UpdateLoginFlowBody(body).Execute()
	if err != nil {
		// Wrapped with %w: callers read the flow's messages through errors.As.
		return nil, resp, fmt.Errorf("submitting login flow: %w", err)
	}
	return ok, resp, nil
}

func (r *runner) kratosLoginWrongPassword(ctx context.Context) (string, error) {
	_, resp, err := r.kratosLoginWith(ctx, "wrong-"+r.password)
	if err == nil {
		return "", errors.New("login with a wrong password succeeded")
	}
	if resp == nil {
		return "", err
	}
	if resp.StatusCode != http.StatusBadRequest {
		return "", apiError(fmt.Sprintf("want status 400, got %d", resp.StatusCode), resp, err)
	}
	ids := flowMessageIDs(openAPIBody(err))
	for _, id := range ids {
		if id == kratosInvalidCredentials {
			return fmt.Sprintf("status 400, message %d", id), nil
		}
	}
	return "", fmt.Errorf("status 400 without message %d (got message ids %v)",
		kratosInvalidCredentials, ids)
}

func (r *runner) kratosLogin(ctx context.Context) (string, error) {
	ok, resp, err := r.kratosLoginWith(ctx, r.password)
	if err != nil {
		return "", apiError("logging in", resp, err)
	}
	r.sessionToken = ok.GetSessionToken()
	if r.sessionToken == "" {
		return "", errors.New("login returned no session_token")
	}
	return "session=" + ok.Session.GetId(), nil
}

func (r *runner) kratosWhoami(ctx context.Context) (string, error) {
	sess, resp, err := r.kratosPublic.FrontendAPI.ToSession(ctx).
		XSessionToken(r.sessionToken).Execute()
	if err != nil {
		return "", apiError("calling whoami", resp, err)
	}
	if !sess.GetActive() {
		return "", errors.New("session is not active")
	}
	if got := sess.Identity.GetId(); got != r.identityID {
		return "", fmt.Errorf("session identity is %q, want %q", got, r.identityID)
	}
	return "active session of identity " + r.identityID, nil
}

func (r *runner) kratosLogout(ctx context.Context) (string, error) {
	resp, err := r.kratosPublic.FrontendAPI.PerformNativeLogout(ctx).
		PerformNativeLogoutBody(*client.NewPerformNativeLogoutBody(r.sessionToken)).Execute()
	if err != nil {
		return "", apiError("logging out", resp, err)
	}
	return fmt.Sprintf("status %d", resp.StatusCode), nil
}

func (r *runner) kratosWhoamiAfterLogout(ctx context.Context) (string, error) {
	_, resp, err := r.kratosPublic.FrontendAPI.ToSession(ctx).
		XSessionToken(r.sessionToken).Execute()
	if err == nil {
		return "", errors.New("whoami accepted the session token after logout")
	}
	if resp == nil || resp.StatusCode != http.StatusUnauthorized {
		return "", apiError("want status 401", resp, err)
	}
	return "status 401, token refused", nil
}

func (r *runner) kratosDeleteIdentity(ctx context.Context) (string, error) {
	resp, err := r.kratosAdmin.IdentityAPI.DeleteIdentity(ctx, r.identityID).Execute()
	if err != nil {
		return "", apiError("deleting identity", resp, err)
	}
	return fmt.Sprintf("status %d", resp.StatusCode), nil
}

// --- Keto ---

func (r *runner) tuple() string {
	return fmt.Sprintf("%s:%s#viewer@%s", r.cfg.KetoNamespace, r.object, r.viewer)
}

func (r *runner) ketoWriteTuple(ctx context.Context) (string, error) {
	body := client.NewCreateRelationshipBody()
	body.SetNamespace(r.cfg.KetoNamespace)
	body.SetObject(r.object)
	body.SetRelation("viewer")
	body.SetSubjectId(r.viewer)
	_, resp, err := r.ketoWrite.RelationshipAPI.CreateRelationship(ctx).
		CreateRelationshipBody(*body).Execute()
	if err != nil {
		return "", apiError("writing "+r.tuple(), resp, err)
	}
	return r.tuple(), nil
}

// ketoCheck asks whether subject may view the object. Keto's /relation-tuples/check answers 403
// with allowed=false for a denial: that is an answer, not an error.
func (r *runner) ketoCheck(ctx context.Context, subject string) (bool, error) {
	res, resp, err := r.ketoRead.PermissionAPI.CheckPermissionOrError(ctx).
		Namespace(r.cfg.KetoNamespace).Object(r.object).Relation("viewer").
		SubjectId(subject).Execute()
	if err != nil {
		if resp != nil && resp.StatusCode == http.StatusForbidden {
			return false, nil
		}
		return false, apiError("checking "+subject, resp, err)
	}
	return res.GetAllowed(), nil
}

func (r *runner) ketoCheckAllowed(ctx context.Context) (string, error) {
	allowed, err := r.ketoCheck(ctx, r.viewer)
	if err != nil {
		return "", err
	}
	if !allowed {
		return "", fmt.Errorf("%s denied although the tuple exists", r.viewer)
	}
	return r.viewer + " allowed", nil
}

func (r *runner) ketoCheckDenied(ctx context.Context) (string, error) {
	allowed, err := r.ketoCheck(ctx, r.stranger)
	if err != nil {
		return "", err
	}
	if allowed {
		return "", fmt.Errorf("%s allowed without any tuple", r.stranger)
	}
	return r.stranger + " denied", nil
}

func (r *runner) ketoExpand(ctx context.Context) (string, error) {
	tree, resp, err := r.ketoRead.PermissionAPI.ExpandPermissions(ctx).
		Namespace(r.cfg.KetoNamespace).Object(r.object).Relation("viewer").MaxDepth(3).Execute()
	if err != nil {
		return "", apiError("expanding", resp, err)
	}
	if !treeHasSubject(tree, r.viewer) {
		return "", fmt.Errorf("%s missing from the expanded tree", r.viewer)
	}
	return r.viewer + " in tree", nil
}

func treeHasSubject(t *client.ExpandedPermissionTree, subject string) bool {
	if t == nil {
		return false
	}
	if t.Tuple != nil && t.Tuple.GetSubjectId() == subject {
		return true
	}
	for i := range t.Children {
		if treeHasSubject(&t.Children[i], subject) {
			return true
		}
	}
	return false
}

func (r *runner) ketoDeleteTuple(ctx context.Context) (string, error) {
	resp, err := r.ketoWrite.RelationshipAPI.DeleteRelationships(ctx).
		Namespace(r.cfg.KetoNamespace).Object(r.object).Relation("viewer").
		SubjectId(r.viewer).Execute()
	if err != nil {
		return "", apiError("deleting "+r.tuple(), resp, err)
	}
	return fmt.Sprintf("status %d", resp.StatusCode), nil
}

func (r *runner) ketoCheckAfterDelete(ctx context.Context) (string, error) {
	allowed, err := r.ketoCheck(ctx, r.viewer)
	if err != nil {
		return "", err
	}
	if allowed {
		return "", fmt.Errorf("%s still allowed after the tuple was deleted", r.viewer)
	}
	return r.viewer + " denied", nil
}

// --- errors ---

// apiError turns a client-go error into one line: what was done, the HTTP status and the
// server's own message when the body has one.
func apiError(doing string, resp *http.Response, err error) error {
	msg := err.Error()
	if resp != nil {
		msg = fmt.Sprintf("status %d", resp.StatusCode)
		if detail := orybody.Message(openAPIBody(err)); detail != "" {
			msg += ": " + detail
		} else if !strings.HasPrefix(err.Error(), fmt.Sprint(resp.StatusCode)) {
			msg += ": " + err.Error()
		}
	}
	if doing == "" {
		return errors.New(msg)
	}
	return fmt.Errorf("%s: %s", doing, msg)
}

func openAPIBody(err error) []byte {
	var apiErr *client.GenericOpenAPIError
	if errors.As(err, &apiErr) {
		return apiErr.Body()
	}
	return nil
}

// flowMessageIDs returns the ids of a Kratos flow's ui.messages.
func flowMessageIDs(body []byte) []int {
	var flow struct {
		UI struct {
			Messages []struct {
				ID int `json:"id"`
			} `json:"messages"`
		} `json:"ui"`
	}
	if json.Unmarshal(body, &flow) != nil {
		return nil
	}
	ids := make([]int, 0, len(flow.UI.Messages))
	for _, m := range flow.UI.Messages {
		ids = append(ids, m.ID)
	}
	return ids
}

func trimSlash(s string) string { return strings.TrimRight(s, "/") }
