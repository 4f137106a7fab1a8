// Command reachgate is a GitOps policy-as-code gate for Kubernetes network
// security: it renders Kustomize overlays, computes who can reach whom,
// evaluates Rego rules and gates pull requests on the difference.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	// Mozilla's CA roots, used only where the system has none: the
	// container image is a static binary on no base image.
	_ "golang.org/x/crypto/x509roots/fallback"

	"github.com/reachgate/reachgate/pipeline/report"
	"github.com/reachgate/reachgate/pipeline/run"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := execute(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// execute runs the CLI and turns its error into an exit code; only main
// and tests call it.
func execute(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRootCmd()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return run.ExitOK
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
