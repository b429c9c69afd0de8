// Package smoke checks a running Ory Hydra, Kratos and Keto deployment end to end with the flows
// of the tutorial's test section: an OAuth2 client credentials grant, a Kratos registration,
// login, session and logout, and a Keto permission round trip.
//
// Run executes every check even when an earlier one failed; a check that depends on a failed one
// is reported as failed with "skipped: <dependency> failed". Every run uses fresh names (a random
// run id), so runs may repeat and overlap against one deployment. Each run deletes what it
// created.
//
// Only grants without a user are checked on Hydra (client_credentials): the authorization code
// flow needs a login and consent application, which this project does not ship.
package smoke

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	client "github.com/ory/client-go"
)

// DefaultNamespace is the Keto namespace the checks write to, as in the tutorial.
const DefaultNamespace = "documents"

// Config says where the servers are. An empty URL fails the checks that need it, with a message
// naming the environment variable.
type Config struct {
	// HydraAdminURL is Hydra's admin API, such as http://127.0.0.1:4445 (HYDRA_ADMIN_URL).
	HydraAdminURL string
	// HydraPublicURL is Hydra's public API, such as http://127.0.0.1:4444 (HYDRA_PUBLIC_URL).
	HydraPublicURL string
	// HydraIssuer is the issuer introspected tokens must carry (HYDRA_ISSUER). Optional;
	// default HydraPublicURL.
	HydraIssuer string
	// KratosAdminURL is Kratos' admin API, such as http://127.0.0.1:4434 (KRATOS_ADMIN_URL).
	KratosAdminURL string
	// KratosPublicURL is Kratos' public API, such as http://127.0.0.1:4433 (KRATOS_PUBLIC_URL).
	KratosPublicURL string
	// KetoReadURL is Keto's read API, such as http://127.0.0.1:4466 (KETO_READ_REMOTE).
	KetoReadURL string
	// KetoWriteURL is Keto's write API, such as http://127.0.0.1:4467 (KETO_WRITE_REMOTE).
	KetoWriteURL string
	// KetoNamespace is the namespace tuples are written to. Optional; default "documents".
	KetoNamespace string
	// Timeout bounds each check. Optional; default 15s.
	Timeout time.Duration
	// HTTPClient sends the requests. Optional; default a client without a global timeout.
	HTTPClient *http.Client
	// RunID makes the names of the test data unique. Optional; default 8 random characters.
	RunID string
}

// Env variable names, as the tutorial exports them.
const (
	EnvHydraAdminURL   = "HYDRA_ADMIN_URL"
	EnvHydraPublicURL  = "HYDRA_PUBLIC_URL"
	EnvHydraIssuer     = "HYDRA_ISSUER"
	EnvKratosAdminURL  = "KRATOS_ADMIN_URL"
	EnvKratosPublicURL = "KRATOS_PUBLIC_URL"
	EnvKetoReadURL     = "KETO_READ_REMOTE"
	EnvKetoWriteURL    = "KETO_WRITE_REMOTE"
)

// FromEnv returns a Config with the URLs read through getenv, usually os.Getenv.
func FromEnv(getenv func(string) string) Config {
	return Config{
		HydraAdminURL:   getenv(EnvHydraAdminURL),
		HydraPublicURL:  getenv(EnvHydraPublicURL),
		HydraIssuer:     getenv(EnvHydraIssuer),
		KratosAdminURL:  getenv(EnvKratosAdminURL),
		KratosPublicURL: getenv(EnvKratosPublicURL),
		KetoReadURL:     getenv(EnvKetoReadURL),
		KetoWriteURL:    getenv(EnvKetoWriteURL),
	}
}

// Validate reports URLs that are set but are not absolute http(s) URLs. Empty URLs are not
// errors: the checks that need them fail on their own.
func (c Config) Validate() error {
	var bad []string
	for _, u := range []struct{ env, value string }{
		{EnvHydraAdminURL, c.HydraAdminURL},
		{EnvHydraPublicURL, c.HydraPublicURL},
		{EnvHydraIssuer, c.HydraIssuer},
		{EnvKratosAdminURL, c.KratosAdminURL},
		{EnvKratosPublicURL, c.KratosPublicURL},
		{EnvKetoReadURL, c.KetoReadURL},
		{EnvKetoWriteURL, c.KetoWriteURL},
	} {
		if u.value == "" {
			continue
		}
		p, err := url.Parse(u.value)
		if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			bad = append(bad, fmt.Sprintf("%s: got %q; want an absolute http(s) URL", u.env, u.value))
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("invalid config: %s", strings.Join(bad, "; "))
	}
	return nil
}

func (c Config) withDefaults() Config {
	if c.HydraIssuer == "" {
		c.HydraIssuer = c.HydraPublicURL
	}
	if c.KetoNamespace == "" {
		c.KetoNamespace = DefaultNamespace
	}
	if c.Timeout == 0 {
		c.Timeout = 15 * time.Second
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{}
	}
	if c.RunID == "" {
		c.RunID = strings.ToLower(rand.Text()[:8])
	}
	return c
}

// apiClient returns a client-go client for one base URL, or nil when the URL is empty.
func apiClient(baseURL string, hc *http.Client) *client.APIClient {
	if baseURL == "" {
		return nil
	}
	cfg := client.NewConfiguration()
	cfg.Servers = client.ServerConfigurations{{URL: strings.TrimRight(baseURL, "/")}}
	cfg.HTTPClient = hc
	cfg.UserAgent = "identity-smoke"
	return client.NewAPIClient(cfg)
}

// Run executes every check against the servers in cfg and returns the report. It never stops
// early: a failed check only fails the checks that depend on it.
func Run(ctx context.Context, cfg Config) *Report {
	cfg = cfg.withDefaults()
	r := newRunner(cfg)

	report := &Report{RunID: cfg.RunID, StartedAt: time.Now().UTC()}
	status := map[string]bool{}
	for _, c := range r.checks() {
		res := Result{Service: c.service, Check: c.name}
		switch {
		case missingDep(c, status) != "":
			res.Detail = "skipped: " + missingDep(c, status) + " failed"
		case missingURL(c) != "":
			res.Detail = "not configured: set " + missingURL(c)
		default:
			cctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
			began := time.Now()
			detail, err := c.run(cctx)
			res.Latency = time.Since(began)
			cancel()
			res.OK, res.Detail = err == nil, detail
			if err != nil {
				res.Detail = err.Error()
			}
		}
		status[c.name] = res.OK
		report.add(res)
	}
	report.Duration = time.Since(report.StartedAt)
	return report
}

func missingDep(c check, status map[string]bool) string {
	for _, dep := range c.needs {
		if !status[dep] {
			return dep
		}
	}
	return ""
}

func missingURL(c check) string {
	var missing []string
	for _, u := range c.urls {
		if u.value == "" {
			missing = append(missing, u.env)
		}
	}
	return strings.Join(missing, ", ")
}
