package stacks

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Source is where raw stack configuration comes from. *pulumi.Context satisfies it; tests pass a
// map. Keys are fully qualified, for example "identity:environment" or "aws:region".
type Source interface {
	GetConfig(key string) (string, bool)
	IsConfigSecret(key string) bool
}

// reader reads typed values from a Source and remembers every key it was asked for, so that a
// test can prove that Pulumi.yaml declares exactly the keys the program reads.
type reader struct {
	src     Source
	project string
	asked   []string
	errs    []error
}

func (r *reader) full(key string) string {
	if strings.Contains(key, ":") {
		return key
	}
	return r.project + ":" + key
}

func (r *reader) raw(key string) (string, bool) {
	r.asked = append(r.asked, key)
	return r.src.GetConfig(r.full(key))
}

func (r *reader) fail(key, format string, args ...any) {
	r.errs = append(r.errs, fmt.Errorf("%s: %s", r.full(key), fmt.Sprintf(format, args...)))
}

// str returns the value, or fallback when the key is absent. A key set to the empty string
// stays empty, so that validation can name it instead of silently using the default.
func (r *reader) str(key, fallback string) string {
	if v, ok := r.raw(key); ok {
		return v
	}
	return fallback
}

func (r *reader) integer(key string, fallback int) int {
	v, ok := r.raw(key)
	if !ok || v == "" {
		return fallback
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		r.fail(key, "got %q; want an integer", v)
		return fallback
	}
	return n
}

func (r *reader) duration(key string, fallback time.Duration) time.Duration {
	v, ok := r.raw(key)
	if !ok || v == "" {
		return fallback
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		r.fail(key, "got %q; want a duration such as 5m or 90s", v)
		return fallback
	}
	return d
}

func (r *reader) boolean(key string, fallback bool) bool {
	v, ok := r.raw(key)
	if !ok || v == "" {
		return fallback
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		r.fail(key, "got %q; want true or false", v)
		return fallback
	}
	return b
}

func (r *reader) strings(key string, fallback []string) []string {
	v, ok := r.raw(key)
	if !ok || v == "" {
		return append([]string(nil), fallback...)
	}
	var out []string
	if err := json.Unmarshal([]byte(v), &out); err != nil {
		r.fail(key, "got %q; want a list of strings", v)
		return append([]string(nil), fallback...)
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// secret reads a value that must be stored encrypted. A value committed in plain text is
// rejected: it would already sit readable in the stack file and in version control.
func (r *reader) secret(key string) Secret {
	v, ok := r.raw(key)
	if !ok || v == "" {
		return Secret{}
	}
	if !r.src.IsConfigSecret(r.full(key)) {
		r.fail(key, "is stored in plain text. Set it with `pulumi config set --secret %s`", key)
	}
	return Secret{value: v}
}

// Secret holds a secret config value. Its String method hides the value so that it cannot leak
// through logs or error messages; Reveal is for the one place that hands it to Pulumi as a secret.
type Secret struct{ value string }

// NewSecret wraps a plain value, for tests and for values generated in the program.
func NewSecret(v string) Secret { return Secret{value: v} }

// IsSet reports whether the secret was given.
func (s Secret) IsSet() bool { return s.value != "" }

// Len is the length of the secret in bytes, for validation.
func (s Secret) Len() int { return len(s.value) }

// Reveal returns the plain value. Wrap it in pulumi.ToSecret before it reaches any resource.
func (s Secret) Reveal() string { return s.value }

// String hides the value.
func (s Secret) String() string {
	if s.value == "" {
		return "<unset>"
	}
	return "<secret>"
}
