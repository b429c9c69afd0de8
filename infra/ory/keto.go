package ory

import (
	"fmt"
	"math"
	"regexp"
)

// Keto defaults. The ports are Keto's own defaults.
const (
	DefaultKetoReadPort    = 4466
	DefaultKetoWritePort   = 4467
	DefaultKetoMetricsPort = 4468
	DefaultKetoOPLPort     = 4469
)

// KetoNamespace is one namespace of relation tuples, such as "documents".
type KetoNamespace struct {
	// ID is the namespace's stable number. Required; 0 to 2147483647, unique. Keto stores it
	// with every tuple, so it must never change once tuples exist.
	ID int `json:"id"`
	// Name is what API calls use. Required; unique; letters, digits, '_' and '-'.
	Name string `json:"name"`
}

// DefaultKetoNamespaces returns the namespaces used when KetoSettings.Namespaces is empty.
func DefaultKetoNamespaces() []KetoNamespace {
	return []KetoNamespace{
		{ID: 0, Name: "default_namespace"},
		{ID: 1, Name: "documents"},
		{ID: 2, Name: "users"},
	}
}

// KetoSettings configure Ory Keto, the permission server.
type KetoSettings struct {
	// DSN is the database connection (key keto.dsn). Required.
	DSN DSN
	// ListenHost is the address the APIs bind to (serve.*.host). Optional; default "" binds
	// every interface. The local stack uses 127.0.0.1.
	ListenHost string
	// ReadPort serves checks, expansion and tuple listing (serve.read.port, key
	// keto.read_port). Optional; default 4466.
	ReadPort int
	// WritePort serves tuple creation and deletion (serve.write.port, key keto.write_port).
	// Optional; default 4467.
	WritePort int
	// MetricsPort serves Prometheus metrics (serve.metrics.port, key keto.metrics_port).
	// Optional; default 4468.
	MetricsPort int
	// OPLPort serves the permission language syntax check (serve.opl.port, key keto.opl_port).
	// Optional; default 4469. All four ports must differ.
	OPLPort int
	// Namespaces are the namespaces tuples may use (namespaces, key keto.namespaces).
	// Optional; default DefaultKetoNamespaces: default_namespace (0), documents (1), users (2).
	Namespaces []KetoNamespace
	// LogLevel is one of LogLevels (log.level). Optional; default "info".
	LogLevel string
	// LogFormat is "text" or "json" (log.format). Optional; default "json".
	LogFormat string
}

func (s KetoSettings) withDefaults() KetoSettings {
	s.ReadPort = orDefault(s.ReadPort, DefaultKetoReadPort)
	s.WritePort = orDefault(s.WritePort, DefaultKetoWritePort)
	s.MetricsPort = orDefault(s.MetricsPort, DefaultKetoMetricsPort)
	s.OPLPort = orDefault(s.OPLPort, DefaultKetoOPLPort)
	if len(s.Namespaces) == 0 {
		s.Namespaces = DefaultKetoNamespaces()
	}
	s.LogLevel = orDefault(s.LogLevel, DefaultLogLevel)
	s.LogFormat = orDefault(s.LogFormat, DefaultLogFormat)
	return s
}

var namespaceName = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// Validate reports every setting that Keto would reject or that this project forbids, each
// error naming its key under "keto".
func (s KetoSettings) Validate() error {
	var f fieldErrors
	s = s.withDefaults()

	f.addErr(s.DSN.validate("keto.dsn"))
	checkPorts(&f, "keto", map[string]int{
		"read_port": s.ReadPort, "write_port": s.WritePort,
		"metrics_port": s.MetricsPort, "opl_port": s.OPLPort,
	})

	ids := map[int]string{}
	names := map[string]bool{}
	for i, ns := range s.Namespaces {
		key := fmt.Sprintf("keto.namespaces[%d]", i)
		if !namespaceName.MatchString(ns.Name) {
			f.add(key+".name", "got %q; want letters, digits, '_' or '-'", ns.Name)
		}
		if names[ns.Name] {
			f.add(key+".name", "%q is declared twice; want unique names", ns.Name)
		}
		names[ns.Name] = true
		if ns.ID < 0 || ns.ID > math.MaxInt32 {
			f.add(key+".id", "got %d; want 0 to %d", ns.ID, math.MaxInt32)
		}
		if other, ok := ids[ns.ID]; ok {
			f.add(key+".id", "id %d is also used by %q; want unique ids", ns.ID, other)
		}
		ids[ns.ID] = ns.Name
	}

	checkOneOf(&f, "keto.log_level", s.LogLevel, LogLevels)
	checkOneOf(&f, "keto.log_format", s.LogFormat, LogFormats)
	return f.err()
}

// RequireNamespaces reports, under the key keto.namespaces, each name in want that s does not
// declare. Callers use it for namespaces their applications depend on, such as "documents".
func (s KetoSettings) RequireNamespaces(want ...string) error {
	var f fieldErrors
	have := map[string]bool{}
	for _, ns := range s.withDefaults().Namespaces {
		have[ns.Name] = true
	}
	for _, name := range want {
		if !have[name] {
			f.add("keto.namespaces", "namespace %q is missing; the applications use it", name)
		}
	}
	return f.err()
}

type ketoConfig struct {
	DSN        string          `json:"dsn"`
	Serve      ketoServe       `json:"serve"`
	Namespaces []KetoNamespace `json:"namespaces"`
	Log        logConfig       `json:"log"`
}

type ketoServe struct {
	Read    listen `json:"read"`
	Write   listen `json:"write"`
	Metrics listen `json:"metrics"`
	OPL     listen `json:"opl"`
}

// KetoConfig validates s and returns Keto's configuration as a map, the shape of the Helm
// chart's keto.config value. The map holds the database password.
func KetoConfig(s KetoSettings) (map[string]any, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	s = s.withDefaults()
	dsn, err := s.DSN.URL()
	if err != nil {
		return nil, fmt.Errorf("rendering keto dsn: %w", err)
	}

	cfg := ketoConfig{
		DSN: dsn,
		Serve: ketoServe{
			Read:    listen{Host: s.ListenHost, Port: s.ReadPort},
			Write:   listen{Host: s.ListenHost, Port: s.WritePort},
			Metrics: listen{Host: s.ListenHost, Port: s.MetricsPort},
			OPL:     listen{Host: s.ListenHost, Port: s.OPLPort},
		},
		Namespaces: s.Namespaces,
		Log:        logConfig{Level: s.LogLevel, Format: s.LogFormat},
	}
	return toMap(cfg)
}

// RenderKeto validates s and renders Keto's configuration file as YAML.
func RenderKeto(s KetoSettings) ([]byte, error) {
	cfg, err := KetoConfig(s)
	if err != nil {
		return nil, err
	}
	return Marshal(cfg)
}

// KetoServeArgs returns the arguments of the Keto server command, after the binary name.
func KetoServeArgs(configPath string) []string {
	return []string{"serve", "--config", configPath, "--sqa-opt-out"}
}

// KetoMigrateArgs returns the arguments that apply Keto's SQL migrations. Keto always reads the
// DSN from its configuration.
func KetoMigrateArgs(configPath string) []string {
	return []string{"migrate", "up", "--config", configPath, "--yes"}
}
