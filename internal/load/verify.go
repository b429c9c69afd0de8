package load

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// verdict is the outcome of reading back one acknowledged write.
type verdict int

const (
	// found: the write is there.
	found verdict = iota
	// lost: the server answered, and the write is not there.
	lost
	// skipped: the write is expected to be gone (an expired token).
	skipped
	// unsure: no answer after the retries; the write is neither confirmed nor lost.
	unsure
)

// Verification limits.
const (
	verifyAttempts = 3
	verifyBackoff  = 500 * time.Millisecond
	// maxMissingListed caps the missing writes listed per service; all are counted.
	maxMissingListed = 20
)

// VerifyReport is the read-back of every acknowledged write after the load.
type VerifyReport struct {
	// Elapsed is the wall time of the verify phase; it is not part of the load's throughput.
	Elapsed time.Duration `json:"elapsed_ns"`
	// Lost counts acknowledged writes that the servers answered for and do not have.
	Lost int64 `json:"lost"`
	// Unverified counts writes that could not be checked: no answer after retries.
	Unverified int64 `json:"unverified"`
	// Services hold the details per service.
	Services []VerifyService `json:"services"`
}

// VerifyService is the read-back of one service's writes.
type VerifyService struct {
	Service string `json:"service"`
	// What says what was checked, such as "tuples check as allowed".
	What string `json:"what"`
	// Checked counts the acknowledged writes looked at, including skipped ones.
	Checked int64 `json:"checked"`
	Found   int64 `json:"found"`
	Lost    int64 `json:"lost"`
	// Skipped counts writes expected to be gone, such as tokens within 5s of expiry.
	Skipped    int64 `json:"skipped"`
	Unverified int64 `json:"unverified"`
	// Missing lists lost and unverified writes, at most 20; MissingDropped counts the rest.
	Missing        []string `json:"missing,omitempty"`
	MissingDropped int64    `json:"missing_dropped,omitempty"`
}

// OK reports whether every acknowledged write was found or expected to be gone.
func (v *VerifyReport) OK() bool {
	return v.Lost == 0 && v.Unverified == 0
}

func (v *VerifyReport) write(w *errWriter) {
	w.printf("\nverify (%s, not part of the load): lost=%d unverified=%d\n", round(v.Elapsed),
		v.Lost, v.Unverified)
	for _, s := range v.Services {
		w.printf("  %-7s %d of %d %s; lost=%d unverified=%d", s.Service, s.Found, s.Checked,
			s.What, s.Lost, s.Unverified)
		if s.Skipped > 0 {
			w.printf("; %d skipped: expired or about to", s.Skipped)
		}
		w.printf("\n")
		for _, m := range s.Missing {
			w.printf("    missing: %s\n", oneLine(m))
		}
		if s.MissingDropped > 0 {
			w.printf("    … and %d more not listed\n", s.MissingDropped)
		}
	}
}

// verifier runs read-backs with Concurrency workers and retries answers that never came.
type verifier struct {
	workers int
}

// run checks n items with check and fills out's counts.
func (v *verifier) run(
	ctx context.Context,
	out VerifyService,
	n int,
	check func(ctx context.Context, i int) (verdict, string),
) VerifyService {
	var next atomic.Int64
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range v.workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				res, detail := v.checkOne(ctx, i, check)
				mu.Lock()
				out.count(res, detail)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return out
}

func (v *verifier) checkOne(
	ctx context.Context,
	i int,
	check func(ctx context.Context, i int) (verdict, string),
) (verdict, string) {
	var res verdict
	var detail string
	for attempt := range verifyAttempts {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return unsure, ctx.Err().Error()
			case <-time.After(verifyBackoff):
			}
		}
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		res, detail = check(cctx, i)
		cancel()
		if res != unsure {
			break
		}
	}
	return res, detail
}

func (s *VerifyService) count(res verdict, detail string) {
	s.Checked++
	switch res {
	case found:
		s.Found++
		return
	case skipped:
		s.Skipped++
		return
	case lost:
		s.Lost++
	case unsure:
		s.Unverified++
		detail = "unverified: " + detail
	}
	if len(s.Missing) < maxMissingListed {
		s.Missing = append(s.Missing, detail)
	} else {
		s.MissingDropped++
	}
}

// verify reads back every service's acknowledged writes, the services one after the other so
// that each gets the configured concurrency.
func (r *Runner) verify(ctx context.Context, loads map[string]workload) *VerifyReport {
	began := time.Now()
	v := &verifier{workers: r.cfg.Concurrency}
	rep := &VerifyReport{}
	for _, svc := range r.cfg.Services {
		s := loads[svc].verify(ctx, v)
		rep.Lost += s.Lost
		rep.Unverified += s.Unverified
		rep.Services = append(rep.Services, s)
	}
	rep.Elapsed = time.Since(began)
	return rep
}

// Summary is the one-line verdict of a verification, such as "lost=0".
func (v *VerifyReport) Summary() string {
	return fmt.Sprintf("lost=%d unverified=%d", v.Lost, v.Unverified)
}
