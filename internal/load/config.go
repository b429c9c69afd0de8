// Package load drives Ory Hydra, Kratos and Keto with a mixed workload and measures it honestly:
// every operation's latency goes into an HDR histogram, every response's status is counted,
// distinct errors are kept up to a stated cap, and a verify phase reads back every write the
// servers acknowledged.
//
// Two load models are offered. The closed model runs a fixed number of workers per service, each
// starting its next operation when the previous one ends, so the offered load adapts to the
// servers' speed. The open model starts operations at a fixed rate whatever the servers do, and
// counts every scheduled operation that could not start on time because all workers were busy
// (missed), instead of queueing it and hiding the wait.
//
// cmd/load is the command; the fault tests under tests/e2e use the package directly.
package load

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/ory-identity-layer/identity/internal/smoke"
)

// Service names, as accepted in Config.Services.
const (
	Hydra  = "hydra"
	Kratos = "kratos"
	Keto   = "keto"
)

// Services lists every service the generator can drive, in report order.
var Services = []string{Hydra, Kratos, Keto}

// Load models, as accepted in Config.Model.
const (
	// Closed runs Concurrency workers per service back to back.
	Closed = "closed"
	// Open starts Rate operations per second per service, with at most Concurrency in flight.
	Open = "open"
)

// Defaults of Config.
const (
	DefaultConcurrency   = 4
	DefaultReadRatio     = 0.8
	DefaultTimeout       = 10 * time.Second
	DefaultHydraClients  = 4
	DefaultMaxErrors     = 20
	DefaultMaxTracked    = 100_000
	DefaultKetoNamespace = smoke.DefaultNamespace
)

// Endpoints are the servers' base URLs, named after the environment variables of the smoke
// checker. A service needs only its own two.
type Endpoints struct {
	HydraAdminURL   string `json:"hydra_admin_url,omitempty"`
	HydraPublicURL  string `json:"hydra_public_url,omitempty"`
	KratosAdminURL  string `json:"kratos_admin_url,omitempty"`
	KratosPublicURL string `json:"kratos_public_url,omitempty"`
	KetoReadURL     string `json:"keto_read_remote,omitempty"`
	KetoWriteURL    string `json:"keto_write_remote,omitempty"`
}

// EndpointsFromEnv reads the six variables through getenv, usually os.Getenv.
func EndpointsFromEnv(getenv func(string) string) Endpoints {
	return Endpoints{
		HydraAdminURL:   getenv(smoke.EnvHydraAdminURL),
		HydraPublicURL:  getenv(smoke.EnvHydraPublicURL),
		KratosAdminURL:  getenv(smoke.EnvKratosAdminURL),
		KratosPublicURL: getenv(smoke.EnvKratosPublicURL),
		KetoReadURL:     getenv(smoke.EnvKetoReadURL),
		KetoWriteURL:    getenv(smoke.EnvKetoWriteURL),
	}
}

// envURL pairs one endpoint with its variable name, for messages.
type envURL struct{ env, value string }

func (e Endpoints) of(service string) []envURL {
	switch service {
	case Hydra:
		return []envURL{
			{smoke.EnvHydraAdminURL, e.HydraAdminURL},
			{smoke.EnvHydraPublicURL, e.HydraPublicURL},
		}
	case Kratos:
		return []envURL{
			{smoke.EnvKratosAdminURL, e.KratosAdminURL},
			{smoke.EnvKratosPublicURL, e.KratosPublicURL},
		}
	case Keto:
		return []envURL{
			{smoke.EnvKetoReadURL, e.KetoReadURL},
			{smoke.EnvKetoWriteURL, e.KetoWriteURL},
		}
	}
	return nil
}

// Config describes one run. The zero value is not valid: Services is required, and
// WithDefaults fills the rest.
type Config struct {
	// Services to drive, any subset of hydra, kratos and keto; they run at the same time.
	// Required.
	Services []string `json:"services"`
	// Model is Closed or Open. Optional; default Closed.
	Model string `json:"model"`
	// Concurrency is the number of workers per service: the fixed load of the closed model,
	// the most operations in flight in the open model. Optional; default 4; 1 to 1024.
	Concurrency int `json:"concurrency"`
	// Rate is the target of the open model, in operations per second per service. Required
	// with Open, refused with Closed.
	Rate float64 `json:"rate,omitempty"`
	// Duration is how long load is offered. Optional; 0 runs until Stop (Ctrl-C in cmd/load).
	Duration time.Duration `json:"duration_ns"`
	// ReadRatio is the share of operations that read, 0 to 1; the rest write. Optional;
	// default 0.8. A read that needs earlier data (a token, an identity, a tuple) writes
	// instead while there is none.
	ReadRatio float64 `json:"read_ratio"`
	// Timeout bounds each operation, all of its requests together. Optional; default 10s.
	Timeout time.Duration `json:"timeout_ns"`
	// Verify reads back every acknowledged write after the load, in a phase of its own.
	// Optional; default false.
	Verify bool `json:"verify"`
	// HydraClients is the number of OAuth2 clients created before the load, not counted, and
	// deleted at the end. Optional; default 4.
	HydraClients int `json:"hydra_clients"`
	// KetoNamespace holds the tuples written. Optional; default "documents".
	KetoNamespace string `json:"keto_namespace"`
	// MaxErrors caps the distinct error messages kept per operation; later ones are counted
	// as dropped. Optional; default 20.
	MaxErrors int `json:"max_errors"`
	// MaxTracked caps the acknowledged writes kept per service for reads and verification;
	// writes past it are counted as untracked. Optional; default 100000. It bounds memory.
	MaxTracked int `json:"max_tracked"`
	// RunID prefixes every name the run creates. Optional; default 8 random characters.
	RunID string `json:"run_id"`
	// Endpoints are where the servers are. Each requested service needs its two URLs.
	Endpoints Endpoints `json:"endpoints"`
}

// WithDefaults returns c with every optional zero field set to its default.
func (c Config) WithDefaults() Config {
	c.Model = orDefault(c.Model, Closed)
	c.Concurrency = orDefault(c.Concurrency, DefaultConcurrency)
	c.Timeout = orDefault(c.Timeout, DefaultTimeout)
	c.HydraClients = orDefault(c.HydraClients, DefaultHydraClients)
	c.KetoNamespace = orDefault(c.KetoNamespace, DefaultKetoNamespace)
	c.MaxErrors = orDefault(c.MaxErrors, DefaultMaxErrors)
	c.MaxTracked = orDefault(c.MaxTracked, DefaultMaxTracked)
	c.RunID = orDefault(c.RunID, newRunID())
	return c
}

// Validate reports every field that is not accepted, naming its flag or file key.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	if len(c.Services) == 0 {
		bad("services: required; want a subset of %s", strings.Join(Services, ", "))
	}
	for i, s := range c.Services {
		if !slices.Contains(Services, s) {
			bad("services: got %q; want a subset of %s", s, strings.Join(Services, ", "))
		} else if slices.Index(c.Services, s) != i {
			bad("services: %q given twice", s)
		}
		for _, u := range c.Endpoints.of(s) {
			checkURL(bad, u)
		}
	}

	switch c.Model {
	case Closed:
		if c.Rate != 0 {
			bad("rate: got %g; the closed model takes no rate (use model open)", c.Rate)
		}
	case Open:
		if c.Rate <= 0 || c.Rate > 100_000 {
			bad("rate: got %g; want operations per second per service, above 0 and "+
				"at most 100000", c.Rate)
		}
	default:
		bad("model: got %q; want closed or open", c.Model)
	}
	if c.Concurrency < 1 || c.Concurrency > 1024 {
		bad("concurrency: got %d; want 1 to 1024 workers per service", c.Concurrency)
	}
	if c.Duration < 0 {
		bad("duration: got %s; want 0 (until stopped) or more", c.Duration)
	}
	if c.ReadRatio < 0 || c.ReadRatio > 1 {
		bad("read_ratio: got %g; want 0 (writes only) to 1 (reads only)", c.ReadRatio)
	}
	if c.Timeout <= 0 {
		bad("timeout: got %s; want a positive duration", c.Timeout)
	}
	if c.HydraClients < 1 || c.HydraClients > 100 {
		bad("hydra_clients: got %d; want 1 to 100", c.HydraClients)
	}
	if c.MaxErrors < 1 {
		bad("max_errors: got %d; want 1 or more", c.MaxErrors)
	}
	if c.MaxTracked < 1 {
		bad("max_tracked: got %d; want 1 or more", c.MaxTracked)
	}
	return errors.Join(errs...)
}

func checkURL(bad func(string, ...any), u envURL) {
	if u.value == "" {
		bad("%s: required for this service; want an absolute http(s) URL", u.env)
		return
	}
	p, err := url.Parse(u.value)
	if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
		bad("%s: got %q; want an absolute http(s) URL", u.env, u.value)
	}
}

// File is the YAML configuration file of cmd/load. Durations are strings such as "30s".
// Every key is optional; flags given on the command line win over the file.
type File struct {
	Services      []string  `json:"services"`
	Model         string    `json:"model"`
	Concurrency   int       `json:"concurrency"`
	Rate          float64   `json:"rate"`
	Duration      string    `json:"duration"`
	ReadRatio     *float64  `json:"read_ratio"`
	Timeout       string    `json:"timeout"`
	Verify        bool      `json:"verify"`
	HydraClients  int       `json:"hydra_clients"`
	KetoNamespace string    `json:"keto_namespace"`
	MaxErrors     int       `json:"max_errors"`
	MaxTracked    int       `json:"max_tracked"`
	RunID         string    `json:"run_id"`
	Endpoints     Endpoints `json:"endpoints"`
	// Local configures the local stack started by cmd/load --local.
	Local Local `json:"local"`
}

// ReadFile parses a YAML configuration file. Unknown keys are errors, so a typo is not
// silently ignored.
func ReadFile(path string) (File, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return File{}, fmt.Errorf("reading config: %w", err)
	}
	var f File
	if err := yaml.UnmarshalStrict(raw, &f); err != nil {
		return File{}, fmt.Errorf("parsing %s: %w", path, err)
	}
	return f, nil
}

// Apply copies the file's settings onto c, leaving fields the file does not set.
func (f File) Apply(c Config) (Config, error) {
	var errs []error
	setDuration := func(key, raw string, dst *time.Duration) {
		if raw == "" {
			return
		}
		d, err := time.ParseDuration(raw)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: got %q; want a duration such as 30s", key, raw))
			return
		}
		*dst = d
	}
	setDuration("duration", f.Duration, &c.Duration)
	setDuration("timeout", f.Timeout, &c.Timeout)

	if len(f.Services) > 0 {
		c.Services = f.Services
	}
	if f.ReadRatio != nil {
		c.ReadRatio = *f.ReadRatio
	}
	c.Model = orDefault(f.Model, c.Model)
	c.Concurrency = orDefault(f.Concurrency, c.Concurrency)
	c.Rate = orDefault(f.Rate, c.Rate)
	c.Verify = c.Verify || f.Verify
	c.HydraClients = orDefault(f.HydraClients, c.HydraClients)
	c.KetoNamespace = orDefault(f.KetoNamespace, c.KetoNamespace)
	c.MaxErrors = orDefault(f.MaxErrors, c.MaxErrors)
	c.MaxTracked = orDefault(f.MaxTracked, c.MaxTracked)
	c.RunID = orDefault(f.RunID, c.RunID)

	e := &c.Endpoints
	e.HydraAdminURL = orDefault(f.Endpoints.HydraAdminURL, e.HydraAdminURL)
	e.HydraPublicURL = orDefault(f.Endpoints.HydraPublicURL, e.HydraPublicURL)
	e.KratosAdminURL = orDefault(f.Endpoints.KratosAdminURL, e.KratosAdminURL)
	e.KratosPublicURL = orDefault(f.Endpoints.KratosPublicURL, e.KratosPublicURL)
	e.KetoReadURL = orDefault(f.Endpoints.KetoReadURL, e.KetoReadURL)
	e.KetoWriteURL = orDefault(f.Endpoints.KetoWriteURL, e.KetoWriteURL)
	return c, errors.Join(errs...)
}

func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}
