package ory

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"

	"sigs.k8s.io/yaml"
)

// FieldError reports one configuration key whose value is not accepted.
type FieldError struct {
	// Key is the configuration key at fault, for example "kratos.secrets.cipher".
	Key string
	// Problem says what is wrong and what the key accepts.
	Problem string
}

// Error implements error.
func (e *FieldError) Error() string {
	return e.Key + ": " + e.Problem
}

// fieldErrors collects every problem of one settings value so that an operator sees all of them
// at once instead of fixing one key per run.
type fieldErrors []error

func (f *fieldErrors) add(key, format string, args ...any) {
	*f = append(*f, &FieldError{Key: key, Problem: fmt.Sprintf(format, args...)})
}

func (f *fieldErrors) addErr(err error) {
	if err != nil {
		*f = append(*f, err)
	}
}

func (f fieldErrors) err() error {
	return errors.Join(f...)
}

// LogLevels lists the values accepted by the log.level key of all three servers.
var LogLevels = []string{"trace", "debug", "info", "warning", "error", "fatal", "panic"}

// LogFormats lists the values accepted by the log.format key of all three servers.
var LogFormats = []string{"text", "json"}

// Default values shared by the three servers.
const (
	DefaultLogLevel  = "info"
	DefaultLogFormat = "json"
)

func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

func checkPort(f *fieldErrors, key string, port int) {
	if port < 1 || port > 65535 {
		f.add(key, "got %d; want a TCP port from 1 to 65535", port)
	}
}

// checkPorts checks each port of one server, in key order so errors come out stable, and that
// no two of them collide.
func checkPorts(f *fieldErrors, prefix string, ports map[string]int) {
	seen := map[int]string{}
	keys := make([]string, 0, len(ports))
	for k := range ports {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		p := ports[k]
		checkPort(f, prefix+"."+k, p)
		if other, ok := seen[p]; ok {
			f.add(prefix+"."+k, "port %d is also used by %s.%s; want distinct ports", p, prefix, other)
		}
		seen[p] = k
	}
}

func checkOneOf(f *fieldErrors, key, v string, allowed []string) {
	if !slices.Contains(allowed, v) {
		f.add(key, "got %q; want one of %s", v, strings.Join(allowed, ", "))
	}
}

// checkHTTPURL accepts an absolute http or https URL with a host.
func checkHTTPURL(f *fieldErrors, key, raw string, required bool) {
	if raw == "" {
		if required {
			f.add(key, "required; want an absolute http(s) URL")
		}
		return
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		f.add(key, "got %q; want an absolute http(s) URL such as https://auth.example.com", raw)
	}
}

func checkSecrets(f *fieldErrors, key string, secrets []string, minLen, maxLen int) {
	if len(secrets) == 0 {
		f.add(key, "required; want at least one secret")
		return
	}
	want := fmt.Sprintf("at least %d characters", minLen)
	if minLen == maxLen {
		want = fmt.Sprintf("exactly %d characters", minLen)
	}
	seen := map[string]bool{}
	for i, s := range secrets {
		// The length is counted in characters, as the servers' JSON schemas count it.
		n := len([]rune(s))
		if n < minLen || (maxLen > 0 && n > maxLen) {
			f.add(fmt.Sprintf("%s[%d]", key, i), "has %d characters; want %s", n, want)
		}
		if seen[s] {
			f.add(fmt.Sprintf("%s[%d]", key, i), "repeats an earlier secret; want distinct secrets")
		}
		seen[s] = true
	}
}

// isLoopback reports whether host names this machine only: localhost, 127.0.0.0/8 or ::1.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// Marshal renders a configuration map as YAML, the format all three servers read.
func Marshal(cfg map[string]any) ([]byte, error) {
	out, err := yaml.Marshal(cfg)
	if err != nil {
		return nil, fmt.Errorf("marshalling config: %w", err)
	}
	return out, nil
}

// toMap turns a typed configuration struct into the generic map that Helm values and test hooks
// work on. The JSON round trip keeps the json tags, and so the servers' key names.
func toMap(v any) (map[string]any, error) {
	raw, err := yaml.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encoding config: %w", err)
	}
	var m map[string]any
	if err := yaml.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("decoding config: %w", err)
	}
	return m, nil
}
