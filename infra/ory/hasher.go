package ory

import (
	"fmt"
	"slices"
)

// Password hashing algorithms accepted in KratosHasher.Algorithm.
const (
	HasherBcrypt = "bcrypt"
	HasherArgon2 = "argon2"
)

// Password hashing defaults and bounds. The bounds follow the OWASP Password Storage Cheat
// Sheet: bcrypt with a work factor of 10 or more; argon2id with one of its memory and
// iteration pairs and one lane.
const (
	// DefaultBcryptCost is Kratos' own default and the lowest cost it honours outside
	// development mode.
	DefaultBcryptCost = 12
	// MinBcryptCostDev is the lowest cost accepted with Dev: the OWASP minimum.
	MinBcryptCostDev = 10
	// MaxBcryptCost is bcrypt's own maximum.
	MaxBcryptCost = 31
	// DefaultArgon2MemoryMiB and DefaultArgon2Iterations are one of OWASP's argon2id pairs,
	// the one with the smaller memory, which matters because every login in flight holds it.
	DefaultArgon2MemoryMiB  = 19
	DefaultArgon2Iterations = 2
	// DefaultArgon2Parallelism is OWASP's single lane. Kratos' own default, twice the CPU
	// count, changes with the machine, and so would the hashes.
	DefaultArgon2Parallelism = 1
	// MaxArgon2MemoryMiB bounds the memory of one hash, so that a typo cannot ask for more
	// than a pod has.
	MaxArgon2MemoryMiB = 1024
)

// argon2Minimums are OWASP's equivalent argon2id settings: memory in MiB and iterations.
// A setting is accepted when it reaches both numbers of at least one pair.
var argon2Minimums = []struct{ memoryMiB, iterations int }{
	{46, 1}, {19, 2}, {12, 3}, {9, 4}, {7, 5},
}

// KratosHasher selects how Kratos hashes passwords (hashers.*). The zero value is bcrypt at
// cost 12, Kratos' own default, written out so that it does not change with a Kratos release.
//
// The cost of a hash is paid on every registration, login and password change, in CPU (bcrypt)
// or CPU and memory (argon2), and it is most of the latency of those flows. Changing the
// algorithm later is safe: Kratos rehashes a password with the new settings at its next login.
type KratosHasher struct {
	// Algorithm is "bcrypt" or "argon2" (argon2id) (hashers.algorithm, key
	// kratos.hasher.algorithm). Optional; default "bcrypt".
	Algorithm string
	// BcryptCost is bcrypt's work factor, the base-2 logarithm of its rounds
	// (hashers.bcrypt.cost, key kratos.hasher.bcrypt_cost). Optional; default 12. 12 to 31;
	// 10 and 11 only when Dev is set, because outside development mode Kratos silently raises
	// any cost below 12 to 12. Each step doubles the time of a hash. Only used with bcrypt.
	BcryptCost int
	// Argon2MemoryMiB is the memory of one hash in MiB (hashers.argon2.memory, key
	// kratos.hasher.argon2_memory_mib). Optional; default 19. Up to 1024; together with
	// Argon2Iterations at least one OWASP pair: 46/1, 19/2, 12/3, 9/4 or 7/5. Only used with
	// argon2.
	Argon2MemoryMiB int
	// Argon2Iterations is the number of passes over that memory (hashers.argon2.iterations,
	// key kratos.hasher.argon2_iterations). Optional; default 2. Only used with argon2.
	Argon2Iterations int
	// Argon2Parallelism is the number of lanes (hashers.argon2.parallelism, key
	// kratos.hasher.argon2_parallelism). Optional; default 1. 1 to 255. Only used with argon2.
	Argon2Parallelism int
}

// Effective returns h with every zero field set to its default, as it is rendered.
func (h KratosHasher) Effective() KratosHasher {
	return h.withDefaults()
}

func (h KratosHasher) withDefaults() KratosHasher {
	h.Algorithm = orDefault(h.Algorithm, HasherBcrypt)
	h.BcryptCost = orDefault(h.BcryptCost, DefaultBcryptCost)
	h.Argon2MemoryMiB = orDefault(h.Argon2MemoryMiB, DefaultArgon2MemoryMiB)
	h.Argon2Iterations = orDefault(h.Argon2Iterations, DefaultArgon2Iterations)
	h.Argon2Parallelism = orDefault(h.Argon2Parallelism, DefaultArgon2Parallelism)
	return h
}

// validate checks h after defaults; dev is KratosSettings.Dev.
func (h KratosHasher) validate(f *fieldErrors, dev bool) {
	checkOneOf(f, "kratos.hasher.algorithm", h.Algorithm, []string{HasherBcrypt, HasherArgon2})
	switch h.Algorithm {
	case HasherBcrypt:
		h.validateBcrypt(f, dev)
	case HasherArgon2:
		h.validateArgon2(f)
	}
}

func (h KratosHasher) validateBcrypt(f *fieldErrors, dev bool) {
	lowest := DefaultBcryptCost
	if dev {
		lowest = MinBcryptCostDev
	}
	if h.BcryptCost < lowest || h.BcryptCost > MaxBcryptCost {
		hint := ""
		if !dev && h.BcryptCost >= MinBcryptCostDev && h.BcryptCost < DefaultBcryptCost {
			hint = "; Kratos raises lower costs to 12 outside development mode"
		}
		f.add("kratos.hasher.bcrypt_cost", "got %d; want %d to %d%s", h.BcryptCost, lowest,
			MaxBcryptCost, hint)
	}
}

func (h KratosHasher) validateArgon2(f *fieldErrors) {
	if h.Argon2MemoryMiB < 1 || h.Argon2MemoryMiB > MaxArgon2MemoryMiB {
		f.add("kratos.hasher.argon2_memory_mib", "got %d; want 1 to %d MiB", h.Argon2MemoryMiB,
			MaxArgon2MemoryMiB)
	}
	if h.Argon2Iterations < 1 {
		f.add("kratos.hasher.argon2_iterations", "got %d; want 1 or more", h.Argon2Iterations)
	}
	if h.Argon2Parallelism < 1 || h.Argon2Parallelism > 255 {
		f.add("kratos.hasher.argon2_parallelism", "got %d; want 1 to 255", h.Argon2Parallelism)
	}
	strong := slices.ContainsFunc(argon2Minimums, func(m struct{ memoryMiB, iterations int }) bool {
		return h.Argon2MemoryMiB >= m.memoryMiB && h.Argon2Iterations >= m.iterations
	})
	if !strong {
		f.add("kratos.hasher.argon2_memory_mib", "%d MiB with %d iterations is below the OWASP "+
			"minimum; want at least 46 MiB/1, 19/2, 12/3, 9/4 or 7/5", h.Argon2MemoryMiB,
			h.Argon2Iterations)
	}
}

type kratosHashers struct {
	Algorithm string             `json:"algorithm"`
	Bcrypt    *kratosBcrypt      `json:"bcrypt,omitempty"`
	Argon2    *kratosArgon2Setup `json:"argon2,omitempty"`
}

type kratosBcrypt struct {
	Cost int `json:"cost"`
}

type kratosArgon2Setup struct {
	// Memory uses Kratos' byte size syntax, where MB means MiB.
	Memory      string `json:"memory"`
	Iterations  int    `json:"iterations"`
	Parallelism int    `json:"parallelism"`
}

// render returns the hashers block for the chosen algorithm only.
func (h KratosHasher) render() kratosHashers {
	out := kratosHashers{Algorithm: h.Algorithm}
	if h.Algorithm == HasherArgon2 {
		out.Argon2 = &kratosArgon2Setup{
			Memory:      fmt.Sprintf("%dMB", h.Argon2MemoryMiB),
			Iterations:  h.Argon2Iterations,
			Parallelism: h.Argon2Parallelism,
		}
		return out
	}
	out.Bcrypt = &kratosBcrypt{Cost: h.BcryptCost}
	return out
}
