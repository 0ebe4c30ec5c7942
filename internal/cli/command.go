package cli

import (
	"context"
	"strings"

	"github.com/spf13/cobra"
)

// runner is the RunE of a command whose work is run(ctx, opts). A test
// passes runF to see the options the command line set instead (the gh
// CLI's pattern), through the constructor of a command whose flags are
// tested so; nil runs the command. Flags are checked, and arguments taken
// into opts, in PreRunE, which runs either way.
func runner[O any](opts O, runF func(O) error, run func(context.Context, O) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		if runF != nil {
			return runF(opts)
		}
		return run(cmd.Context(), opts)
	}
}

// showHelp is the RunE of a command that only groups subcommands (import,
// service, store): runnable, so that cobra checks its Args, and a mistyped
// subcommand is an error rather than the usage and success.
func showHelp(cmd *cobra.Command, _ []string) error { return cmd.Help() }

// repeatable is a flag given once per value (-H 'A: b' -H 'C: d'), each
// kept whole, commas and all, as with pflag's StringArray, which would
// instead write its empty default out as CSV when defined: a 4 KiB buffer
// per flag at every start-up.
type repeatable []string

// countedString is a string flag that counts how often it was given (n),
// where a repeat would otherwise replace the value without a word.
type countedString struct {
	p *string
	n *int
}

func (c *countedString) Set(v string) error { *c.p = v; *c.n++; return nil }
func (c *countedString) Type() string       { return "string" }
func (c *countedString) String() string {
	if c.p == nil {
		return ""
	}
	return *c.p
}

func (r *repeatable) Set(v string) error { *r = append(*r, v); return nil }
func (r *repeatable) Type() string       { return "stringArray" }
func (r *repeatable) String() string     { return strings.Join(*r, ", ") }
