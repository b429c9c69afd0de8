package smoke

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// Result is the outcome of one check.
type Result struct {
	// Service is "hydra", "kratos" or "keto".
	Service string `json:"service"`
	// Check is the check's name, such as "hydra/issue-token".
	Check string `json:"check"`
	// OK is true when the check passed.
	OK bool `json:"ok"`
	// Latency is how long the check's requests took; zero when it did not run.
	Latency time.Duration `json:"latency_ns"`
	// Detail says what was seen: ids on success, the reason on failure.
	Detail string `json:"detail"`
}

// Report is the outcome of one run. The table and the JSON are both printed from it.
type Report struct {
	// RunID is the suffix of every name the run created.
	RunID string `json:"run_id"`
	// StartedAt is when the run began, in UTC.
	StartedAt time.Time `json:"started_at"`
	// Duration is the wall time of the whole run.
	Duration time.Duration `json:"duration_ns"`
	// Passed counts the results that passed.
	Passed int `json:"passed"`
	// Failed counts the results that failed, including skipped ones.
	Failed int `json:"failed"`
	// Results holds one entry per check, in run order.
	Results []Result `json:"results"`
}

func (r *Report) add(res Result) {
	r.Results = append(r.Results, res)
	if res.OK {
		r.Passed++
	} else {
		r.Failed++
	}
}

// OK reports whether every check passed.
func (r *Report) OK() bool {
	return r.Failed == 0 && r.Passed > 0
}

// Result returns the result of the named check.
func (r *Report) Result(check string) (Result, bool) {
	for _, res := range r.Results {
		if res.Check == check {
			return res, true
		}
	}
	return Result{}, false
}

// WriteTable prints the report as an aligned table followed by a summary line.
func (r *Report) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CHECK\tRESULT\tLATENCY\tDETAIL")
	for _, res := range r.Results {
		result := "FAIL"
		if res.OK {
			result = "ok"
		}
		latency := "-"
		if res.Latency > 0 {
			latency = formatLatency(res.Latency)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", res.Check, result, latency, oneLine(res.Detail))
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("writing table: %w", err)
	}
	_, err := fmt.Fprintf(w, "\nsmoke run %s: %d of %d checks passed in %s\n", r.RunID, r.Passed,
		len(r.Results), formatLatency(r.Duration))
	if err != nil {
		return fmt.Errorf("writing table: %w", err)
	}
	return nil
}

// WriteJSON prints the report as indented JSON. Durations are in nanoseconds.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("writing json: %w", err)
	}
	return nil
}

// formatLatency rounds to a precision that stays readable from microseconds to minutes.
func formatLatency(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return d.Round(time.Microsecond).String()
	case d < time.Second:
		return d.Round(100 * time.Microsecond).String()
	default:
		return d.Round(time.Millisecond).String()
	}
}

// oneLine keeps multi-line server messages on their table row.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
