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

bash needs the bash-completion package. For zsh, add the folder to fpath
before completion is enabled, in ~/.zshrc: fpath=(~/.zfunc $fpath), then
autoload -U compinit; compinit. The folders are made by the examples' mkdir
lines, since a new account does not have them yet.`,
		Example: `  # bash, for this shell, then for every new one
  source <(freshtoken completion bash)
  mkdir -p ~/.local/share/bash-completion/completions
  freshtoken completion bash > ~/.local/share/bash-completion/completions/freshtoken

  # zsh
  mkdir -p ~/.zfunc
  freshtoken completion zsh > ~/.zfunc/_freshtoken

  # fish
  mkdir -p ~/.config/fish/completions
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
			return usageErrorf("completion is for bash, zsh or fish, not %s", shown(args[0]))
		},
	}
}
