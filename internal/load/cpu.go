package load

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// generatorName is the name of this process in Report.CPU.
const generatorName = "generator"

// machineName holds the whole machine's busy time in a sample; the report shows what the
// named groups did not use of it as otherName.
const (
	machineName = "machine"
	otherName   = "other"
)

// clockTicks is USER_HZ, the unit of the times in /proc/<pid>/stat. It is 100 on every Linux
// architecture Go supports.
const clockTicks = 100

// cpuSample is the processor time of each named process group at one moment.
type cpuSample map[string]time.Duration

// sampleCPU reads the CPU time of this process and of every process in the given groups from
// /proc. Elsewhere than Linux it returns nothing and the report has no CPU section.
func sampleCPU(groups map[string]int) cpuSample {
	self, err := procTimes(strconv.Itoa(os.Getpid()))
	if err != nil {
		return nil
	}
	s := cpuSample{generatorName: self.own}
	if busy, err := machineBusy(); err == nil {
		s[machineName] = busy
	}
	if len(groups) == 0 {
		return s
	}
	byLeader := map[int]string{}
	for name, pgid := range groups {
		byLeader[pgid] = name
	}
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, dir := range dirs {
		t, err := procTimes(filepath.Base(dir))
		if err != nil {
			continue
		}
		// PostgreSQL's backends leave their parent's group (they call setsid), so a process
		// counts when it is in a group or is a child of the group's leader. Children that
		// exited were added to their parent's cumulative times when it reaped them.
		name, ok := byLeader[t.pgid]
		if !ok {
			name, ok = byLeader[t.ppid]
		}
		if ok {
			s[name] += t.own + t.children
		}
	}
	return s
}

type procTime struct {
	ppid, pgid    int
	own, children time.Duration
}

// procTimes reads /proc/<pid>/stat. The command name may hold spaces and parentheses, so the
// fields are counted from the last ')'.
func procTimes(pid string) (procTime, error) {
	raw, err := os.ReadFile(filepath.Join("/proc", pid, "stat"))
	if err != nil {
		return procTime{}, fmt.Errorf("reading process times: %w", err)
	}
	return parseStat(string(raw))
}

func parseStat(s string) (procTime, error) {
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	// After the name: state(0) ppid(1) pgrp(2) ... utime(11) stime(12) cutime(13) cstime(14).
	if len(fields) < 15 {
		return procTime{}, os.ErrInvalid
	}
	n := func(i int) int64 { v, _ := strconv.ParseInt(fields[i], 10, 64); return v }
	tick := time.Second / clockTicks
	return procTime{
		ppid:     int(n(1)),
		pgid:     int(n(2)),
		own:      time.Duration(n(11)+n(12)) * tick,
		children: time.Duration(n(13)+n(14)) * tick,
	}, nil
}

// machineBusy reads the busy time of every CPU together from /proc/stat: all but idle and
// iowait.
func machineBusy() (time.Duration, error) {
	raw, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, fmt.Errorf("reading machine times: %w", err)
	}
	line, _, _ := strings.Cut(string(raw), "\n")
	fields := strings.Fields(line)
	if len(fields) < 9 || fields[0] != "cpu" {
		return 0, os.ErrInvalid
	}
	var busy int64
	for i, f := range fields[1:9] {
		v, _ := strconv.ParseInt(f, 10, 64)
		if i != 3 && i != 4 { // idle, iowait
			busy += v
		}
	}
	return time.Duration(busy) * (time.Second / clockTicks), nil
}

// cpuUsage turns two samples into the report's CPU section, the generator first. A group whose
// time went down (its process was restarted) is left out.
func cpuUsage(start, end cpuSample, wall time.Duration) []CPUUsage {
	if start == nil || end == nil || wall <= 0 {
		return nil
	}
	names := make([]string, 0, len(end))
	for name := range end {
		if name != generatorName && name != machineName {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	var out []CPUUsage
	var ours time.Duration
	for _, name := range append([]string{generatorName}, names...) {
		used := end[name] - start[name]
		if _, ok := start[name]; !ok || used < 0 {
			continue
		}
		ours += used
		out = append(out, CPUUsage{Name: name, Time: used, Cores: used.Seconds() / wall.Seconds()})
	}
	// What the machine did besides the load: other programs sharing the cores, which make
	// the numbers of this run lower than on a quiet machine.
	if _, ok := start[machineName]; ok && len(names) > 0 {
		other := max(end[machineName]-start[machineName]-ours, 0)
		out = append(out, CPUUsage{
			Name: otherName, Time: other,
			Cores: other.Seconds() / wall.Seconds(),
		})
	}
	return out
}
