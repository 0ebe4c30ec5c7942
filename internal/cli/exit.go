package cli

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/freshtoken/freshtoken/internal/failure"
	"github.com/freshtoken/freshtoken/internal/nearest"
	"github.com/freshtoken/freshtoken/internal/redact"
	"github.com/spf13/pflag"
)

// Exit codes the command line gives itself; every other comes from the table
// of failure kinds (internal/failure).
const (
	ExitOK          = 0
	ExitUsage       = 2
	ExitUnreachable = 5
	// ExitBrokenPipe is a command whose output lost its reader (128+SIGPIPE),
	// as a pipeline member killed by SIGPIPE would exit.
	ExitBrokenPipe = 141
)

type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func (e *usageError) FailureKind() failure.Kind { return failure.Usage }

func usageErrorf(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// HTTPStatusError is an API answer with an error status; its body has
// already gone to stdout.
type HTTPStatusError struct {
	Env    string
	Method string
	URL    string
	Status string
	// Hint is what to try instead, when the request itself looks wrong.
	Hint string
}

func (e *HTTPStatusError) FailureKind() failure.Kind { return failure.HTTPError }

func (e *HTTPStatusError) Error() string {
	msg := fmt.Sprintf("%s: %s %s answered %s", e.Env, e.Method, redact.URL(e.URL), e.Status)
	if e.Hint != "" {
		msg += "; " + e.Hint
	}
	return msg
}

// silentError carries an exit code for a failure already reported.
type silentError struct{ code int }

func (e *silentError) Error() string { return fmt.Sprintf("exit %d", e.code) }

// ExitCode maps an error to the process exit code, by the one table of
// failure kinds.
func ExitCode(err error) int {
	var (
		se *silentError
		es *exitStatus
	)
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &se):
		return se.code
	case errors.As(err, &es):
		return es.code
	case isCobraUsage(err):
		return ExitUsage
	}
	return failure.Of(err).Row().Exit
}

// isCobraUsage recognises the errors cobra makes for unknown commands.
func isCobraUsage(err error) bool {
	return strings.HasPrefix(err.Error(), "unknown command") || strings.HasPrefix(err.Error(), "unknown shorthand flag") || strings.HasPrefix(err.Error(), "unknown flag")
}

// cobraUnknown is cobra's error for an unknown command, with the commands
// it suggests instead, each on a line of its own.
var cobraUnknown = regexp.MustCompile(`^unknown command ("(?:[^"\\]|\\.)*") for "([^"]*)"\s*(?:Did you mean this\?\s*((?:.|\n)*))?$`)

// unknownCommand says cobra's error for an unknown command in one line,
// the commands it suggests written as commands to run: it was made one
// line by joining cobra's lines, as `unknown command "tokn" for
// "freshtoken" Did you mean this? token`. Other messages pass as they are.
func unknownCommand(msg string) string {
	m := cobraUnknown.FindStringSubmatch(msg)
	if m == nil {
		return msg
	}
	out := fmt.Sprintf("unknown command %s", m[1])
	var try []string
	for _, s := range strings.Fields(m[3]) {
		try = append(try, "`"+m[2]+" "+s+"`")
	}
	if len(try) > 0 {
		return out + "; did you mean " + strings.Join(try, " or ") + "? (`" + m[2] + " help` lists the commands)"
	}
	return out + "; `" + m[2] + " help` lists the commands"
}

// unknownFlag is unknown's words, without what followed = in a group of
// shorthands (-client-secret=…, a long flag written with one dash), which
// may be a secret: pflag quoted the group whole.
func unknownFlag(unknown *pflag.NotExistError) string {
	group := unknown.GetSpecifiedShortnames()
	if i := strings.IndexByte(group, '='); i >= 0 {
		return fmt.Sprintf("unknown shorthand flag: %q in -%s", rune(unknown.GetSpecifiedName()[0]), group[:i])
	}
	return unknown.Error()
}

// badValue is bad's words without the value given, which may be a secret
// (a token pasted after --timeout= or --calls=): pflag quoted it, twice
// over. What the flag takes is said instead.
func badValue(bad *pflag.InvalidValueError) string {
	fl := bad.GetFlag()
	const hidden = "(not shown, in case it is a secret)"
	switch fl.Value.Type() {
	case "duration":
		return fmt.Sprintf("--%s takes a length of time, such as 10m, 90s or 1h30m (a day is 24h); what was given is not one %s", fl.Name, hidden)
	case "bool":
		return fmt.Sprintf("--%s takes no value (or =true, =false); what was given after = is neither %s", fl.Name, hidden)
	case "int":
		return fmt.Sprintf("--%s takes a whole number, such as %s; what was given is not one %s", fl.Name, fl.DefValue, hidden)
	}
	return fmt.Sprintf("--%s takes a %s; what was given is not one %s", fl.Name, fl.Value.Type(), hidden)
}

// flagMeant is the flag an unknown one was meant to be, written as it is
// typed: --env for --evn, and for a long flag written with one dash
// (-force), -e for a shorthand written with two (--e); "" when no flag is
// near enough to be meant.
func flagMeant(flags *pflag.FlagSet, unknown *pflag.NotExistError) string {
	typed := unknown.GetSpecifiedName()
	if group := unknown.GetSpecifiedShortnames(); group != "" {
		typed, _, _ = strings.Cut(group, "=")
		if len(typed) < 2 {
			return ""
		}
	}
	var names []string
	short := ""
	flags.VisitAll(func(f *pflag.Flag) {
		if f.Hidden || f.Deprecated != "" {
			return
		}
		if f.Shorthand != "" && f.Shorthand == typed {
			short = "-" + typed
		}
		names = append(names, f.Name)
	})
	if short != "" {
		return short
	}
	if name := nearest.Word(typed, names); name != "" {
		return "--" + name
	}
	return ""
}
