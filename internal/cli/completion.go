package cli

import (
	"github.com/spf13/cobra"
)

func newCompletionCmd(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "completion bash|zsh|fish",
		Short: "Print a shell completion script",
		Long: `Print a script that teaches your shell to complete freshtoken's commands,
flags and environment names (after -e). Load it as the examples show; a new
shell then completes with Tab.

bash needs the bash-completion package. For zsh, completion must be enabled
(autoload -U compinit; compinit in ~/.zshrc).`,
		Example: `  # bash, for this shell, then for every new one
  source <(freshtoken completion bash)
  freshtoken completion bash > ~/.local/share/bash-completion/completions/freshtoken

  # zsh
  freshtoken completion zsh > "${fpath[1]}/_freshtoken"

  # fish
  freshtoken completion fish > ~/.config/fish/completions/freshtoken.fish`,
		ValidArgs: []string{"bash", "zsh", "fish"},
		Args:      exactArgs(1, "the shell: bash, zsh or fish"),
		RunE: func(cmd *cobra.Command, args []string) error {
			root, out := cmd.Root(), f.IO.Out
			switch args[0] {
			case "bash":
				return root.GenBashCompletionV2(out, true)
			case "zsh":
				return root.GenZshCompletion(out)
			case "fish":
				return root.GenFishCompletion(out, true)
			}
			return usageErrorf("completion is for bash, zsh or fish, not %q", args[0])
		},
	}
}
