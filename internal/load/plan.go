package load

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/ory-identity-layer/identity/infra/ory"
)

// Plan is what a run would do, printed by cmd/load --dry-run without sending anything.
type Plan struct {
	Config Config `json:"config"`
	// Local holds the local stack's settings when --local would start one.
	Local *LocalSettings `json:"local,omitempty"`
	// Workloads say, per service, what a write and a read are.
	Workloads []PlannedWorkload `json:"workloads"`
	// Restarts are the faults --local would inject.
	Restarts []Restart `json:"restarts,omitempty"`
}

// PlannedWorkload describes one service's traffic.
type PlannedWorkload struct {
	Service    string   `json:"service"`
	Operations []string `json:"operations"`
	Write      string   `json:"write"`
	Read       string   `json:"read"`
	Setup      string   `json:"setup,omitempty"`
	Verify     string   `json:"verify,omitempty"`
}

// Restart is a fault injected into the local stack: the named process ("postgres", "hydra",
// "kratos" or "keto") restarts At after the load starts.
type Restart struct {
	Target string        `json:"target"`
	At     time.Duration `json:"at_ns"`
}

var plannedWorkloads = map[string]PlannedWorkload{
	Hydra: {
		Service:    Hydra,
		Operations: []string{OpHydraToken, OpHydraIntrospect},
		Write:      "POST /oauth2/token (client_credentials, basic auth)",
		Read:       "POST /admin/oauth2/introspect of a token issued in this run",
		Setup:      "POST /admin/clients, not counted; DELETE at the end",
		Verify:     "every issued token not within 5s of expiry introspects as active",
	},
	Kratos: {
		Service:    Kratos,
		Operations: []string{OpKratosRegister, OpKratosLogin, OpKratosWhoami, OpKratosLookup},
		Write:      "native registration flow: GET /self-service/registration/api, then POST",
		Read: "in turn: native password login (flow + POST), GET /sessions/whoami, " +
			"GET /admin/identities?credentials_identifier=<email>",
		Verify: "every registered identity is found by email and can log in",
	},
	Keto: {
		Service:    Keto,
		Operations: []string{OpKetoWrite, OpKetoCheckAllowed, OpKetoCheckDenied},
		Write:      "PUT /admin/relation-tuples with a new object and subject",
		Read: "in turn: GET /relation-tuples/check of a written tuple (200) and of a " +
			"stranger (403)",
		Verify: "every written tuple checks as allowed",
	},
}

// NewPlan describes a run of cfg, defaults applied.
func NewPlan(cfg Config, local *LocalSettings, restarts []Restart) Plan {
	p := Plan{Config: cfg.WithDefaults(), Local: local, Restarts: restarts}
	for _, svc := range p.Config.Services {
		p.Workloads = append(p.Workloads, plannedWorkloads[svc])
	}
	return p
}

// WriteJSON prints the plan as indented JSON.
func (p Plan) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(p); err != nil {
		return fmt.Errorf("writing json: %w", err)
	}
	return nil
}

// WriteTable prints the plan for a person.
func (p Plan) WriteTable(w io.Writer) error {
	ew := &errWriter{w: w}
	c := p.Config
	duration := c.Duration.String()
	if c.Duration == 0 {
		duration = "until interrupted"
	}
	ew.printf("dry run %s: nothing is sent\n", c.RunID)
	if c.Model == Open {
		ew.printf("model:       open, %g operations/s per service, at most %d in flight\n",
			c.Rate, c.Concurrency)
	} else {
		ew.printf("model:       closed, %d workers per service\n", c.Concurrency)
	}
	ew.printf("services:    %s, at the same time\n", strings.Join(c.Services, ", "))
	ew.printf("duration:    %s; read ratio %g; timeout %s per operation\n", duration,
		c.ReadRatio, c.Timeout)
	ew.printf("verify:      %t\n", c.Verify)
	if p.Local != nil {
		l := p.Local
		ew.printf("local stack: profile %s; kratos hasher %s; pool max_conns=%d "+
			"max_idle_conns=%d; hydra tokens %s\n", l.Profile, describeHasher(l.Hasher),
			l.MaxConns, l.MaxIdleConns, orDefault(l.HydraTokenStrategy, "opaque"))
	}
	for _, r := range p.Restarts {
		ew.printf("restart:     %s at +%s\n", r.Target, r.At)
	}
	for _, wl := range p.Workloads {
		ew.printf("\n%s (%s)\n  write:  %s\n  read:   %s\n", wl.Service,
			strings.Join(wl.Operations, ", "), wl.Write, wl.Read)
		if wl.Setup != "" {
			ew.printf("  setup:  %s\n", wl.Setup)
		}
		if c.Verify {
			ew.printf("  verify: %s\n", wl.Verify)
		}
	}
	if ew.err != nil {
		return fmt.Errorf("writing plan: %w", ew.err)
	}
	return nil
}

// describeHasher names a hasher setting; zero fields take infra/ory's defaults.
func describeHasher(h ory.KratosHasher) string {
	h = h.Effective()
	switch h.Algorithm {
	case ory.HasherArgon2:
		return fmt.Sprintf("argon2id m=%dMiB t=%d p=%d",
			h.Argon2MemoryMiB, h.Argon2Iterations, h.Argon2Parallelism)
	case ory.HasherBcrypt:
		return fmt.Sprintf("bcrypt cost %d", h.BcryptCost)
	}
	return h.Algorithm
}
