package localstack

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// stopGrace is how long a process gets between SIGTERM (or postgres' fast-shutdown SIGINT) and
// SIGKILL.
const stopGrace = 10 * time.Second

// process is one long-running child: a server or PostgreSQL. Its output goes to a log file.
type process struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	stopSig syscall.Signal

	done    chan struct{}
	waitErr error
	// stopping is set by stop, so that an exit asked for (a restart) is told apart from a
	// crash.
	stopping atomic.Bool
}

// childEnv is the environment of every child. The Ory servers map environment variables onto
// configuration keys (DSN, SERVE_PUBLIC_PORT, ...), so the caller's environment is not passed on:
// a stray DSN would silently override the rendered file.
func childEnv() []string {
	env := []string{"SQA_OPT_OUT=true", "LC_ALL=C", "TZ=UTC"}
	for _, k := range []string{"PATH", "HOME", "TMPDIR"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// sysProcAttr puts the child in its own process group, so a signal reaches anything it forks,
// and asks the kernel to kill it if this process dies without cleaning up. cred, when not nil,
// runs it as another user.
func sysProcAttr(cred *syscall.Credential) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL, Credential: cred}
}

// startProcess starts a long-running child whose output goes to logPath.
func startProcess(
	name, logPath string,
	stopSig syscall.Signal,
	cred *syscall.Credential,
	bin string, args ...string,
) (*process, error) {
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("opening %s log: %w", name, err)
	}
	defer func() { _ = logFile.Close() }()

	cmd := exec.Command(bin, args...)
	cmd.Env = childEnv()
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = sysProcAttr(cred)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}

	p := &process{
		name: name, cmd: cmd, logPath: logPath, stopSig: stopSig,
		done: make(chan struct{}),
	}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// exited reports whether the process has ended.
func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// exitError describes how the process ended, with the tail of its log.
func (p *process) exitError() error {
	if p.waitErr == nil {
		return fmt.Errorf("%s exited with status 0; last log lines:%s", p.name,
			logTail(p.logPath, 20))
	}
	return fmt.Errorf("%s exited (%w); last log lines:%s", p.name, p.waitErr,
		logTail(p.logPath, 20))
}

// stop signals the process group and waits; after stopGrace it kills the group.
func (p *process) stop() error {
	p.stopping.Store(true)
	if p.exited() {
		return nil
	}
	pgid := p.cmd.Process.Pid
	_ = syscall.Kill(-pgid, p.stopSig)
	select {
	case <-p.done:
		return nil
	case <-time.After(stopGrace):
	}
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	<-p.done
	return fmt.Errorf("%s did not stop within %s and was killed", p.name, stopGrace)
}

// runCommand runs a short-lived child to completion, appending its output to logPath. When ctx
// ends first the whole process group is killed. A failure carries the tail of the output.
func runCommand(
	ctx context.Context,
	logPath string,
	cred *syscall.Credential,
	stdin io.Reader,
	bin string, args ...string,
) error {
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("opening log: %w", err)
	}
	defer func() { _ = logFile.Close() }()

	var out bytes.Buffer
	w := io.MultiWriter(logFile, &out)
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = childEnv()
	cmd.Stdin = stdin
	cmd.Stdout, cmd.Stderr = w, w
	cmd.SysProcAttr = sysProcAttr(cred)
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = stopGrace

	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			err = errors.Join(err, ctx.Err())
		}
		return fmt.Errorf("%w; last output lines:%s", err, tailOf(out.String(), 20))
	}
	return nil
}

// logTail returns the last n lines of a log file, formatted to follow an error message.
func logTail(path string, n int) string {
	raw, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return tailOf(string(raw), n)
}

func tailOf(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	if len(lines) == 1 && lines[0] == "" {
		return ""
	}
	return "\n  | " + strings.Join(lines, "\n  | ")
}
