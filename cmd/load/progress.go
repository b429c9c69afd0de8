package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/ory-identity-layer/identity/internal/load"
)

// showProgress reports a running load until ctx ends: a bar on a terminal (a spinner when the
// run has no end), else a log line every interval.
func showProgress(
	ctx context.Context,
	r *load.Runner,
	stderr io.Writer,
	log *slog.Logger,
	interval time.Duration,
) {
	if f, ok := stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		showBar(ctx, r, f)
		return
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			p := r.Progress()
			if p.Done {
				return
			}
			if p.Elapsed == 0 {
				continue
			}
			log.Info("load progress", "elapsed", p.Elapsed.Round(time.Second),
				"operations", p.Requests, "failed", p.Failed,
				"ops_per_sec", fmt.Sprintf("%.1f", rate(p)))
		}
	}
}

func showBar(ctx context.Context, r *load.Runner, w io.Writer) {
	total := int64(-1)
	if d := r.Config().Duration; d > 0 {
		total = int64(d / time.Second)
	}
	bar := progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetWidth(30),
		progressbar.OptionSetPredictTime(false),
		progressbar.OptionSetElapsedTime(true),
		progressbar.OptionThrottle(250*time.Millisecond),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionSetDescription("setting up"),
	)
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			_ = bar.Finish()
			return
		case <-tick.C:
			p := r.Progress()
			if p.Done {
				_ = bar.Finish()
				return
			}
			if p.Elapsed == 0 {
				continue
			}
			bar.Describe(fmt.Sprintf("%d ops, %d failed, %.1f/s", p.Requests, p.Failed, rate(p)))
			_ = bar.Set64(int64(p.Elapsed / time.Second))
		}
	}
}

func rate(p load.Progress) float64 {
	if p.Elapsed <= 0 {
		return 0
	}
	return float64(p.Requests) / p.Elapsed.Seconds()
}
