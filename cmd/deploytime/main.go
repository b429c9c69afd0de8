// Command deploytime estimates how long a fresh `pulumi up` of a stack takes. It evaluates the
// program offline under mocks, finds the longest dependency chain, and weighs each resource by
// its typical create time (see offline.CreateTimes). Run it from the repository root:
//
//	go run ./cmd/deploytime -stack dev
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	"github.com/ory-identity-layer/identity/internal/offline"
)

func main() {
	// A flag set of its own: the SDK's dependencies register theirs on the default one.
	flags := flag.NewFlagSet("deploytime", flag.ExitOnError)
	stack := flags.String("stack", "dev", "stack whose Pulumi.<stack>.yaml to evaluate")
	dir := flags.String("dir", ".", "directory holding Pulumi.yaml and the stack files")
	_ = flags.Parse(os.Args[1:]) // ExitOnError: Parse exits on a bad flag.

	g, err := offline.Run(*dir, *stack, nil)
	if err != nil {
		fmt.Fprintf(os.Stderr, "deploytime: %v\n", err)
		os.Exit(1)
	}
	if err := report(os.Stdout, *stack, offline.CriticalPath(g)); err != nil {
		fmt.Fprintf(os.Stderr, "deploytime: %v\n", err)
		os.Exit(1)
	}
}

func report(w io.Writer, stack string, chain []offline.Step) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "FINISHES\tTAKES\tTYPE\tNAME\n")
	for _, s := range chain {
		if s.Takes == 0 {
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", minutes(s.Finishes), minutes(s.Takes),
			s.Resource.Type, s.Resource.Name)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("writing report: %w", err)
	}
	var total time.Duration
	if len(chain) > 0 {
		total = chain[len(chain)-1].Finishes
	}
	if _, err := fmt.Fprintf(w, "\nstack %s: a fresh `pulumi up` takes about %s on its critical path\n",
		stack, minutes(total)); err != nil {
		return fmt.Errorf("writing report: %w", err)
	}
	return nil
}

func minutes(d time.Duration) string {
	return d.Round(time.Second).String()
}
