package ory

import (
	_ "embed"
	"encoding/base64"
	"fmt"
	"net/url"
)

// Kratos defaults. The ports are Kratos' own defaults.
const (
	DefaultKratosPublicPort = 4433
	DefaultKratosAdminPort  = 4434
	// KratosCipherLength is the exact length of every secrets.cipher entry: the
	// xchacha20-poly1305 cipher takes a 32-byte key.
	KratosCipherLength = 32
	// MinKratosSecretLength is the shortest secrets.default or secrets.cookie entry accepted.
	// Kratos itself accepts 16; this project asks for the same strength as Hydra's secrets.
	MinKratosSecretLength = 32
	// KratosSchemaID is the id of the embedded identity schema.
	KratosSchemaID = "default"
)

// identitySchema is the identity schema of this project: an email address that identifies the
// password credential, and an optional first and last name.
//
//go:embed schemas/identity.default.schema.json
var identitySchema []byte

// IdentitySchema returns the embedded identity JSON schema.
func IdentitySchema() []byte {
	return append([]byte(nil), identitySchema...)
}

// IdentitySchemaURL returns the embedded identity schema as a base64:// URL. Kratos reads the
// schema from the URL itself, so it never fetches one over the network.
func IdentitySchemaURL() string {
	return "base64://" + base64.StdEncoding.EncodeToString(identitySchema)
}

// KratosSettings configure Ory Kratos, the identity and user management server.
type KratosSettings struct {
	// DSN is the database connection (key kratos.dsn). Required.
	DSN DSN
	// ListenHost is the address both APIs bind to (serve.public.host, serve.admin.host).
	// Optional; default "" binds every interface. The local stack uses 127.0.0.1.
	ListenHost string
	// PublicPort is the port of the public API: self-service flows, /sessions/whoami (key
	// kratos.public_port). Optional; default 4433.
	PublicPort int
	// AdminPort is the port of the admin API: identities, sessions (key kratos.admin_port).
	// Optional; default 4434. It must differ from PublicPort.
	AdminPort int
	// PublicBaseURL is the URL clients reach the public API at (serve.public.base_url, key
	// kratos.public_base_url). Required: an absolute http(s) URL. Kratos writes it into flow
	// action URLs, so it must be the externally visible address.
	PublicBaseURL string
	// AdminBaseURL is the URL the admin API is reached at (serve.admin.base_url, key
	// kratos.admin_base_url). Optional; default derived by Kratos from host and port.
	AdminBaseURL string
	// DefaultBrowserReturnURL is where browsers land after a finished flow
	// (selfservice.default_browser_return_url, key kratos.default_browser_return_url).
	// Required: an absolute http(s) URL.
	DefaultBrowserReturnURL string
	// AllowedReturnURLs are further return_to targets browsers may be sent to
	// (selfservice.allowed_return_urls, key kratos.allowed_return_urls). Optional; each an
	// absolute http(s) URL.
	AllowedReturnURLs []string
	// HaveIBeenPwned checks new passwords against the haveibeenpwned.com breach list
	// (selfservice.methods.password.config.haveibeenpwned_enabled, key
	// kratos.password.haveibeenpwned). Optional; default false here, although Kratos defaults
	// to true: the check needs internet access, which the local stack does not have. Production
	// stacks with egress should turn it on.
	HaveIBeenPwned bool
	// Hasher selects the password hashing algorithm and its cost (hashers.*, keys
	// kratos.hasher.*). Optional; default bcrypt at cost 12. See KratosHasher.
	Hasher KratosHasher
	// DefaultSecrets sign and encrypt flows and tokens (secrets.default, key
	// kratos.secrets.default). Required: at least one entry of at least 32 characters; the first
	// signs, later ones only verify, for rotation.
	DefaultSecrets []string
	// CookieSecrets sign session cookies (secrets.cookie, key kratos.secrets.cookie). Required:
	// at least one entry of at least 32 characters; rotation as for DefaultSecrets.
	CookieSecrets []string
	// CipherSecrets encrypt stored credentials such as OIDC tokens with xchacha20-poly1305
	// (secrets.cipher, key kratos.secrets.cipher). Required: at least one entry of exactly 32
	// characters; rotation as for DefaultSecrets.
	CipherSecrets []string
	// CourierSMTPURI is the SMTP server for verification and recovery mail
	// (courier.smtp.connection_uri, key kratos.courier.smtp_uri), for example
	// smtps://user:pass@mail.example.com:465/. Optional; empty disables the courier and with it
	// the verification and recovery flows, which cannot work without mail.
	CourierSMTPURI string
	// CourierFromAddress is the sender of that mail (courier.smtp.from_address, key
	// kratos.courier.from_address). Optional; Kratos' default applies when empty. Only used
	// with CourierSMTPURI.
	CourierFromAddress string
	// Dev turns on Kratos' development mode (key kratos.dev): cookies work without https. It is
	// the server's --dev flag (KratosServeArgs; the Helm chart's kratos.development value), not
	// a file key, as for Hydra. Optional; default false. Must be false when Production is true.
	Dev bool
	// Production marks a production deployment (key kratos.production). Optional; default
	// false. It forbids Dev.
	Production bool
	// LogLevel is one of LogLevels (log.level). Optional; default "info".
	LogLevel string
	// LogFormat is "text" or "json" (log.format). Optional; default "json".
	LogFormat string
}

func (s KratosSettings) withDefaults() KratosSettings {
	s.PublicPort = orDefault(s.PublicPort, DefaultKratosPublicPort)
	s.AdminPort = orDefault(s.AdminPort, DefaultKratosAdminPort)
	s.LogLevel = orDefault(s.LogLevel, DefaultLogLevel)
	s.LogFormat = orDefault(s.LogFormat, DefaultLogFormat)
	s.Hasher = s.Hasher.withDefaults()
	return s
}

// Validate reports every setting that Kratos would reject or that this project forbids, each
// error naming its key under "kratos".
func (s KratosSettings) Validate() error {
	var f fieldErrors
	s = s.withDefaults()

	f.addErr(s.DSN.validate("kratos.dsn"))
	checkPorts(&f, "kratos", map[string]int{
		"admin_port": s.AdminPort, "public_port": s.PublicPort,
	})

	checkHTTPURL(&f, "kratos.public_base_url", s.PublicBaseURL, true)
	checkHTTPURL(&f, "kratos.admin_base_url", s.AdminBaseURL, false)
	checkHTTPURL(&f, "kratos.default_browser_return_url", s.DefaultBrowserReturnURL, true)
	for i, u := range s.AllowedReturnURLs {
		checkHTTPURL(&f, fmt.Sprintf("kratos.allowed_return_urls[%d]", i), u, true)
	}

	s.Hasher.validate(&f, s.Dev)

	checkSecrets(&f, "kratos.secrets.default", s.DefaultSecrets, MinKratosSecretLength, 0)
	checkSecrets(&f, "kratos.secrets.cookie", s.CookieSecrets, MinKratosSecretLength, 0)
	checkSecrets(&f, "kratos.secrets.cipher", s.CipherSecrets,
		KratosCipherLength, KratosCipherLength)

	if s.CourierSMTPURI != "" {
		u, err := url.Parse(s.CourierSMTPURI)
		if err != nil || (u.Scheme != "smtp" && u.Scheme != "smtps") || u.Host == "" {
			// The value may hold a password, so it is not echoed.
			f.add("kratos.courier.smtp_uri", "not an smtp:// or smtps:// URL with a host")
		}
	}

	if s.Production && s.Dev {
		f.add("kratos.dev", "must be false when kratos.production is true")
	}
	checkOneOf(&f, "kratos.log_level", s.LogLevel, LogLevels)
	checkOneOf(&f, "kratos.log_format", s.LogFormat, LogFormats)
	return f.err()
}

type kratosConfig struct {
	DSN         string            `json:"dsn"`
	Serve       kratosServe       `json:"serve"`
	SelfService kratosSelfService `json:"selfservice"`
	Identity    kratosIdentity    `json:"identity"`
	Hashers     kratosHashers     `json:"hashers"`
	Secrets     kratosSecrets     `json:"secrets"`
	Ciphers     kratosCiphers     `json:"ciphers"`
	Courier     *kratosCourier    `json:"courier,omitempty"`
	Log         logConfig         `json:"log"`
}

type kratosServe struct {
	Public kratosListen `json:"public"`
	Admin  kratosListen `json:"admin"`
}

type kratosListen struct {
	Host    string `json:"host,omitempty"`
	Port    int    `json:"port"`
	BaseURL string `json:"base_url,omitempty"`
}

type kratosSelfService struct {
	DefaultBrowserReturnURL string        `json:"default_browser_return_url"`
	AllowedReturnURLs       []string      `json:"allowed_return_urls,omitempty"`
	Methods                 kratosMethods `json:"methods"`
	Flows                   kratosFlows   `json:"flows"`
}

type kratosMethods struct {
	Password kratosPassword `json:"password"`
}

type kratosPassword struct {
	Enabled bool                 `json:"enabled"`
	Config  kratosPasswordConfig `json:"config"`
}

type kratosPasswordConfig struct {
	HaveIBeenPwnedEnabled bool `json:"haveibeenpwned_enabled"`
}

type kratosFlows struct {
	Registration enabled `json:"registration"`
	Verification enabled `json:"verification"`
	Recovery     enabled `json:"recovery"`
}

type enabled struct {
	Enabled bool `json:"enabled"`
}

type kratosIdentity struct {
	DefaultSchemaID string         `json:"default_schema_id"`
	Schemas         []kratosSchema `json:"schemas"`
}

type kratosSchema struct {
	ID  string `json:"id"`
	URL string `json:"url"`
}

type kratosSecrets struct {
	Default []string `json:"default"`
	Cookie  []string `json:"cookie"`
	Cipher  []string `json:"cipher"`
}

type kratosCiphers struct {
	Algorithm string `json:"algorithm"`
}

type kratosCourier struct {
	SMTP kratosSMTP `json:"smtp"`
}

type kratosSMTP struct {
	ConnectionURI string `json:"connection_uri"`
	FromAddress   string `json:"from_address,omitempty"`
}

// KratosConfig validates s and returns Kratos' configuration as a map, the shape of the Helm
// chart's kratos.config value. The map holds secrets.
func KratosConfig(s KratosSettings) (map[string]any, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	s = s.withDefaults()
	dsn, err := s.DSN.URL()
	if err != nil {
		return nil, fmt.Errorf("rendering kratos dsn: %w", err)
	}

	mail := s.CourierSMTPURI != ""
	cfg := kratosConfig{
		DSN: dsn,
		Serve: kratosServe{
			Public: kratosListen{Host: s.ListenHost, Port: s.PublicPort, BaseURL: s.PublicBaseURL},
			Admin:  kratosListen{Host: s.ListenHost, Port: s.AdminPort, BaseURL: s.AdminBaseURL},
		},
		SelfService: kratosSelfService{
			DefaultBrowserReturnURL: s.DefaultBrowserReturnURL,
			AllowedReturnURLs:       s.AllowedReturnURLs,
			Methods: kratosMethods{Password: kratosPassword{
				Enabled: true,
				Config:  kratosPasswordConfig{HaveIBeenPwnedEnabled: s.HaveIBeenPwned},
			}},
			Flows: kratosFlows{
				Registration: enabled{Enabled: true},
				Verification: enabled{Enabled: mail},
				Recovery:     enabled{Enabled: mail},
			},
		},
		Hashers: s.Hasher.render(),
		Identity: kratosIdentity{
			DefaultSchemaID: KratosSchemaID,
			Schemas:         []kratosSchema{{ID: KratosSchemaID, URL: IdentitySchemaURL()}},
		},
		Secrets: kratosSecrets{
			Default: s.DefaultSecrets,
			Cookie:  s.CookieSecrets,
			Cipher:  s.CipherSecrets,
		},
		Ciphers: kratosCiphers{Algorithm: "xchacha20-poly1305"},
		Log:     logConfig{Level: s.LogLevel, Format: s.LogFormat},
	}
	if mail {
		cfg.Courier = &kratosCourier{SMTP: kratosSMTP{
			ConnectionURI: s.CourierSMTPURI,
			FromAddress:   s.CourierFromAddress,
		}}
	}
	return toMap(cfg)
}

// RenderKratos validates s and renders Kratos' configuration file as YAML.
func RenderKratos(s KratosSettings) ([]byte, error) {
	cfg, err := KratosConfig(s)
	if err != nil {
		return nil, err
	}
	return Marshal(cfg)
}

// KratosServeArgs returns the arguments of the Kratos server command, after the binary name.
// dev is KratosSettings.Dev. With watchCourier the server also runs the courier, which sends
// queued mail; pass it when mail is configured and no separate courier worker runs.
func KratosServeArgs(configPath string, dev, watchCourier bool) []string {
	args := []string{"serve", "--config", configPath, "--sqa-opt-out"}
	if dev {
		args = append(args, "--dev")
	}
	if watchCourier {
		args = append(args, "--watch-courier")
	}
	return args
}

// KratosMigrateArgs returns the arguments that apply Kratos' SQL migrations, reading the DSN
// from the configuration file (-e reads the DSN variable first, so callers leave it unset).
// Kratos v1.3 has no "up" subcommand: "migrate sql" applies all pending migrations.
func KratosMigrateArgs(configPath string) []string {
	return []string{"migrate", "sql", "--read-from-env", "--config", configPath, "--yes"}
}
