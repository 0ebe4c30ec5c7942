package cli

import (
	"fmt"

	"github.com/spf13/cobra"
)

type logoutOptions struct {
	f *Factory
}

func newLogoutCmd(f *Factory, runF func(*logoutOptions) error) *cobra.Command {
	opts := &logoutOptions{f: f}
	return &cobra.Command{
		Use:     "logout",
		Short:   "Forget an environment's tokens",
		Long:    "Delete the environment's stored tokens. The configuration is kept; `freshtoken login` logs in again.",
		Example: `  freshtoken logout -e sandbox`,
		Args:    exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			src, err := f.Source(cmd.Context(), "")
			if err != nil {
				return err
			}
			if rec, err := src.Record(cmd.Context()); err == nil && rec == nil {
				fmt.Fprintf(f.IO.ErrOut, "%s has no stored tokens (nothing in %s); nothing to log out of.\n", src.Env(), src.Location())
				return nil
			}
			if err := src.Logout(cmd.Context()); err != nil {
				return err
			}
			fmt.Fprintf(f.IO.ErrOut, "Logged out of %s: its tokens were deleted from %s.\n", src.Env(), src.Location())
			return nil
		},
	}
}
