package cli

import (
	"context"

	"github.com/spf13/cobra"
)

// runner is the RunE of a command whose work is run(ctx, opts). A test
// passes runF to see the options the command line set instead (the gh
// CLI's pattern); a command's constructor takes it, and nil runs the
// command. Flags are checked, and arguments taken into opts, in PreRunE,
// which runs either way.
func runner[O any](opts O, runF func(O) error, run func(context.Context, O) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		if runF != nil {
			return runF(opts)
		}
		return run(cmd.Context(), opts)
	}
}
