package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/freshtoken/freshtoken/internal/configfile"
	"github.com/freshtoken/freshtoken/internal/redact"
)

type execOptions struct {
	f        *Factory
	MinValid time.Duration
	Var      string
	Command  []string
}

func newExecCmd(f *Factory) *cobra.Command {
	opts := &execOptions{f: f}
	cmd := &cobra.Command{
		Use:   "exec [flags] -- COMMAND [ARG…]",
		Short: "Run a command with a fresh access token in its environment",
		Long: `Run COMMAND with FRESHTOKEN_ACCESS_TOKEN (or the variable --var names) and
FRESHTOKEN_API_URL set, for tools that read a token from their environment.
FRESHTOKEN_ENV and FRESHTOKEN_CONFIG name the environment and the
configuration file, so that freshtoken run by COMMAND works on the same one.
With --var, no FRESHTOKEN_ACCESS_TOKEN is passed on (an outer exec's, for
another environment, would go beside this one's FRESHTOKEN_API_URL).
COMMAND takes freshtoken's place (on Windows, runs beside it): signals and
the terminal are its own, and its exit code is freshtoken's. COMMAND is a
program run with its arguments, through no shell: a shell's builtin (cd,
source), a NAME=value before it, a ~ or $ to expand, or a whole command line
in one word is run with ` + shellLine + bashNote + `; exit 127 says which it was.

The variable holds the token as it was when COMMAND started: nothing is left
to renew it. A COMMAND that may run longer than the token lasts (FreeAgent's:
an hour) asks for the time it needs with --min-valid, within what the
provider's tokens last, or runs ` + "`freshtoken token`" + ` before each request for one
that is fresh, or sends its requests through ` + "`freshtoken proxy`" + `.`,
		Example: `  freshtoken -e sandbox exec -- sh -c 'curl -H "Authorization: Bearer $FRESHTOKEN_ACCESS_TOKEN" -H "Accept: application/json" "$FRESHTOKEN_API_URL"v2/company'
  freshtoken exec --min-valid 30m --var FREEAGENT_TOKEN -- ./nightly-export.sh`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageErrorf("name the command to run after --; see `%s --help`", cmd.CommandPath())
			}
			if strings.TrimSpace(args[0]) == "" { // an unset variable: exec -- "$CMD"
				return usageErrorf("the command to run after -- is an empty name (an unset variable?); name a command, such as `%s -- curl …`", cmd.CommandPath())
			}
			return nil
		},
		PreRunE: func(cmd *cobra.Command, args []string) error {
			if opts.MinValid < 0 {
				return usageErrorf("--min-valid %s is negative; give how long the token must stay valid, such as 30m", opts.MinValid)
			}
			if !configfile.IsEnvVarName(opts.Var) {
				return usageErrorf("--var %q is not an environment variable name", opts.Var)
			}
			if slices.Contains(childVars, opts.Var) {
				return usageErrorf("--var %s would hide what freshtoken tells the command; name another variable", opts.Var)
			}
			if systemVar(opts.Var) {
				return usageErrorf("--var %s names a variable the system reads for itself; name one of the command's own, such as FREEAGENT_TOKEN", opts.Var)
			}
			opts.Command = args
			return nil
		},
		RunE: runner(opts, nil, runExec),
	}
	// Everything from the command on is the command's, -- or not: a flag
	// freshtoken also has (-e, --debug) must reach the command, not choose
	// freshtoken's environment for it.
	cmd.Flags().SetInterspersed(false)
	cmd.Flags().DurationVar(&opts.MinValid, "min-valid", 0, "renew first if the token has less than this left (such as 30m)")
	cmd.Flags().StringVar(&opts.Var, "var", defaultVar, "the environment variable that holds the token")
	return cmd
}

// childVars are set in the environment of exec's command besides the
// token (see runExec): the API's URL, and the environment and configuration
// file in use.
var childVars = []string{"FRESHTOKEN_API_URL", "FRESHTOKEN_ENV", "FRESHTOKEN_CONFIG"}

// systemVar reports whether name is read by the system rather than by the
// command: the token there would break the command (PATH, HOME), or be
// printed by the dynamic loader (LD_PRELOAD) where logs keep it.
func systemVar(name string) bool {
	switch strings.ToUpper(name) {
	case "PATH", "HOME", "SHELL", "USER", "LOGNAME", "PWD", "IFS", "TMPDIR", "TERM", "LANG", "TZ", "ENV", "BASH_ENV", "SYSTEMROOT", "COMSPEC", "PATHEXT":
		return true
	}
	for _, prefix := range []string{"LD_", "DYLD_", "LC_"} {
		if strings.HasPrefix(strings.ToUpper(name), prefix) {
			return true
		}
	}
	return false
}

// exitStatus is the exit code of a command freshtoken ran, passed on as it
// is, whatever signal freshtoken saw meanwhile.
type exitStatus struct{ code int }

func (e *exitStatus) Error() string { return fmt.Sprintf("exit status %d", e.code) }

func runExec(ctx context.Context, opts *execOptions) error {
	f := opts.f
	f.rerunnable = true
	src, err := f.Source(ctx, "")
	if err != nil {
		return err
	}
	path, err := f.ConfigPath()
	if err != nil {
		return err
	}
	if path, err = filepath.Abs(path); err != nil { // the command may change folder
		return err
	}
	// The renewal may go on after the token is served (its store stalled):
	// it ends with tctx, before the command takes the process over, and
	// one already sent is stored first (see handOver).
	tctx, endRenewal := context.WithCancel(ctx)
	tok, err := freshToken(tctx, f, src, false, opts.MinValid)
	endRenewal()
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil { // a signal came during the renewal: it is stored; run nothing
		return err
	}
	child := exec.Command(opts.Command[0], opts.Command[1:]...)
	child.Env = append(inherited(opts.Var), opts.Var+"="+tok.AccessToken,
		"FRESHTOKEN_API_URL="+src.APIURL(), "FRESHTOKEN_ENV="+src.Env(), "FRESHTOKEN_CONFIG="+path)
	return runCommand(f, child)
}

// defaultVar is the variable exec's command finds the token in unless
// --var names another.
const defaultVar = "FRESHTOKEN_ACCESS_TOKEN"

// inherited is this process's environment as exec's command gets it. With
// the token in another variable (tokenVar), a FRESHTOKEN_ACCESS_TOKEN there
// (an outer exec's, for another environment) is left out: beside this
// environment's FRESHTOKEN_API_URL, a command reading the usual pair would
// send that token to this API.
func inherited(tokenVar string) []string {
	env := os.Environ()
	if tokenVar == defaultVar {
		return env
	}
	return slices.DeleteFunc(env, func(kv string) bool {
		name, _, _ := strings.Cut(kv, "=")
		return name == defaultVar || runtime.GOOS == "windows" && strings.EqualFold(name, defaultVar)
	})
}

// notRunnable is the one line (after "freshtoken: ") saying why the
// command name could not be run, without the control characters the name
// may hold.
func notRunnable(name string, err error) string {
	name = shownName(name)
	switch {
	case errors.Is(err, exec.ErrNotFound) && shellOnly(name) != "":
		return redact.OneLine(fmt.Sprintf("%s: %s", name, shellOnly(name)), 1000)
	case errors.Is(err, exec.ErrNotFound):
		return redact.OneLine(fmt.Sprintf("%s: no such command in any folder of $PATH; check its name, or give its path (such as ./%s)", name, name), 1000)
	case errors.Is(err, exec.ErrDot):
		// Go's words ("cannot run executable found relative to current
		// directory") said nothing of $PATH, nor what to do.
		return redact.OneLine(fmt.Sprintf("%s: found only in the current folder, through . (or an empty entry) in $PATH, which freshtoken does not run commands from, as any file put in a folder you are in would run in place of the command; give its path (such as ./%s)", name, name), 1000)
	}
	var ee *exec.Error
	if errors.As(err, &ee) {
		err = ee.Err
	}
	return redact.OneLine(fmt.Sprintf("%s: %v", name, err), 1000)
}

// shellOnly is what a shell would have made of name, which names no
// command: exec runs the command itself, through no shell, so a builtin
// (cd, source), a variable assignment (NAME=value), a ~ or $ to expand, or
// a whole command line quoted as one word ("curl -s URL", from a Makefile
// or a variable), or a name with white space around it ("curl ") is taken
// as the name of a program, and the advice to
// check the name or give its path led nowhere. "" when name is none of
// these.
func shellOnly(name string) string {
	fields := strings.Fields(name)
	switch {
	case len(fields) > 1 && shellBuiltin(fields[0]):
		return fmt.Sprintf("a whole command line in one word, beginning with a command built into the shell, and exec runs no shell; have one read the line (exec -- %s)", shellFor(fields[0]))
	case len(fields) > 1 && lookPathFinds(fields[0]):
		return fmt.Sprintf("a whole command line in one word, which exec takes as the name of one command, as it runs no shell to split it; give the command and each argument as a word of its own (exec -- %s ARG…), or have a shell read the line (exec -- %s)", fields[0], shellLine)
	case len(fields) == 1 && fields[0] != name && lookPathFinds(fields[0]):
		return fmt.Sprintf("white space around the name of a command (a quoted variable, a Makefile's trailing space), which a shell would have dropped; write it without (exec -- %s …)", fields[0])
	case isAssignment(name):
		return fmt.Sprintf("a variable assignment, which only a shell understands; set the variable with env (exec -- env %s COMMAND…)", shownName(fields[0]))
	case strings.HasPrefix(name, "~") || strings.Contains(name, "$"):
		return fmt.Sprintf("a ~ or $ in it is for a shell to expand, and exec runs no shell; write the path out in full, or have a shell expand it (exec -- %s)", shellLine)
	case shellBuiltin(name):
		return fmt.Sprintf("a command built into the shell, not a program, so only a shell runs it; have one run it (exec -- %s)", shellFor(name))
	}
	return ""
}

// isAssignment reports whether word sets a variable as a shell reads it
// before a command: NAME=value.
func isAssignment(word string) bool {
	name, _, ok := strings.Cut(word, "=")
	return ok && configfile.IsEnvVarName(name)
}

// shownName is the command's name, or a script's #! line, as exec's
// messages show it: of each variable assignment in it (exec --
// API_KEY=s3cret ./deploy.sh, the same line in one word, "env API_KEY=…
// ./deploy.sh", #!/usr/bin/env API_KEY=… python3), the name alone, as its
// value is often a secret and the message may go to a CI log; a shell
// would never have shown it.
func shownName(name string) string {
	return assignedValue().ReplaceAllString(name, "${1}${2}=…")
}

// assignedValue matches a word that sets a variable (isAssignment): the
// white space before it is its first group, the variable's name its second.
// It is compiled when first needed, not as every command starts.
var assignedValue = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(^|\s)([A-Za-z_][A-Za-z0-9_]*)=\S*`)
})

// shellBuiltin reports whether name is one of the shellBuiltins, in any
// case where the shell is Windows'.
func shellBuiltin(name string) bool {
	return slices.ContainsFunc(shellBuiltins, func(b string) bool {
		return b == name || runtime.GOOS == "windows" && strings.EqualFold(b, name)
	})
}

// shellFor is how exec runs a command line that begins with builtin:
// through bash for one of bash's own, which sh (dash, on Debian and
// Ubuntu) has not: sh -c 'source f' says "source: not found" there. Where
// there is no bash (Alpine, whose sh has source), through sh all the same.
func shellFor(builtin string) string {
	if slices.Contains(bashOnly, builtin) && lookPathFinds("bash") {
		return bashLine
	}
	return shellLine
}

// lookPathFinds reports whether name is a command exec could run.
func lookPathFinds(name string) bool {
	_, err := exec.LookPath(name)
	return err == nil
}
