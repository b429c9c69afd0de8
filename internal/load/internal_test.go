package load

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNormalise(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{
			name: "ids",
			in:   "identity 0b7d1a4e-3c1f-4b6e-9f0a-1234567890ab not found",
			want: "identity <id> not found",
		},
		{
			name: "outgoing port",
			in:   "read tcp 127.0.0.1:53124->127.0.0.1:4433: read: connection reset by peer",
			want: "read tcp 127.0.0.1:<port>->127.0.0.1:4433: read: connection reset by peer",
		},
		{
			name: "query",
			in:   "POST /self-service/login?flow=abc: status 410",
			want: "POST /self-service/login?…: status 410",
		},
		{name: "plain", in: "status 503: unavailable", want: "status 503: unavailable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, normalise(tt.in))
		})
	}
}

func TestParseStat(t *testing.T) {
	// A command name with spaces and a parenthesis, as postgres' process titles have.
	stat := "4242 (postgres: kratos (x) idle) S 4200 4200 4200 0 -1 4194560 1 0 0 0 " +
		"250 50 7 3 20 0 1 0 100 0 0"
	got, err := parseStat(stat)
	require.NoError(t, err)
	assert.Equal(t, procTime{
		ppid: 4200, pgid: 4200, own: 3 * time.Second,
		children: 100 * time.Millisecond,
	}, got)

	_, err = parseStat("1 (short) S 0")
	assert.Error(t, err)
}

func TestCPUUsage_SkipsRestartedGroups(t *testing.T) {
	start := cpuSample{generatorName: time.Second, "kratos": 5 * time.Second, "keto": time.Second}
	end := cpuSample{
		generatorName: 2 * time.Second, "kratos": time.Second,
		"keto": 3 * time.Second, "hydra": time.Second,
	}
	got := cpuUsage(start, end, 4*time.Second)
	assert.Equal(t, []CPUUsage{
		{Name: generatorName, Time: time.Second, Cores: 0.25},
		{Name: "keto", Time: 2 * time.Second, Cores: 0.5},
	}, got)

	start[machineName], end[machineName] = 10*time.Second, 20*time.Second
	got = cpuUsage(start, end, 4*time.Second)
	require.Len(t, got, 3)
	assert.Equal(t, CPUUsage{Name: otherName, Time: 7 * time.Second, Cores: 1.75}, got[2],
		"the machine's busy time less what the load's processes used")
}

func TestOpStats_ClipsBeyondTheHistogram(t *testing.T) {
	s := newOpStats("x", time.Now(), 5)
	s.record(outcome{status: 200, began: time.Now(), latency: time.Hour})
	s.record(outcome{status: 200, began: time.Now(), latency: time.Millisecond})
	r := s.report(time.Second)
	assert.Equal(t, int64(1), r.Clipped)
	assert.InDelta(t, float64(10*time.Minute), float64(r.Latency.Max), float64(time.Second))
	assert.InDelta(t, float64(time.Millisecond), float64(r.Latency.Min), float64(time.Microsecond))
}
