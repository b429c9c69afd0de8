package ory

import (
	"fmt"
	"net/url"
)

// Hydra defaults. The ports are Hydra's own defaults.
const (
	DefaultHydraPublicPort = 4444
	DefaultHydraAdminPort  = 4445
	// MinHydraSecretLength is the shortest secrets.system or secrets.cookie entry accepted. Hydra
	// derives its encryption key from the first system secret, so short secrets weaken every
	// stored token.
	MinHydraSecretLength = 32
)

// HydraSettings configure Ory Hydra, the OAuth2 and OpenID Connect server.
type HydraSettings struct {
	// DSN is the database connection (key hydra.dsn). Required.
	DSN DSN
	// ListenHost is the address both APIs bind to (serve.public.host, serve.admin.host).
	// Optional; default "" binds every interface, as in a container. The local stack uses
	// 127.0.0.1.
	ListenHost string
	// PublicPort is the port of the public API: /oauth2/token, /oauth2/auth, discovery (key
	// hydra.public_port). Optional; default 4444.
	PublicPort int
	// AdminPort is the port of the admin API: clients, introspection (key hydra.admin_port).
	// Optional; default 4445. It must differ from PublicPort.
	AdminPort int
	// Issuer is the issuer URL written into every token (urls.self.issuer, key hydra.issuer).
	// Required: an absolute http(s) URL that clients reach Hydra's public API at; https unless
	// Dev is true. Hydra refuses to start without https outside development mode.
	Issuer string
	// PublicURL is the public API's base URL when it differs from Issuer (urls.self.public, key
	// hydra.public_url). Optional; default Issuer.
	PublicURL string
	// LoginURL is the login page of the login and consent application (urls.login, key
	// hydra.login_url). Optional; default Hydra's built-in fallback page, so only grants without
	// a user, such as client_credentials, work.
	LoginURL string
	// ConsentURL is the consent page of that application (urls.consent, key hydra.consent_url).
	// Optional; default Hydra's built-in fallback page.
	ConsentURL string
	// SystemSecrets encrypt data at rest (secrets.system, key hydra.secrets.system). Required:
	// at least one entry of at least 32 characters. The first entry encrypts; later entries only
	// decrypt, for rotation. The caller supplies them, typically from a secret store.
	SystemSecrets []string
	// CookieSecrets sign cookies (secrets.cookie, key hydra.secrets.cookie). Required: at least
	// one entry of at least 32 characters; rotation as for SystemSecrets.
	CookieSecrets []string
	// Dev turns on Hydra's development mode (key hydra.dev): http issuers and redirect URIs are
	// accepted. It is the server's --dev flag (HydraServeArgs; the Helm chart's hydra.dev value),
	// not a file key: Hydra lets the flag's default override the file. Optional; default false.
	// Must be false when Production is true.
	Dev bool
	// Production marks a production deployment (key hydra.production). Optional; default false.
	// It forbids Dev.
	Production bool
	// AccessTokenStrategy is "opaque" or "jwt" (strategies.access_token). Optional; default
	// "opaque", which keeps token contents on the server and makes introspection the check.
	AccessTokenStrategy string
	// LogLevel is one of LogLevels (log.level). Optional; default "info".
	LogLevel string
	// LogFormat is "text" or "json" (log.format). Optional; default "json".
	LogFormat string
}

func (s HydraSettings) withDefaults() HydraSettings {
	s.PublicPort = orDefault(s.PublicPort, DefaultHydraPublicPort)
	s.AdminPort = orDefault(s.AdminPort, DefaultHydraAdminPort)
	s.AccessTokenStrategy = orDefault(s.AccessTokenStrategy, "opaque")
	s.LogLevel = orDefault(s.LogLevel, DefaultLogLevel)
	s.LogFormat = orDefault(s.LogFormat, DefaultLogFormat)
	return s
}

// Validate reports every setting that Hydra would reject or that this project forbids, each
// error naming its key under "hydra".
func (s HydraSettings) Validate() error {
	var f fieldErrors
	s = s.withDefaults()

	f.addErr(s.DSN.validate("hydra.dsn"))
	checkPorts(&f, "hydra", map[string]int{
		"admin_port": s.AdminPort, "public_port": s.PublicPort,
	})

	checkHTTPURL(&f, "hydra.issuer", s.Issuer, true)
	if u, err := url.Parse(s.Issuer); err == nil && u.Scheme == "http" && !s.Dev {
		f.add("hydra.issuer", "got %q; want an https URL unless hydra.dev is true", s.Issuer)
	}
	checkHTTPURL(&f, "hydra.public_url", s.PublicURL, false)
	checkHTTPURL(&f, "hydra.login_url", s.LoginURL, false)
	checkHTTPURL(&f, "hydra.consent_url", s.ConsentURL, false)

	checkSecrets(&f, "hydra.secrets.system", s.SystemSecrets, MinHydraSecretLength, 0)
	checkSecrets(&f, "hydra.secrets.cookie", s.CookieSecrets, MinHydraSecretLength, 0)

	if s.Production && s.Dev {
		f.add("hydra.dev", "must be false when hydra.production is true")
	}
	checkOneOf(&f, "hydra.access_token_strategy", s.AccessTokenStrategy,
		[]string{"opaque", "jwt"})
	checkOneOf(&f, "hydra.log_level", s.LogLevel, LogLevels)
	checkOneOf(&f, "hydra.log_format", s.LogFormat, LogFormats)
	return f.err()
}

// hydraConfig mirrors the part of Hydra's configuration file this project sets.
type hydraConfig struct {
	DSN        string          `json:"dsn"`
	Serve      hydraServe      `json:"serve"`
	URLs       hydraURLs       `json:"urls"`
	Secrets    hydraSecrets    `json:"secrets"`
	Strategies hydraStrategies `json:"strategies"`
	Log        logConfig       `json:"log"`
	SQA        sqaConfig       `json:"sqa"`
}

type hydraServe struct {
	Public listen `json:"public"`
	Admin  listen `json:"admin"`
}

type listen struct {
	Host string `json:"host,omitempty"`
	Port int    `json:"port"`
}

type hydraURLs struct {
	Self    hydraSelf `json:"self"`
	Login   string    `json:"login,omitempty"`
	Consent string    `json:"consent,omitempty"`
}

type hydraSelf struct {
	Issuer string `json:"issuer"`
	Public string `json:"public,omitempty"`
}

type hydraSecrets struct {
	System []string `json:"system"`
	Cookie []string `json:"cookie"`
}

type hydraStrategies struct {
	AccessToken string `json:"access_token"`
}

type logConfig struct {
	Level  string `json:"level"`
	Format string `json:"format"`
	// LeakSensitiveValues stays false: it would write tokens and DSNs into the logs.
	LeakSensitiveValues bool `json:"leak_sensitive_values"`
}

// sqaConfig turns off the anonymous usage reports the servers send by default; the cloud stack
// must not call out to third parties and the local stack has no internet.
type sqaConfig struct {
	OptOut bool `json:"opt_out"`
}

// HydraConfig validates s and returns Hydra's configuration as a map, the shape of the Helm
// chart's hydra.config value. The map holds secrets.
func HydraConfig(s HydraSettings) (map[string]any, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	s = s.withDefaults()
	dsn, err := s.DSN.URL()
	if err != nil {
		return nil, fmt.Errorf("rendering hydra dsn: %w", err)
	}

	cfg := hydraConfig{
		DSN: dsn,
		Serve: hydraServe{
			Public: listen{Host: s.ListenHost, Port: s.PublicPort},
			Admin:  listen{Host: s.ListenHost, Port: s.AdminPort},
		},
		URLs: hydraURLs{
			Self:    hydraSelf{Issuer: s.Issuer, Public: s.PublicURL},
			Login:   s.LoginURL,
			Consent: s.ConsentURL,
		},
		Secrets:    hydraSecrets{System: s.SystemSecrets, Cookie: s.CookieSecrets},
		Strategies: hydraStrategies{AccessToken: s.AccessTokenStrategy},
		Log:        logConfig{Level: s.LogLevel, Format: s.LogFormat},
		SQA:        sqaConfig{OptOut: true},
	}
	return toMap(cfg)
}

// RenderHydra validates s and renders Hydra's configuration file as YAML.
func RenderHydra(s HydraSettings) ([]byte, error) {
	cfg, err := HydraConfig(s)
	if err != nil {
		return nil, err
	}
	return Marshal(cfg)
}

// HydraServeArgs returns the arguments of the Hydra server command, after the binary name.
// dev is HydraSettings.Dev.
func HydraServeArgs(configPath string, dev bool) []string {
	args := []string{"serve", "all", "--config", configPath, "--sqa-opt-out"}
	if dev {
		args = append(args, "--dev")
	}
	return args
}

// HydraMigrateArgs returns the arguments that apply Hydra's SQL migrations, reading the DSN
// from the configuration file (-e reads the DSN variable first, so callers leave it unset).
func HydraMigrateArgs(configPath string) []string {
	return []string{"migrate", "sql", "up", "--read-from-env", "--config", configPath, "--yes"}
}
