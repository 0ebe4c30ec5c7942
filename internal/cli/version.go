package cli

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// version and commit are set at release time with -ldflags
// "-X github.com/freshtoken/freshtoken/internal/cli.version=1.2.3 -X …commit=abc";
// otherwise they come from the build information Go records.
var version, commit string

// versionText is what `freshtoken version` and `--version` print, for bug
// reports: "freshtoken VERSION (commit COMMIT, GO_VERSION)".
func versionText() string {
	v, c := version, commit
	if info, ok := debug.ReadBuildInfo(); ok {
		if v == "" && info.Main.Version != "" && info.Main.Version != "(devel)" {
			v = info.Main.Version
		}
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" && c == "" {
				c = s.Value
				if len(c) > 12 {
					c = c[:12]
				}
			}
			if s.Key == "vcs.modified" && s.Value == "true" && commit == "" && c != "" {
				c += "-dirty"
			}
		}
	}
	if v == "" {
		v = "devel"
	}
	if c == "" {
		c = "unknown"
	}
	return fmt.Sprintf("freshtoken %s (commit %s, %s)", v, c, runtime.Version())
}

func newVersionCmd(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version, the commit and the Go version it was built with",
		Long: `Print the version, the commit and the Go version freshtoken was built
with, on one line, to give with a bug report. --version prints the same.`,
		Example: `  freshtoken version
  freshtoken --version`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			text := versionText()
			if canRestart && os.Getenv(handOverVar) == handOverAsk { // a proxy about to start this version in its place
				text += "\n" + takesHandedSocket
			}
			_, err := fmt.Fprintln(f.IO.Out, text)
			return err
		},
	}
}
