package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/freshtoken/freshtoken/config"
)

type execOptions struct {
	f        *Factory
	MinValid time.Duration
	Var      string
	Command  []string
}

func newExecCmd(f *Factory, runF func(*execOptions) error) *cobra.Command {
	opts := &execOptions{f: f}
	cmd := &cobra.Command{
		Use:   "exec [flags] -- COMMAND [ARG…]",
		Short: "Run a command with a fresh access token in its environment",
		Long: `Run COMMAND with FRESHTOKEN_ACCESS_TOKEN (or the variable --var names) and
FRESHTOKEN_API_URL set, for tools that read a token from their environment.
Signals are passed on to COMMAND, and freshtoken exits with its exit code.`,
		Example: `  freshtoken -e sandbox exec -- sh -c 'curl -H "Authorization: Bearer $FRESHTOKEN_ACCESS_TOKEN" "$FRESHTOKEN_API_URL"v2/company'
  freshtoken exec --min-valid 30m --var FREEAGENT_TOKEN -- ./nightly-export.sh`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageErrorf("name the command to run after --; see `%s --help`", cmd.CommandPath())
			}
			return nil
		},
		PreRunE: func(cmd *cobra.Command, args []string) error {
			if opts.MinValid < 0 {
				return usageErrorf("--min-valid %s is negative; give how long the token must stay valid, such as 30m", opts.MinValid)
			}
			if opts.Var != "" && !config.IsEnvVarName(opts.Var) {
				return usageErrorf("--var %q is not an environment variable name", opts.Var)
			}
			opts.Command = args
			return nil
		},
		RunE: runner(opts, runF, runExec),
	}
	cmd.Flags().DurationVar(&opts.MinValid, "min-valid", 0, "renew first if the token has less than this left (such as 30m)")
	cmd.Flags().StringVar(&opts.Var, "var", "FRESHTOKEN_ACCESS_TOKEN", "the environment variable that holds the token")
	return cmd
}

// exitStatus is the exit code of a command freshtoken ran, passed on as it
// is, whatever signal freshtoken saw meanwhile.
type exitStatus struct{ code int }

func (e *exitStatus) Error() string { return fmt.Sprintf("exit status %d", e.code) }

func runExec(ctx context.Context, opts *execOptions) error {
	f := opts.f
	src, err := f.Source(ctx, "")
	if err != nil {
		return err
	}
	tok, err := freshToken(ctx, src, false, opts.MinValid)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil { // a signal came during the renewal: it is stored; run nothing
		return err
	}
	child := exec.Command(opts.Command[0], opts.Command[1:]...)
	child.Env = append(os.Environ(), opts.Var+"="+tok.AccessToken, "FRESHTOKEN_API_URL="+src.APIURL())
	child.Stdin, child.Stdout, child.Stderr = f.IO.In, underlying(f.IO.Out), underlying(f.IO.ErrOut)
	// Signals go to the command, which decides when to end.
	sigs := make(chan os.Signal, 4)
	if pass := stopping(); len(pass) > 0 { // none: Notify would take every signal
		signal.Notify(sigs, pass...)
		defer signal.Stop(sigs)
	}
	if f.handOver != nil && !f.handOver() { // a signal came after the renewal
		return context.Canceled
	}
	if err := child.Start(); err != nil {
		fmt.Fprintf(f.IO.ErrOut, "freshtoken: %s: %v\n", opts.Command[0], err)
		return &exitStatus{127}
	}
	done := make(chan struct{})
	go func() {
		for {
			select {
			case s := <-sigs:
				child.Process.Signal(s)
			case <-done:
				return
			}
		}
	}()
	err = child.Wait()
	close(done)
	var ee *exec.ExitError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ee):
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return &exitStatus{128 + int(ws.Signal())}
		}
		return &exitStatus{ee.ExitCode()}
	}
	return err
}

// underlying is the stream w writes to, so that a command freshtoken runs
// shares the terminal rather than a pipe.
func underlying(w io.Writer) io.Writer {
	if p, ok := w.(pipeWatch); ok {
		return p.w
	}
	return w
}
