package load

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/ory-identity-layer/identity/infra/ory"
	"github.com/ory-identity-layer/identity/internal/localstack"
)

// Local stack profiles, as accepted in Local.Profile.
const (
	// ProfileShipped is this project's configuration: the pool sizes of the stack config's
	// defaults and infra/ory's defaults for everything else.
	ProfileShipped = "shipped"
	// ProfileTutorial is the tutorial's configuration, which is Ory's defaults: DSNs without
	// pool settings, Kratos' default hasher (bcrypt, cost 12) and opaque Hydra tokens.
	ProfileTutorial = "tutorial"
)

// The pool defaults of the stack config (Pulumi.yaml: oryDbMaxConns, oryDbMaxIdleConns,
// oryDbMaxConnLifetime), which ProfileShipped runs. A test keeps them in step.
const (
	ShippedMaxConns        = 20
	ShippedMaxIdleConns    = 5
	ShippedMaxConnLifetime = 5 * time.Minute
)

// Local configures the local stack that cmd/load --local starts. The profile sets every value;
// the other fields override it when set.
type Local struct {
	// Profile is ProfileShipped or ProfileTutorial. Optional; default shipped.
	Profile string `json:"profile"`
	// KratosHasher is "bcrypt" or "argon2". Optional.
	KratosHasher string `json:"kratos_hasher"`
	// BcryptCost is bcrypt's cost. Optional. The local stack runs Kratos in development mode,
	// which honours costs 10 and 11; the cloud does not (see ory.KratosHasher).
	BcryptCost int `json:"bcrypt_cost"`
	// Argon2MemoryMiB and Argon2Iterations tune argon2id. Optional.
	Argon2MemoryMiB  int `json:"argon2_memory_mib"`
	Argon2Iterations int `json:"argon2_iterations"`
	// MaxConns and MaxIdleConns set every server's pool; 0 leaves the server's default.
	// Optional (nil keeps the profile's).
	MaxConns     *int `json:"max_conns"`
	MaxIdleConns *int `json:"max_idle_conns"`
	// HydraTokenStrategy is "opaque" or "jwt". Optional.
	HydraTokenStrategy string `json:"hydra_token_strategy"`
}

// LocalSettings are the resolved settings of a Local.
type LocalSettings struct {
	Profile            string           `json:"profile"`
	Hasher             ory.KratosHasher `json:"kratos_hasher"`
	MaxConns           int              `json:"max_conns"`
	MaxIdleConns       int              `json:"max_idle_conns"`
	MaxConnLifetime    time.Duration    `json:"max_conn_lifetime_ns"`
	HydraTokenStrategy string           `json:"hydra_token_strategy"`
}

// Settings resolves the profile and the overrides.
func (l Local) Settings() (LocalSettings, error) {
	var s LocalSettings
	switch orDefault(l.Profile, ProfileShipped) {
	case ProfileShipped:
		s = LocalSettings{
			Profile: ProfileShipped, MaxConns: ShippedMaxConns,
			MaxIdleConns: ShippedMaxIdleConns, MaxConnLifetime: ShippedMaxConnLifetime,
		}
	case ProfileTutorial:
		s = LocalSettings{Profile: ProfileTutorial, Hasher: ory.KratosHasher{
			Algorithm: ory.HasherBcrypt, BcryptCost: ory.DefaultBcryptCost,
		}}
	default:
		return s, fmt.Errorf("local.profile: got %q; want %s or %s", l.Profile,
			ProfileShipped, ProfileTutorial)
	}

	s.Hasher.Algorithm = orDefault(l.KratosHasher, s.Hasher.Algorithm)
	s.Hasher.BcryptCost = orDefault(l.BcryptCost, s.Hasher.BcryptCost)
	s.Hasher.Argon2MemoryMiB = orDefault(l.Argon2MemoryMiB, s.Hasher.Argon2MemoryMiB)
	s.Hasher.Argon2Iterations = orDefault(l.Argon2Iterations, s.Hasher.Argon2Iterations)
	s.HydraTokenStrategy = orDefault(l.HydraTokenStrategy, "opaque")
	if l.MaxConns != nil {
		s.MaxConns = *l.MaxConns
	}
	if l.MaxIdleConns != nil {
		s.MaxIdleConns = *l.MaxIdleConns
	}
	return s, nil
}

// Options returns the local stack options that start services with these settings. The
// settings are validated by infra/ory when the stack renders them.
func (s LocalSettings) Options(services []string, log *slog.Logger) localstack.Options {
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	pool := func(d *ory.DSN) {
		d.MaxConns, d.MaxIdleConns, d.MaxConnLifetime = s.MaxConns, s.MaxIdleConns,
			s.MaxConnLifetime
	}
	opts := localstack.Options{
		Logger: log,
		Hydra: func(h *ory.HydraSettings) {
			pool(&h.DSN)
			h.AccessTokenStrategy = s.HydraTokenStrategy
		},
		Kratos: func(k *ory.KratosSettings) {
			pool(&k.DSN)
			k.Hasher = s.Hasher
		},
		Keto: func(k *ory.KetoSettings) { pool(&k.DSN) },
	}
	for _, svc := range services {
		opts.Services = append(opts.Services, localstack.Service(svc))
	}
	return opts
}

// Validate reports settings that the servers would refuse, before anything starts.
func (s LocalSettings) Validate() error {
	var errs []error
	if s.MaxConns < 0 || s.MaxIdleConns < 0 || (s.MaxConns > 0 && s.MaxIdleConns > s.MaxConns) {
		errs = append(errs, fmt.Errorf("local pool: got max_conns=%d max_idle_conns=%d; want "+
			"0 (server default) or more, idle at most max_conns", s.MaxConns, s.MaxIdleConns))
	}
	switch s.HydraTokenStrategy {
	case "opaque", "jwt":
	default:
		errs = append(errs, fmt.Errorf("local.hydra_token_strategy: got %q; want opaque or jwt",
			s.HydraTokenStrategy))
	}
	return errors.Join(errs...)
}
