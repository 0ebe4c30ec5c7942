package cli

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/freshtoken/freshtoken/internal/failure"
	"github.com/freshtoken/freshtoken/internal/nearest"
	"github.com/freshtoken/freshtoken/internal/redact"
	"github.com/freshtoken/freshtoken/internal/shellquote"
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
// the commands it suggests written as commands to run, with -e env when
// one was given (--config is added as to every suggestion: see
// Factory.suggesting): it was made one line by joining cobra's lines, as
// `unknown command "tokn" for "freshtoken" Did you mean this? token`. An
// env that may be a secret pasted after -e (redact.MayBeSecret) is written -e
// NAME. A word near no command is shown only when it reads as one
// (shown). Other messages pass as they are.
func unknownCommand(msg, env string) string {
	m := cobraUnknown.FindStringSubmatch(msg)
	if m == nil {
		return msg
	}
	onEnv := ""
	switch {
	case env == "":
	case redact.MayBeSecret(env):
		onEnv = " -e NAME"
	default:
		onEnv = " -e " + shellquote.Word(env)
	}
	var try []string
	for _, s := range strings.Fields(m[3]) {
		try = append(try, "`"+m[2]+" "+s+onEnv+"`")
	}
	if len(try) > 0 { // a command mistyped: the word is shown
		return "unknown command " + m[1] + "; did you mean " + strings.Join(try, " or ") + "? (`" + m[2] + " help` lists the commands)"
	}
	word, _ := strconv.Unquote(m[1])
	return "unknown command " + shown(word) + "; `" + m[2] + " help` lists the commands"
}

// unknownFlag is unknown's words, never with what followed the flag's
// name, which may be a secret: pflag quoted a group of shorthands whole,
// and a value is written against its shorthand as often as not (-dVALUE,
// -client-secret=VALUE, a long flag written with one dash). The group is
// shown up to = when it reads as a flag mistyped (meant, the flag it is
// near, is not ""), else its first letter alone.
func unknownFlag(unknown *pflag.NotExistError, meant string) string {
	group := unknown.GetSpecifiedShortnames()
	if group == "" {
		return unknown.Error() // a long flag: pflag names it without what followed =
	}
	letter := rune(unknown.GetSpecifiedName()[0])
	if name, _, _ := strings.Cut(group, "="); len(name) == 1 || meant != "" {
		return fmt.Sprintf("unknown shorthand flag: %q in -%s", letter, name)
	}
	return fmt.Sprintf("unknown shorthand flag: %q in -%c… (what followed it is not shown, in case it is a secret; a long flag starts with two dashes)", letter, letter)
}

// badSyntax is bad's words without what followed =, which may be a secret
// (---client-secret=VALUE): pflag quoted it whole. Three dashes or more
// are said as such. name is the flag's name typed, without its dashes, ""
// when there is none.
func badSyntax(bad *pflag.InvalidSyntaxError) (words, name string) {
	typed, _, valued := strings.Cut(bad.GetSpecifiedFlag(), "=")
	words = "bad flag syntax: " + typed
	if valued {
		words += "=… (what followed = is not shown, in case it is a secret)"
	}
	if name = strings.TrimLeft(typed, "-"); name != "" {
		words += "; a long flag starts with two dashes"
	}
	return words, name
}

// shown is words quoted, one space between them, when every one reads as
// a name a person mistyped (readsAsName); anything else may be a secret
// pasted in the wrong place (a token after `freshtoken `), and is
// redact.NotShown.
func shown(words ...string) string {
	if len(words) == 0 || slices.ContainsFunc(words, func(w string) bool { return !readsAsName(w) }) {
		return redact.NotShown
	}
	return strconv.Quote(strings.Join(words, " "))
}

// shownChoice is shown for word given where one of names was wanted,
// with the name it is near, its case aside ("FreeAgent", "JSON"), as one
// to try. A word that is one of names but for its case is no secret, and
// is shown too: it was hidden, and the person saw no reason for the refusal.
func shownChoice(word string, names []string) string {
	meant := nearest.Word(word, names)
	switch {
	case meant == "":
		return shown(word)
	case readsAsName(word) || strings.EqualFold(word, meant):
		return fmt.Sprintf("%q (did you mean %s?)", word, meant)
	}
	return strings.TrimSuffix(redact.NotShown, ")") + "; did you mean " + meant + "?)"
}

// readsAsName reports whether word reads as the name of a command, a
// provider, a grant or the like: lowercase letters, '-' and '_', at most
// 32 of them. A secret (base64, hex, a JWT) all but always holds a digit
// or a capital.
func readsAsName(word string) bool {
	return len(word) > 0 && len(word) <= 32 && strings.Trim(word, "abcdefghijklmnopqrstuvwxyz-_") == ""
}

// badValue is bad's words without the value given, which may be a secret
// (a token pasted after --timeout= or --calls=): pflag quoted it, twice
// over. What the flag takes is said instead.
func badValue(bad *pflag.InvalidValueError) string {
	fl := bad.GetFlag()
	switch fl.Value.Type() {
	case "duration":
		return fmt.Sprintf("--%s takes a length of time, such as 10m, 90s or 1h30m (a day is 24h); what was given is not one %s", fl.Name, redact.NotShown)
	case "bool":
		return fmt.Sprintf("--%s takes no value (or =true, =false); what was given after = is neither %s", fl.Name, redact.NotShown)
	case "int":
		return fmt.Sprintf("--%s takes a whole number, such as %s; what was given is not one %s", fl.Name, fl.DefValue, redact.NotShown)
	}
	return fmt.Sprintf("--%s takes a %s; what was given is not one %s", fl.Name, fl.Value.Type(), redact.NotShown)
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
	return flagNear(flags, typed)
}

// flagNear is the flag typed, a name without its dashes, was meant to be,
// written as it is typed (see flagMeant); "" when none is near enough.
func flagNear(flags *pflag.FlagSet, typed string) string {
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
