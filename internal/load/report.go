package load

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is the outcome of one run. The table and the JSON are both printed from it. Durations
// are in nanoseconds in JSON; offsets such as FirstError count from the start of the load.
type Report struct {
	// RunID prefixes every name the run created.
	RunID string `json:"run_id"`
	// Model is "closed" or "open".
	Model string `json:"model"`
	// Services are the services driven, at the same time.
	Services []string `json:"services"`
	// Concurrency is the number of workers per service.
	Concurrency int `json:"concurrency"`
	// Rate is the open model's target per service in operations per second; 0 when closed.
	Rate float64 `json:"rate,omitempty"`
	// ReadRatio is the configured share of reads.
	ReadRatio float64 `json:"read_ratio"`
	// StartedAt is when the load began, in UTC.
	StartedAt time.Time `json:"started_at"`
	// Elapsed is the wall time of the load phase, including the drain of operations in flight
	// when it ended. Throughput divides by it. Setup and verification are not in it.
	Elapsed time.Duration `json:"elapsed_ns"`
	// Operations hold one entry per operation, in service order.
	Operations []OpReport `json:"operations"`
	// Schedules hold the open model's accounting per service; empty when closed.
	Schedules []Schedule `json:"schedules,omitempty"`
	// Untracked counts acknowledged writes past Config.MaxTracked, which are neither read nor
	// verified, per service.
	Untracked map[string]int64 `json:"untracked,omitempty"`
	// Marks are events noted during the load, such as a restart.
	Marks []Mark `json:"marks,omitempty"`
	// CPU is the processor time used during the load, when it was measured.
	CPU []CPUUsage `json:"cpu,omitempty"`
	// Verify is the read-back of acknowledged writes; nil when it did not run.
	Verify *VerifyReport `json:"verify,omitempty"`
}

// OpReport summarises one operation, such as "kratos/login".
type OpReport struct {
	Name string `json:"name"`
	// Requests counts attempts, successful or not. An attempt may take several HTTP requests
	// (a Kratos flow is created, then submitted); its status is the last one received.
	Requests int64 `json:"requests"`
	OK       int64 `json:"ok"`
	Failed   int64 `json:"failed"`
	// SuccessRatio is OK / Requests.
	SuccessRatio float64 `json:"success_ratio"`
	// Throughput is successful operations per second of Report.Elapsed.
	Throughput float64 `json:"throughput_per_sec"`
	// Latency covers successful attempts only; failures are in StatusCodes and Errors.
	Latency Latency `json:"latency"`
	// Clipped counts latencies above the histogram's 10-minute range, recorded as 10 minutes.
	Clipped int64 `json:"clipped,omitempty"`
	// StatusCodes counts the last HTTP status of each attempt; "none" means no response.
	StatusCodes map[string]int64 `json:"status_codes"`
	// Errors are the distinct failure messages, most frequent first, at most
	// Config.MaxErrors of them.
	Errors []ErrorCount `json:"errors,omitempty"`
	// ErrorsDropped counts failures whose message was not kept because the cap was reached.
	ErrorsDropped int64 `json:"errors_dropped,omitempty"`
	// FirstError and LastError bound the failures, as offsets from the start; nil without.
	FirstError *time.Duration `json:"first_error_ns,omitempty"`
	LastError  *time.Duration `json:"last_error_ns,omitempty"`
	// LastSuccess is the offset of the last successful attempt; nil without.
	LastSuccess *time.Duration `json:"last_success_ns,omitempty"`
}

// Latency holds the distribution of one operation's latency.
type Latency struct {
	Min  time.Duration `json:"min_ns"`
	Mean time.Duration `json:"mean_ns"`
	P50  time.Duration `json:"p50_ns"`
	P90  time.Duration `json:"p90_ns"`
	P95  time.Duration `json:"p95_ns"`
	P99  time.Duration `json:"p99_ns"`
	Max  time.Duration `json:"max_ns"`
}

// ErrorCount is one distinct failure message. Ids and ports are replaced by placeholders, so
// one cause gives one message.
type ErrorCount struct {
	Message string        `json:"message"`
	Count   int64         `json:"count"`
	First   time.Duration `json:"first_ns"`
	Last    time.Duration `json:"last_ns"`
}

// Schedule is the open model's accounting for one service.
type Schedule struct {
	Service string `json:"service"`
	// Scheduled counts the operations due by the end of the load.
	Scheduled int64 `json:"scheduled"`
	// Started counts those a free worker started on time.
	Started int64 `json:"started"`
	// Missed counts those that could not start because every worker was busy. They are not
	// sent later: queueing them would hide the servers' slowness in the generator.
	Missed int64 `json:"missed"`
}

// Mark is an event during the load, at an offset from its start.
type Mark struct {
	Name string        `json:"name"`
	At   time.Duration `json:"at_ns"`
}

// CPUUsage is the processor time one process group used during the load.
type CPUUsage struct {
	// Name is "generator" for this process, a server, "postgres", or "other" for every other
	// program on the machine (measured only with the servers' process groups).
	Name string `json:"name"`
	// Time is user plus system time.
	Time time.Duration `json:"time_ns"`
	// Cores is Time divided by the load's wall time: 1.0 is one core busy throughout.
	Cores float64 `json:"cores"`
}

// Op returns the report of the named operation.
func (r *Report) Op(name string) (OpReport, bool) {
	i := slices.IndexFunc(r.Operations, func(o OpReport) bool { return o.Name == name })
	if i < 0 {
		return OpReport{}, false
	}
	return r.Operations[i], true
}

// Totals returns the attempts and failures of every operation together.
func (r *Report) Totals() (requests, failed int64) {
	for _, o := range r.Operations {
		requests += o.Requests
		failed += o.Failed
	}
	return requests, failed
}

// ErrorWindow returns the first and last failure of any operation, as offsets from the named
// mark; ok is false when the mark is unknown or nothing failed.
func (r *Report) ErrorWindow(mark string) (first, last time.Duration, ok bool) {
	i := slices.IndexFunc(r.Marks, func(m Mark) bool { return m.Name == mark })
	if i < 0 {
		return 0, 0, false
	}
	at := r.Marks[i].At
	for _, o := range r.Operations {
		if o.FirstError == nil {
			continue
		}
		if !ok || *o.FirstError-at < first {
			first = *o.FirstError - at
		}
		if !ok || *o.LastError-at > last {
			last = *o.LastError - at
		}
		ok = true
	}
	return first, last, ok
}

// WriteJSON prints the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("writing json: %w", err)
	}
	return nil
}

// WriteTable prints the report for a person: the setup, one row per operation, then status
// codes, errors, marks, CPU and verification.
func (r *Report) WriteTable(w io.Writer) error {
	ew := &errWriter{w: w}
	r.writeHeader(ew)
	r.writeOps(ew)
	r.writeStatus(ew)
	r.writeErrors(ew)
	r.writeSchedules(ew)
	r.writeMarks(ew)
	r.writeCPU(ew)
	if r.Verify != nil {
		r.Verify.write(ew)
	}
	if ew.err != nil {
		return fmt.Errorf("writing table: %w", ew.err)
	}
	return nil
}

func (r *Report) writeHeader(w *errWriter) {
	load := fmt.Sprintf("closed model: %d workers per service", r.Concurrency)
	if r.Model == Open {
		load = fmt.Sprintf("open model: %g operations/s per service, at most %d in flight",
			r.Rate, r.Concurrency)
	}
	requests, failed := r.Totals()
	w.printf("load run %s: %s; services %s; read ratio %g\n", r.RunID, load,
		strings.Join(r.Services, ", "), r.ReadRatio)
	w.printf("%d operations in %s, %d failed; latency of successful operations\n\n",
		requests, round(r.Elapsed), failed)
}

func (r *Report) writeOps(w *errWriter) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	w.tab(tw, "OPERATION\tREQUESTS\tOK%\tOK/S\tMIN\tMEAN\tP50\tP90\tP95\tP99\tMAX\t")
	for _, o := range r.Operations {
		l := o.Latency
		w.tab(tw, fmt.Sprintf("%s\t%d\t%.2f\t%.1f\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t", o.Name,
			o.Requests, 100*o.SuccessRatio, o.Throughput, round(l.Min), round(l.Mean),
			round(l.P50), round(l.P90), round(l.P95), round(l.P99), round(l.Max)))
	}
	w.flush(tw)
}

func (r *Report) writeStatus(w *errWriter) {
	w.printf("\nstatus codes:\n")
	for _, o := range r.Operations {
		var parts []string
		for _, code := range slices.Sorted(maps.Keys(o.StatusCodes)) {
			parts = append(parts, fmt.Sprintf("%s=%d", code, o.StatusCodes[code]))
		}
		w.printf("  %-22s %s\n", o.Name, strings.Join(parts, " "))
	}
}

func (r *Report) writeErrors(w *errWriter) {
	if _, failed := r.Totals(); failed == 0 {
		w.printf("\nerrors: none\n")
		return
	}
	w.printf("\nerrors (distinct messages, most frequent first; offsets from the start):\n")
	for _, o := range r.Operations {
		if o.FirstError == nil {
			continue
		}
		w.printf("  %s: %d failed from +%s to +%s\n", o.Name, o.Failed, round(*o.FirstError),
			round(*o.LastError))
		for _, e := range o.Errors {
			w.printf("    %6d  %s\n", e.Count, oneLine(e.Message))
		}
		if o.ErrorsDropped > 0 {
			w.printf("    %6d  (messages not kept: the cap of distinct messages was reached)\n",
				o.ErrorsDropped)
		}
	}
}

func (r *Report) writeSchedules(w *errWriter) {
	for i, s := range r.Schedules {
		if i == 0 {
			w.printf("\nopen model schedule (missed = due while every worker was busy, " +
				"never sent):\n")
		}
		pct := 0.0
		if s.Scheduled > 0 {
			pct = 100 * float64(s.Missed) / float64(s.Scheduled)
		}
		w.printf("  %-8s scheduled=%d started=%d missed=%d (%.1f%%)\n", s.Service,
			s.Scheduled, s.Started, s.Missed, pct)
	}
	for _, svc := range slices.Sorted(maps.Keys(r.Untracked)) {
		w.printf("  %s: %d acknowledged writes past the tracking cap, not read back\n", svc,
			r.Untracked[svc])
	}
}

func (r *Report) writeMarks(w *errWriter) {
	for i, m := range r.Marks {
		if i == 0 {
			w.printf("\nmarks (error window relative to each):\n")
		}
		first, last, ok := r.ErrorWindow(m.Name)
		window := "no errors"
		if ok {
			window = fmt.Sprintf("errors from %s to %s", signed(first), signed(last))
		}
		w.printf("  %-20s at +%s: %s\n", m.Name, round(m.At), window)
	}
}

func (r *Report) writeCPU(w *errWriter) {
	for i, c := range r.CPU {
		if i == 0 {
			w.printf("\ncpu during the load (1.00 = one core busy throughout; other = the " +
				"rest of the machine):\n")
		}
		w.printf("  %-10s %8s  %.2f cores\n", c.Name, round(c.Time), c.Cores)
	}
}

// errWriter keeps the first write error so that the table code stays linear.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	if err != nil {
		e.err = fmt.Errorf("writing: %w", err)
	}
	return n, e.err
}

func (e *errWriter) printf(format string, args ...any) {
	_, _ = fmt.Fprintf(e, format, args...)
}

func (e *errWriter) tab(tw *tabwriter.Writer, line string) {
	_, _ = fmt.Fprintln(tw, line)
}

func (e *errWriter) flush(tw *tabwriter.Writer) {
	if err := tw.Flush(); err != nil && e.err == nil {
		e.err = err
	}
}

// round keeps latencies readable from microseconds to minutes.
func round(d time.Duration) string {
	switch {
	case d == 0:
		return "0"
	case d < time.Millisecond:
		return d.Round(time.Microsecond).String()
	case d < time.Second:
		return d.Round(100 * time.Microsecond).String()
	default:
		return d.Round(10 * time.Millisecond).String()
	}
}

func signed(d time.Duration) string {
	if d < 0 {
		return "-" + round(-d)
	}
	return "+" + round(d)
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
