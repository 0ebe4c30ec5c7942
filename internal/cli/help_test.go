package cli_test

import (
	"testing"

	"github.com/spf13/cobra"

	"github.com/freshtoken/freshtoken/internal/cli"
)

// TestEveryCommandHasExamples walks the command tree: every command a
// person can run or open for help shows examples in its --help.
func TestEveryCommandHasExamples(t *testing.T) {
	ios, _, _ := testStreams(false, false)
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			if sub.Hidden || sub.Name() == "help" {
				continue
			}
			if (sub.Runnable() || sub.HasSubCommands()) && sub.Example == "" {
				t.Errorf("%s --help shows no examples", sub.CommandPath())
			}
			walk(sub)
		}
	}
	walk(cli.NewRootCmd(&cli.Factory{IO: ios}))
}
