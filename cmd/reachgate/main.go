// Command reachgate is a GitOps policy-as-code gate for Kubernetes network
// security: it renders Kustomize overlays, computes who can reach whom,
// evaluates Rego rules and gates pull requests on the difference.
package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	// Mozilla's CA roots, used only where the system has none: the
	// container image is a static binary on no base image.
	_ "golang.org/x/crypto/x509roots/fallback"
	"golang.org/x/term"

	"github.com/reachgate/reachgate/internal/heaptune"
	"github.com/reachgate/reachgate/pipeline/report"
	"github.com/reachgate/reachgate/pipeline/run"
)

// grace is how long a signalled command has to return before main exits
// anyway: every stage stops when the context is done, but kustomize cannot
// be interrupted.
const grace = 500 * time.Millisecond

func main() {
	// First, before the heap grows: large runs spend less time in the
	// kernel when their heap is in huge pages, and less collecting
	// values that live until they end.
	heaptune.Prepare()
	os.Exit(cli(os.Args[1:], os.Stdout, os.Stderr))
}

// cli runs the command line. SIGINT and SIGTERM cancel the command's
// context, which every stage watches; cli returns at most grace after the
// signal, with code 2, whether or not the command has.
func cli(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	done := make(chan int, 1)
	go func() { done <- execute(ctx, args, stdout, stderr) }()
	select {
	case code := <-done:
		return code
	case <-ctx.Done():
	}
	select {
	case code := <-done:
		return code
	case <-time.After(grace):
		fmt.Fprintln(stderr, "reachgate: interrupted")
		return run.ExitInput
	}
}

// execute runs the CLI and turns its error into an exit code; only main
// and tests call it.
func execute(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	// Output to a file or a pipe is buffered: the formats write a line at
	// a time, and a large matrix has millions of lines.
	var buffered *bufio.Writer
	if f, ok := stdout.(*os.File); ok && !term.IsTerminal(int(f.Fd())) {
		buffered = bufio.NewWriterSize(f, 1<<16)
		stdout = buffered
	}
	root := newRootCmd()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if buffered != nil {
		if ferr := buffered.Flush(); ferr != nil && err == nil {
			err = fmt.Errorf("write output: %w", ferr)
		}
	}
	if err == nil {
		return run.ExitOK
	}
	if ctx.Err() != nil {
		fmt.Fprintln(stderr, "reachgate: interrupted")
		return run.ExitInput
	}
	// Errors name files and objects of the pull request: no line of one
	// may become a workflow command in a CI log.
	var ee *run.ExitError
	if errors.As(err, &ee) {
		fmt.Fprint(stderr, report.EscapeWorkflowCommands(fmt.Sprintln("reachgate:", ee.Err)))
		return ee.Code
	}
	// Usage errors and anything that kept the command from finishing.
	fmt.Fprint(stderr, report.EscapeWorkflowCommands(fmt.Sprintln("reachgate:", err)))
	return run.ExitInput
}
