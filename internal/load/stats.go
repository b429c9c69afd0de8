package load

import (
	"regexp"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Histogram range: 1µs to 10 minutes, three significant digits (0.1% error). A latency above
// the range is recorded as the range's top, and counted in Clipped.
const (
	histLowest  = int64(time.Microsecond)
	histHighest = int64(10 * time.Minute)
	histDigits  = 3
)

// noStatus is the status key of an operation that got no HTTP response: a refused
// connection, a reset, a timeout.
const noStatus = "none"

// opStats collects one operation. Every method is safe for concurrent use.
type opStats struct {
	name      string
	start     time.Time
	maxErrors int

	mu        sync.Mutex
	hist      *hdrhistogram.Histogram
	requests  int64
	ok        int64
	clipped   int64
	codes     map[string]int64
	errs      map[string]*ErrorCount
	errOrder  []string
	dropped   int64
	firstErr  time.Duration
	lastErr   time.Duration
	lastOK    time.Duration
	hasErrors bool
}

func newOpStats(name string, start time.Time, maxErrors int) *opStats {
	return &opStats{
		name: name, start: start, maxErrors: maxErrors,
		hist:  hdrhistogram.New(histLowest, histHighest, histDigits),
		codes: map[string]int64{},
		errs:  map[string]*ErrorCount{},
	}
}

// outcome is what one operation attempt produced.
type outcome struct {
	status  int // 0 when no response came back
	err     error
	began   time.Time
	latency time.Duration
}

// record adds one attempt. The latency of successful attempts goes into the histogram;
// failures are counted by status and message.
func (s *opStats) record(o outcome) {
	code := noStatus
	if o.status != 0 {
		code = strconv.Itoa(o.status)
	}
	at := o.began.Add(o.latency).Sub(s.start)

	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests++
	s.codes[code]++
	if o.err == nil {
		s.ok++
		s.lastOK = max(s.lastOK, at)
		v := int64(o.latency)
		if v > histHighest {
			v, s.clipped = histHighest, s.clipped+1
		}
		_ = s.hist.RecordValue(max(v, histLowest))
		return
	}
	s.addError(o.err.Error(), at)
}

// addError counts a failure at offset at under its normalised message. Messages past the cap
// are counted in dropped only.
func (s *opStats) addError(msg string, at time.Duration) {
	if !s.hasErrors || at < s.firstErr {
		s.firstErr = at
	}
	s.lastErr = max(s.lastErr, at)
	s.hasErrors = true

	msg = normalise(msg)
	e, ok := s.errs[msg]
	if !ok {
		if len(s.errs) >= s.maxErrors {
			s.dropped++
			return
		}
		e = &ErrorCount{Message: msg, First: at}
		s.errs[msg] = e
		s.errOrder = append(s.errOrder, msg)
	}
	e.Count++
	e.Last = at
}

// report summarises the operation over elapsed.
func (s *opStats) report(elapsed time.Duration) OpReport {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := OpReport{
		Name:          s.name,
		Requests:      s.requests,
		OK:            s.ok,
		Failed:        s.requests - s.ok,
		StatusCodes:   cloneCodes(s.codes),
		ErrorsDropped: s.dropped,
		Clipped:       s.clipped,
	}
	if s.requests > 0 {
		r.SuccessRatio = float64(s.ok) / float64(s.requests)
	}
	if elapsed > 0 {
		r.Throughput = float64(s.ok) / elapsed.Seconds()
	}
	if s.ok > 0 {
		r.Latency = latencyOf(s.hist)
		last := s.lastOK
		r.LastSuccess = &last
	}
	if s.hasErrors {
		first, last := s.firstErr, s.lastErr
		r.FirstError, r.LastError = &first, &last
	}
	for _, msg := range s.errOrder {
		r.Errors = append(r.Errors, *s.errs[msg])
	}
	sort.SliceStable(r.Errors, func(i, j int) bool { return r.Errors[i].Count > r.Errors[j].Count })
	return r
}

func latencyOf(h *hdrhistogram.Histogram) Latency {
	q := func(p float64) time.Duration { return time.Duration(h.ValueAtQuantile(p)) }
	return Latency{
		Min:  time.Duration(h.Min()),
		Mean: time.Duration(h.Mean()),
		P50:  q(50), P90: q(90), P95: q(95), P99: q(99),
		Max: time.Duration(h.Max()),
	}
}

func cloneCodes(m map[string]int64) map[string]int64 {
	out := make(map[string]int64, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// Ids, tokens, ports of outgoing connections and flow URLs differ in every message; without
// them, one cause gives one message and the cap on distinct messages holds.
var (
	uuidPattern = regexp.MustCompile(
		`[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}`)
	localPort    = regexp.MustCompile(`(127\.0\.0\.1|\[::1\]):\d+->`)
	queryPattern = regexp.MustCompile(`\?[^\s":]*`)
)

func normalise(msg string) string {
	msg = uuidPattern.ReplaceAllString(msg, "<id>")
	msg = localPort.ReplaceAllString(msg, "$1:<port>->")
	msg = queryPattern.ReplaceAllString(msg, "?…")
	if len(msg) > 300 {
		msg = msg[:300] + "…"
	}
	return msg
}

// progress counts every attempt across operations, for the live line.
type progress struct {
	requests atomic.Int64
	failed   atomic.Int64
}
