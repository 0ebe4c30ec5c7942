package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/config"
	"github.com/freshtoken/freshtoken/internal/atomicfile"
	"github.com/freshtoken/freshtoken/internal/failure"
	"github.com/freshtoken/freshtoken/internal/nearest"
	"github.com/freshtoken/freshtoken/internal/redact"
	"github.com/freshtoken/freshtoken/internal/shellrun"
)

// Main runs freshtoken with args and returns the exit code. Whatever
// signal arrives and whatever pipe closes, it returns only once every
// renewal sent has been stored (see guard).
func Main(args []string, ios *IOStreams) int {
	if err := filesLeft(); err != nil {
		fmt.Fprintf(ios.ErrOut, "freshtoken: %s; %s\n", err, atomicfile.OutOfFilesStep(err))
		return ExitCode(err)
	}
	var (
		broken    atomic.Bool                 // stdout or stderr lost its reader
		unwritten atomic.Pointer[outputError] // stdout refused the result otherwise
	)
	ctx, g, stop := guardSignals(nil)
	defer stop()
	streams := *ios
	streams.Out = pipeWatch{w: ios.Out, broken: &broken, unwritten: &unwritten, stall: &stallCut{g: g}}
	streams.ErrOut = pipeWatch{w: ios.ErrOut, broken: &broken, stall: &stallCut{g: g}}
	g.errOut = streams.ErrOut
	f := &Factory{IO: &streams, Sending: g.Sending, watchSignals: g.watch, signalCame: g.stillComing, handOver: g.handOver, stopKeys: g.stopKeys, holdPutBack: g.puttingBack, holdImport: g.importingTokens, holdLogin: g.loggingIn}
	f.OpenBrowser = f.openBrowser
	redact.RegisterWholeLater(func() []string { return typedSecrets(args) })
	g.commandLine = f.commandLine
	defer f.close()
	notices := newStallNotices(f, streams.ErrOut, time.Now)
	if ios.ErrTTY {
		ctx = config.WithSecretCommandNotice(ctx, secretCommandNotice(streams.ErrOut))
		ctx = notices.listen(ctx)
	}
	// The command's context ends as the command does: a renewal it left
	// going (one whose caller was served a token still valid while the
	// store stalled) then sends no token request, or, sent already, is
	// one settle waits for.
	cmdCtx, endCommand := context.WithCancel(ctx)
	root := NewRootCmd(f)
	root.SetArgs(args)
	err := root.ExecuteContext(cmdCtx)
	if env := f.storeMoved(err); env != "" && ctx.Err() == nil {
		if f.rerunnable {
			f.opened = nil
			root = NewRootCmd(f)
			root.SetArgs(args)
			err = root.ExecuteContext(cmdCtx)
		} else {
			err = &freshtoken.Error{Env: env, Kind: freshtoken.ErrUnreachable, Msg: "the tokens moved to another store (store migrate) while this command waited for them; run it again"}
		}
	}
	endCommand()
	sig := g.settle()
	notices.stop()
	f.flushLog() // before the command's last word
	f.readGlobalFlags(args)
	if oe := unwritten.Load(); oe != nil && err == nil {
		err = oe // a result not written is no success, whatever the command made of it
	}
	if sig == 0 {
		sig, err = commandsSignal(g, err)
	}
	if sig == 0 && broken.Load() {
		sig = g.stillComing() // the signal that closed the pipe too wins over it
	}
	if sig != 0 {
		shellrun.StopAll() // a client_secret_cmd still asking, say
	}
	var up *upgraded
	if errors.As(err, &up) && sig == 0 { // every renewal in flight is stored
		sig, err = restartUpgraded(g, up, streams.ErrOut)
	}
	var (
		se *silentError
		es *exitStatus
	)
	switch {
	case errors.As(err, &es):
		return es.code // the command's own, signal or not
	case sig == 0 && broken.Load() && (err == nil || errors.Is(err, syscall.EPIPE)):
		return ExitBrokenPipe // nobody is reading: nothing to say, and nowhere to say it
	case sig != 0:
		// Interrupted: any renewal in flight was seen through and stored.
		closed := errors.Is(err, errHungUp) || ios.terminalClosed != nil && ios.terminalClosed()
		f.lastWord(streams.ErrOut, f.suggesting(interrupted(stoppedBy(sig, closed), err)), 128+int(sig))
		return 128 + int(sig)
	case err != nil && !errors.As(err, &se):
		env := f.selectedEnv()
		if fe := (*freshtoken.Error)(nil); errors.As(err, &fe) {
			env = fe.Env
		}
		err = f.logInAgain(err, "login -e "+env)
		msg := err.Error()
		if isCobraUsage(err) {
			msg = unknownCommand(msg, f.EnvFlag)
		}
		if fl := config.Flagged(nil); errors.As(err, &fl) && fl.Flag() != "" && strings.HasSuffix(msg, fl.Error()) {
			msg += " (" + fl.Flag() + ")" // the packages below say what to do in words
		}
		if next := failure.NextNaming(err, f.selectedEnv(), f.secretWhere); next != "" {
			msg += "; " + next
		}
		f.lastWord(streams.ErrOut, redact.OneLineEnds(f.suggesting(msg), lastWordMax), ExitCode(err))
	}
	return ExitCode(err)
}

// secretCommandNotice says on w, a terminal, once for each environment
// (and command: see oncePerCommand), that freshtoken runs its
// client_secret_cmd: one that asks for a passphrase on the terminal
// (pass, gpg) otherwise seemed to hang, silent, until its time ran out.
// It names the key, never the command, which may
// hold the secret in its arguments (echo s3cr3t), nor what it prints.
// Scripts, whose standard error is no terminal, are told nothing.
func secretCommandNotice(w io.Writer) func(env, command string) {
	return oncePerCommand(func(env string) {
		fmt.Fprintf(w, "freshtoken: %s; answer it if it asks for a passphrase\n", gettingSecret(env))
	})
}

// gettingSecret says that env's client secret comes from its
// client_secret_cmd, naming the key, never the command.
func gettingSecret(env string) string {
	return "getting the client secret of " + env + " from its client_secret_cmd"
}

// oncePerCommand is a client_secret_cmd's notice (see
// config.WithSecretCommandNotice) that calls say the first time for each
// environment, and again when the environment's command is another than
// when it last did (an edit of the configuration a long-running process
// reads again, which may ask for a passphrase anew), never with the
// command, which is kept only to compare.
func oncePerCommand(say func(env string)) func(env, command string) {
	var (
		mu   sync.Mutex
		said = map[string]string{}
	)
	return func(env, command string) {
		mu.Lock()
		last, ok := said[env]
		said[env] = command
		mu.Unlock()
		if !ok || last != command {
			say(env)
		}
	}
}

// stoppedBy says what signal sig, which stopped a command, stands for:
// a hang-up is the closed terminal it stands for when the command's
// terminal closed (closed: a read of it found it closed, or one of its
// streams, a terminal, is one no longer), so that the person who reads a
// `2>log` file later sees why it stopped; elsewhere (a service, `kill
// -HUP` at a terminal that stays open) it is said as the signal. The
// others are "interrupted".
func stoppedBy(sig syscall.Signal, closed bool) string {
	switch {
	case sig != syscall.SIGHUP:
		return "interrupted"
	case closed:
		return "the terminal closed (SIGHUP)"
	}
	return "stopped by a hang-up signal (SIGHUP)"
}

// interrupted is the last word of a command a signal stopped, said as
// stopped (see stoppedBy), err being what it returned: what stopped it,
// and what err adds to that. The words of Go's context.Canceled, which is
// the signal itself, are left out ("interrupted; nothing was removed",
// not "interrupted: context canceled; nothing was removed").
func interrupted(stopped string, err error) string {
	var (
		oe *outputError
		se *silentError
		ss *signalStopped
	)
	switch {
	case err == nil, errors.As(err, &se): // a silent error's failures were said
		return stopped
	case errors.As(err, &ss):
		return stopped + ": " + redact.OneLineEnds(ss.msg, lastWordMax)
	case errors.As(err, &oe) && errors.Is(oe.err, errStalled) && !oe.changes:
		return stopped // the output the signal cut short is all there is to say
	case signalOf(err) != 0:
		return stopped // the signal, or the closed terminal, stopped the command
	case errors.Is(err, syscall.EPIPE):
		return stopped // the signal, sent to the process group, ended the output's reader too
	}
	msg := err.Error()
	if errors.Is(err, context.Canceled) {
		msg = strings.ReplaceAll(msg, ": "+context.Canceled.Error(), "")
		msg = strings.TrimPrefix(msg, context.Canceled.Error())
	}
	switch {
	case msg == "":
		return stopped
	case strings.HasPrefix(msg, "; "):
		return stopped + redact.OneLineEnds(msg, lastWordMax)
	}
	return stopped + ": " + redact.OneLineEnds(msg, lastWordMax)
}

// restartUpgraded starts the new freshtoken at up.path in this process's
// place, unless a signal came first, even one the guard has yet to act on,
// which the new version would never see. It returns only if it did not,
// with the signal that came, if any, and the error to report.
func restartUpgraded(g *guard, up *upgraded, errOut io.Writer) (syscall.Signal, error) {
	if !g.handOver() { // from here a signal ends this process, or the new one as it starts
		return g.settle(), context.Canceled
	}
	fmt.Fprintf(errOut, "freshtoken: starting the new version, %s\n", up.path)
	return 0, fmt.Errorf("%w; it could not be started in this one's place (%v)", up, restart(up.path, up.listener))
}

// NewRootCmd builds the command tree around f.
func NewRootCmd(f *Factory) *cobra.Command {
	root := &cobra.Command{
		Use:   "freshtoken",
		Short: "Keep OAuth 2.0 access tokens fresh, hands-off",
		Long: `freshtoken logs in once with your browser, then keeps your OAuth 2.0 access
tokens fresh: renewed before they expire, stored safely, one renewal at a time
however many scripts, terminals or machines use them. FreeAgent is built in;
any OAuth 2.0 provider works by configuration.

Exit codes:
  0    success
  1    unexpected failure (a bug: please report it)
  2    usage or configuration error (a busy port, a file with loose permissions, or
       output that could not be written, as to a full disk, too)
  3    log-in needed (not logged in, the grant ended, the log-in was denied or timed out)
  4    the API answered with an HTTP error (its body still goes to stdout)
  5    the provider, the API or the shared store could not be reached, the token
       folder could not be written (a full or read-only disk), or kept failing
       (an API whose answer cannot be read, its headers past 1 MiB, too)
  128+N after signal N, once any renewal in flight is stored (130 for Ctrl-C)
  141  the output's reader went away (| head), once any renewal is stored, and no
       signal came (Ctrl-C to a pipeline ends its reader too: 130)`,
		Example: `  freshtoken init -e sandbox --provider freeagent-sandbox --client-id ID --client-secret-env FREEAGENT_SECRET
  freshtoken login -e sandbox
  freshtoken -e sandbox get /v2/company
  curl -H "Authorization: Bearer $(freshtoken token)" -H "Accept: application/json" https://api.sandbox.freeagent.com/v2/users/me
  freshtoken demo`,
		// Any non-empty Version gives the --version flag; what it prints
		// comes from the template, so the build information is only read
		// when asked for.
		Version:       "see template",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			if f.watchSignals != nil && cmd.Annotations[quick] == "" {
				f.watchSignals()
			}
			return f.setupLogging()
		},
	}
	root.SetOut(f.IO.Out)
	root.SetErr(f.IO.ErrOut)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		// A subcommand mistyped leaves its flags to its group, which has
		// none of them: the word is what went wrong.
		if args := c.Flags().Args(); c.HasAvailableSubCommands() && len(args) > 0 {
			return unknownSubcommand(c, args[0])
		}
		var bad *pflag.InvalidValueError
		if errors.As(err, &bad) {
			return usageErrorf("%s; see `%s --help`", badValue(bad), c.CommandPath())
		}
		var unknown *pflag.NotExistError
		if errors.As(err, &unknown) {
			if meant := flagMeant(c.Flags(), unknown); meant != "" {
				return usageErrorf("%s; did you mean %s? (see `%s --help`)", unknownFlag(unknown, meant), meant, c.CommandPath())
			}
			return usageErrorf("%s; see `%s --help`", unknownFlag(unknown, ""), c.CommandPath())
		}
		var syntax *pflag.InvalidSyntaxError
		if errors.As(err, &syntax) {
			words, name := badSyntax(syntax)
			if meant := flagNear(c.Flags(), name); name != "" && meant != "" {
				return usageErrorf("%s; did you mean %s? (see `%s --help`)", words, meant, c.CommandPath())
			}
			return usageErrorf("%s; see `%s --help`", words, c.CommandPath())
		}
		return usageErrorf("%v; see `%s --help`", err, c.CommandPath())
	})
	pf := root.PersistentFlags()
	pf.StringVar(&f.ConfigFlag, "config", "", "configuration file (default $FRESHTOKEN_CONFIG, else freshtoken/config.toml in your config folder: ~/.config, ~/Library/Application Support on macOS, %AppData% on Windows)")
	pf.StringVarP(&f.EnvFlag, "env", "e", "", "environment to use (default $FRESHTOKEN_ENV, else default_env, else the only one)")
	pf.BoolVar(&f.Debug, "debug", false, "explain every decision on stderr, one line each (also FRESHTOKEN_DEBUG=1)")
	pf.StringVar(&f.LogFormat, "log-format", "text", "log format: text or json")
	pf.StringVar(&f.LogFile, "log-file", "", "append logs to this file instead of stderr")
	root.MarkPersistentFlagFilename("config")
	root.MarkPersistentFlagFilename("log-file")
	root.RegisterFlagCompletionFunc("env", f.completeEnvs)
	root.RegisterFlagCompletionFunc("log-format", cobra.FixedCompletions([]string{"text", "json"}, cobra.ShellCompDirectiveNoFileComp))

	root.AddCommand(
		newInitCmd(f, nil),
		newLoginCmd(f, nil),
		quickly(newTokenCmd(f, nil)),
		quickly(newStatusCmd(f)),
		newLogoutCmd(f),
		newRemoveCmd(f),
		newStoreCmd(f),
		newExecCmd(f),
		newServiceCmd(f),
		newProxyCmd(f, nil),
		newDemoCmd(f),
		newDevProviderCmd(f),
		newConfigHelpTopic(),
	)
	root.AddCommand(newRequestCmds(f, nil)...)
	root.AddCommand(newImportCmd(f), quickly(newCompletionCmd(f)), quickly(newVersionCmd(f)))
	cobra.AddTemplateFunc("versionText", versionText)
	root.SetVersionTemplate("{{versionText}}\n")
	refuseUnknownHelpTopics(root)
	offerNoFiles(root)
	return root
}

// offerNoFiles makes Tab after a command that takes no argument offer
// nothing: cobra's default offered the folder's files, as if `freshtoken
// status` or `freshtoken remove` took one. A command refusing a lone
// argument takes none (request, which takes two, offers its methods). So
// does Tab after a flag's name, unless the flag takes a file (marked so,
// as --config is) or offers values of its own: `token --min-valid`,
// `demo --calls` and `-H` offered the folder's files too.
func offerNoFiles(c *cobra.Command) {
	if c.ValidArgsFunction == nil && len(c.ValidArgs) == 0 && c.Args != nil && c.Args(c, []string{"x"}) != nil {
		c.ValidArgsFunction = cobra.NoFileCompletions
	}
	c.LocalFlags().VisitAll(func(fl *pflag.Flag) {
		if _, file := fl.Annotations[cobra.BashCompFilenameExt]; file || fl.NoOptDefVal != "" { // NoOptDefVal: a flag without a value (--debug)
			return
		}
		if _, own := c.GetFlagCompletionFunc(fl.Name); !own {
			c.RegisterFlagCompletionFunc(fl.Name, cobra.NoFileCompletions)
		}
	})
	for _, sub := range c.Commands() {
		offerNoFiles(sub)
	}
}

// refuseUnknownHelpTopics makes `help` of a command or topic that does not
// exist a usage error of one line, where cobra's prints the whole usage to
// stdout and succeeds.
func refuseUnknownHelpTopics(root *cobra.Command) {
	root.InitDefaultHelpCmd()
	help, _, err := root.Find([]string{"help"})
	if err != nil || help.Run == nil {
		return
	}
	show := help.Run
	help.Run = nil
	help.RunE = func(c *cobra.Command, args []string) error {
		// Find takes words after a command for its arguments: `help
		// service instal` found service, and showed its help.
		if cmd, rest, err := c.Root().Find(args); cmd == nil || err != nil || len(rest) > 0 {
			// The word mistyped, of the commands (and topics) it is one
			// of: `help tokn` for token, `help service instal`.
			if cmd != nil && len(rest) > 0 {
				var names []string
				for _, sub := range cmd.Commands() {
					if sub.IsAvailableCommand() || sub.IsAdditionalHelpTopicCommand() {
						names = append(names, sub.Name())
					}
				}
				if meant := nearest.Word(rest[0], names); meant != "" {
					// The words typed up to the mistyped one: those after
					// it were not read, and may be a secret.
					typed := args[:len(args)-len(rest)+1]
					found := slices.Clone(typed[:len(typed)-1])
					return usageErrorf("no command or help topic %s; did you mean `%s help %s`?", shown(typed...), c.Root().Name(), strings.Join(append(found, meant), " "))
				}
			}
			return usageErrorf("no command or help topic %s; `%s help` lists them", shown(args...), c.Root().Name())
		}
		show(c, args)
		return nil
	}
}

// quick is the annotation of a command that ends in moments unless it
// renews a token: it watches for signals only from its first renewal lock,
// or store read that may wait (see guard), so that it starts as fast as it
// can.
const quick = "freshtoken/quick"

// quickly marks cmd quick.
func quickly(cmd *cobra.Command) *cobra.Command {
	cmd.Annotations = map[string]string{quick: "yes"}
	return cmd
}

// completeEnvs offers the configured environment names.
func (f *Factory) completeEnvs(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	c, err := f.Config()
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	return c.Names(), cobra.ShellCompDirectiveNoFileComp
}

// subcommandArgs is the Args of a command that groups subcommands (store,
// service): a word that names none of them is an unknown command, with the
// one it may be a typo of.
func subcommandArgs(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	return unknownSubcommand(cmd, args[0])
}

// unknownSubcommand is the usage error of word given to cmd, a command that
// groups subcommands, where none is named so.
func unknownSubcommand(cmd *cobra.Command, word string) error {
	var names []string
	for _, c := range cmd.Commands() {
		if c.IsAvailableCommand() {
			names = append(names, c.Name())
		}
	}
	path := cmd.CommandPath()
	if meant := nearest.Word(word, names); meant != "" {
		return usageErrorf("unknown command %q for %s; did you mean `%s %s`? (see `%s --help`)", word, path, path, meant, path)
	}
	return usageErrorf("unknown command %s for %s, which takes a subcommand: %s; see `%s --help`", shown(word), path, strings.Join(names, ", "), path)
}

// exactArgs is cobra.ExactArgs returning a usage error.
func exactArgs(n int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return usageErrorf("%s takes %s; see `%s --help`", cmd.CommandPath(), what, cmd.CommandPath())
		}
		return nil
	}
}
