package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/freshtoken/freshtoken/config"
	"github.com/freshtoken/freshtoken/internal/atomicfile"
	"github.com/freshtoken/freshtoken/internal/redact"
	"github.com/freshtoken/freshtoken/internal/service"
	"github.com/freshtoken/freshtoken/internal/shellquote"
	"github.com/freshtoken/freshtoken/internal/shellrun"
)

type serviceOptions struct {
	f         *Factory
	DryRun    bool
	FilesOnly bool
	OS        string
	exe       string // the program the service runs, as plan found it
	// user tells the user the service is for (currentUser), or why it
	// could not.
	user func() (string, error)
}

func newServiceCmd(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "service install|uninstall|status",
		Short: "Run the proxy as a per-user service that starts at log-in",
		Long: `Install freshtoken's proxy as a service of your user: it starts when you log in,
restarts after a failure, serves http://127.0.0.1:8787/ and keeps every grant
alive. A systemd user unit on Linux, a launchd agent on macOS, a Task
Scheduler task on Windows. It uses the same configuration and token store as
the command line, and the logging flags given to install (--debug,
--log-format, --log-file) are its own. More:
https://github.com/freshtoken/freshtoken/blob/main/docs/service.md`,
		Example: `  freshtoken service install --dry-run
  freshtoken service install
  freshtoken service status
  freshtoken service uninstall`,
		Args: subcommandArgs,
		RunE: showHelp,
	}
	for _, sub := range []struct {
		use, short, long, example string
		run                       func(context.Context, *serviceOptions, *service.Plan) error
	}{
		{"install", "Write the service's file and start it", serviceInstallLong, `  freshtoken service install --dry-run   # print what would be written and run
  freshtoken service install
  freshtoken service install --dry-run --os darwin`, installService},
		{"uninstall", "Stop the service and remove its file", serviceUninstallLong, `  freshtoken service uninstall --dry-run
  freshtoken service uninstall`, uninstallService},
		{"status", "Say whether the service is installed and running", serviceStatusLong, "  freshtoken service status", serviceStatus},
	} {
		opts := &serviceOptions{f: f, user: currentUser}
		c := &cobra.Command{
			Use:     sub.use,
			Short:   sub.short,
			Long:    sub.long,
			Example: sub.example,
			Args:    exactArgs(0, "no arguments"),
			RunE: func(cmd *cobra.Command, args []string) error {
				plan, err := opts.plan(cmd.Context())
				if err != nil {
					return err
				}
				return sub.run(cmd.Context(), opts, plan)
			},
		}
		opts.OS = runtime.GOOS
		if sub.use != "status" { // status asks this system's service manager: no other's
			c.Flags().StringVar(&opts.OS, "os", runtime.GOOS, "the system to describe (linux, darwin or windows), with --dry-run")
			c.RegisterFlagCompletionFunc("os", cobra.FixedCompletions([]string{"linux", "darwin", "windows"}, cobra.ShellCompDirectiveNoFileComp))
			c.Flags().BoolVar(&opts.DryRun, "dry-run", false, "print what would be written and run, and change nothing")
			c.Flags().BoolVar(&opts.FilesOnly, "files-only", false, "write or remove the file, but start or stop nothing")
		}
		cmd.AddCommand(c)
	}
	return cmd
}

const serviceInstallLong = `Write the service's file and start it: a systemd user unit on Linux
(~/.config/systemd/user/freshtoken.service), a launchd agent on macOS
(~/Library/LaunchAgents/com.github.freshtoken.plist), a Task Scheduler task
on Windows. It runs freshtoken proxy, this binary with this configuration
file, whenever you are logged in: it serves http://127.0.0.1:8787/ and keeps
every grant alive. A configuration the proxy could not start with is
refused, and nothing is installed.

A service does not see the variables of your shell: an environment whose
client secret comes from client_secret_env is named, with how to keep its
secret in the system keychain instead. Run install again after moving the
binary or the configuration file; it writes the file anew, so keep settings
of your own in a drop-in (systemctl --user edit freshtoken.service).
More: https://github.com/freshtoken/freshtoken/blob/main/docs/service.md`

const serviceUninstallLong = `Stop the service and remove its file. Your drop-ins and the copies an
install kept of a unit you had edited (freshtoken.service.edited) are kept,
and named. The configuration and the tokens are left as they are: freshtoken
proxy still runs by hand, and a later install brings the service back.`

const serviceStatusLong = `Say whether the service is installed, where its file is, where its log
goes, and whether the system's service manager runs it. A note says when
the service runs another configuration file or another freshtoken binary
than this command's; freshtoken service install makes it run these.`

// plan is the service for this user, running this binary with this
// configuration.
func (o *serviceOptions) plan(ctx context.Context) (*service.Plan, error) {
	if o.OS != runtime.GOOS && !o.DryRun {
		return nil, usageErrorf("--os %s describes another system; use it with --dry-run", o.OS)
	}
	exe, err := serviceExecutable()
	if err != nil {
		return nil, err
	}
	o.exe = exe
	conf, err := o.f.ConfigPath()
	if err != nil {
		return nil, err
	}
	if conf, err = filepath.Abs(conf); err != nil {
		return nil, err
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return nil, err
	}
	env, _ := serviceEnv()
	logging, err := o.f.serviceLogging()
	if err != nil {
		return nil, err
	}
	// A configuration the proxy cannot use, at a start after a reboot or
	// a log-in, is waited for, and said to every client, rather than the
	// proxy exiting for the service manager to start it again for ever.
	args := slices.Concat(logging, []string{"--config", conf, "proxy", waitForConfig})
	spec := service.Spec{Executable: exe, Args: args, Home: home, Env: env}
	// A Windows task's: it starts at this user's log-on alone, as them.
	// Uninstall and status need no user, and do without one.
	var whyNoUser error
	spec.User, whyNoUser = o.user()
	if o.OS == "linux" && runtime.GOOS == "linux" {
		if spec.ConfigHome, err = unitsConfigHome(ctx, o.f, home, serviceCommandLimit); err != nil {
			return nil, err
		}
	}
	plan, err := service.For(o.OS, spec)
	if err != nil {
		// Another system, or a path no service file can carry.
		return nil, usageErrorf("%v", err)
	}
	if plan.Unwritable != nil && whyNoUser != nil {
		plan.Unwritable = fmt.Errorf("%w (%v)", plan.Unwritable, whyNoUser)
	}
	return plan, nil
}

// unitsConfigHome is the configuration folder under which the user's
// systemd reads units (systemd/user): $XDG_CONFIG_HOME when the manager
// reads units there and not in the home folder's .config, its own
// environment setting it too; otherwise, and when there is no manager to
// ask, the home folder's .config, where a manager started without it reads
// them. A shell's $XDG_CONFIG_HOME alone does not reach the manager: a
// unit written under it was never found ("Unit freshtoken.service does not
// exist"). A manager that does not answer within limit is an error, not
// one to guess for: the unit would go where it may not read, and its
// commands after wait as long again.
func unitsConfigHome(ctx context.Context, f *Factory, home string, limit time.Duration) (string, error) {
	def := filepath.Join(home, ".config")
	xdg := os.Getenv("XDG_CONFIG_HOME")
	if !filepath.IsAbs(xdg) || filepath.Clean(xdg) == def {
		return def, nil
	}
	out, err := runServiceCommand(ctx, f, limit, []string{"systemctl", "--user", "show", "--property=UnitPath", "--value"})
	switch {
	case stoppedBySignal(err):
		return "", &signalStopped{fmt.Sprintf("%v; nothing was changed: run the same command again", err), err}
	case errors.Is(err, errSignalledAlone):
		return "", config.Invalidf("could not ask systemd where it reads units (%v); run the same command again", err)
	case errors.Is(err, context.DeadlineExceeded):
		return "", config.Invalidf("could not ask systemd where it reads units (%v); nothing was changed: run the same command again once your user's systemd answers (`systemctl --user status`)", err)
	case err != nil:
		return def, nil // no manager of the user's to ask
	}
	reads := func(dir string) bool {
		return slices.ContainsFunc(strings.Fields(string(out)), func(p string) bool {
			return filepath.Clean(p) == filepath.Join(dir, "systemd", "user")
		})
	}
	if reads(xdg) && !reads(def) {
		return filepath.Clean(xdg), nil
	}
	return def, nil
}

// serviceLogging is the logging flags the service runs freshtoken with:
// those this command was given (--debug, or FRESHTOKEN_DEBUG; --log-format
// json; --log-file, its path made absolute, as the service runs in another
// folder), in that order, before --config (service.Plan.InstalledLogs reads
// them back so). Given to `service install`, they are meant for the
// service: dropped, `freshtoken --debug service install` left a person
// asking for the service's debug log with none, and a Windows task's
// history keeps nothing the proxy writes.
func (f *Factory) serviceLogging() ([]string, error) {
	var args []string
	if f.Debug {
		args = append(args, "--debug")
	}
	if f.LogFormat == "json" {
		args = append(args, "--log-format", "json")
	}
	if f.LogFile != "" {
		abs, err := filepath.Abs(f.LogFile)
		if err != nil {
			return nil, err
		}
		args = append(args, "--log-file", abs)
	}
	return args, nil
}

// waitForConfig is the proxy's flag that the service runs it with.
const waitForConfig = "--wait-for-config"

// serviceVars are the variables of this process a service runs with too,
// as it would not see them: the token store's default folder follows
// $XDG_STATE_HOME (without it the service looked for the tokens
// elsewhere); the configuration folder, $XDG_CONFIG_HOME, is where the
// commands the proxy runs (a client_secret_cmd's password manager, a
// [notify] command) read their own settings (--config names freshtoken's
// own file whole); and the provider is reached through the proxy and with the certificates these
// name (without them its renewals failed).
var serviceVars = []string{"XDG_STATE_HOME", "XDG_CONFIG_HOME", "HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy", "SSL_CERT_FILE", "SSL_CERT_DIR"}

// carriedVar reports whether an install writes the variable name=value
// into a service's file (a serviceVars one, but a proxy URL with
// credentials, which it leaves for the person to add).
func carriedVar(name, value string) bool {
	proxy := strings.HasSuffix(strings.ToUpper(name), "_PROXY")
	return slices.Contains(serviceVars, name) && !(proxy && hasCredentials(value))
}

// serviceEnv is serviceVars as set here (NAME=value; the certificates'
// paths made absolute), but for proxies
// whose URL holds credentials, which are named in withCredentials instead: a
// service's file is shown by --dry-run and by the system's tools.
func serviceEnv() (env, withCredentials []string) {
	for _, name := range serviceVars {
		v := os.Getenv(name)
		switch {
		case v == "" || strings.HasPrefix(name, "XDG_") && !filepath.IsAbs(v): // ignored so by freshtoken too
		case strings.HasSuffix(strings.ToUpper(name), "_PROXY") && hasCredentials(v):
			withCredentials = append(withCredentials, name)
		default:
			switch name {
			case "SSL_CERT_FILE":
				v = absPath(v)
			case "SSL_CERT_DIR":
				v = absList(v)
			}
			env = append(env, name+"="+v)
		}
	}
	return env, withCredentials
}

// absPath is the path p made absolute: a service runs in another folder
// (the home folder, or /) than the one it was installed from, where a
// relative path ($SSL_CERT_FILE's) leads to no certificates.
func absPath(p string) string {
	if abs, err := filepath.Abs(p); err == nil && p != "" {
		return abs
	}
	return p
}

// absList is the list of paths v ($SSL_CERT_DIR's) with each made
// absolute, as absPath.
func absList(v string) string {
	paths := filepath.SplitList(v)
	for i, p := range paths {
		paths[i] = absPath(p)
	}
	return strings.Join(paths, string(filepath.ListSeparator))
}

// hasCredentials reports whether the proxy URL v holds credentials, as
// Go reads it (a URL without a scheme is an http one): a password, or a
// user name alone, which some proxies take a key as.
func hasCredentials(v string) bool {
	u, err := url.Parse(v)
	if err != nil || u.Host == "" {
		u, err = url.Parse("http://" + v)
	}
	if err != nil {
		return strings.Contains(v, "@") // unreadable: assume the worst
	}
	return u.User != nil
}

// serviceExecutable is the program a service runs: the path this one was
// started by, when it leads here, rather than where that path leads. A
// package manager's link (Homebrew's bin/freshtoken, a Nix profile's) stays
// put when an upgrade removes the versioned folder it pointed into.
func serviceExecutable() (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", err
	}
	if real, err := filepath.EvalSymlinks(exe); err == nil {
		exe = real
	}
	started := os.Args[0]
	if !strings.ContainsRune(started, filepath.Separator) {
		if started, err = exec.LookPath(started); err != nil {
			return exe, nil
		}
	}
	started, err = filepath.Abs(started)
	if err != nil {
		return exe, nil
	}
	a, errA := os.Stat(started)
	b, errB := os.Stat(exe)
	if errA != nil || errB != nil || !os.SameFile(a, b) {
		return exe, nil
	}
	return started, nil
}

// goRunBuild reports whether exe is a build that `go run` made: in a
// temporary folder (…/go-build123/b001/exe/freshtoken), removed when it
// ends, or in Go's build cache (…/go-build/ff/HASH-d/freshtoken, from Go
// 1.24), which `go clean -cache` and the cache's own trimming remove.
func goRunBuild(exe string) bool {
	dir := filepath.Dir(exe)
	for d := dir; filepath.Dir(d) != d; d = filepath.Dir(d) {
		if rest, ok := strings.CutPrefix(filepath.Base(d), "go-build"); ok && strings.Trim(rest, "0123456789") == "" {
			return true
		}
	}
	// A build cache of another name ($GOCACHE): HASH-d in a folder named
	// after the hash's first two hex digits.
	hex := func(s string) bool { return s != "" && strings.Trim(s, "0123456789abcdef") == "" }
	hash, ok := strings.CutSuffix(filepath.Base(dir), "-d")
	sub := filepath.Base(filepath.Dir(dir))
	return ok && len(hash) == 64 && hex(hash) && len(sub) == 2 && hex(sub) && strings.HasPrefix(hash, sub)
}

func installService(ctx context.Context, o *serviceOptions, p *service.Plan) error {
	f := o.f
	if p.Unwritable != nil {
		return usageErrorf("%v; run `freshtoken proxy` from your own start-up scripts", p.Unwritable)
	}
	if goRunBuild(o.exe) {
		why := fmt.Sprintf("this freshtoken is a temporary build of `go run` (%s), which goes away, and the service would then fail at every start; install freshtoken first (`go install github.com/freshtoken/freshtoken/cmd/freshtoken@latest`, or `go build -o ~/.local/bin/freshtoken ./cmd/freshtoken`) and run `freshtoken service install` with it", o.exe)
		if !o.DryRun {
			return usageErrorf("%s", why)
		}
		fmt.Fprintf(f.IO.ErrOut, "Note: %s.\n", why)
	}
	// A service whose proxy cannot start would fail at every start, while
	// install said it started.
	conf, err := f.configured("run `freshtoken init` first, as the service runs the proxy, which needs one")
	if err != nil {
		return err
	}
	warnSecretEnvs(f, conf)
	if _, withCredentials := serviceEnv(); p.System != "Task Scheduler" {
		for _, name := range withCredentials {
			how := "add it to the agent's EnvironmentVariables in " + p.Path
			if p.System == "systemd" {
				how = "give it to the service with `systemctl --user edit " + service.Name + ".service` ([Service] Environment=" + name + "=…)"
			}
			fmt.Fprintf(f.IO.ErrOut, "Note: $%s holds credentials (a user name or password), which are not written into the service's file; %s.\n", name, how)
		}
	}
	// Settings of the person's own in the installed file (`systemctl
	// --user edit --full`'s) were dropped without a word: kept beside it.
	installed, _ := os.ReadFile(p.Path)
	handEdited := p.HandEdited(string(installed), carriedVar)
	kept := editedCopy(p, installed)
	if o.DryRun {
		if handEdited {
			fmt.Fprintf(f.IO.ErrOut, "Note: %s holds settings of your own (edited by hand, or variables such as $HTTPS_PROXY set where an earlier install ran), which the new file does not; it would be kept as %s.\n", p.Path, kept)
		}
		fmt.Fprintf(f.IO.Out, "# %s: would write %s\n%s", p.System, p.Path, p.Text)
		if !o.FilesOnly {
			fmt.Fprintln(f.IO.Out, "# and then run:")
			for _, c := range p.Start {
				fmt.Fprintf(f.IO.Out, "#   %s\n", strings.Join(c, " "))
			}
		}
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(p.Path), 0o700); err != nil {
		return err
	}
	// One service a user: another configuration's is replaced, once the
	// file is written.
	was, now := otherConfig(p)
	if handEdited {
		// 0600: an office proxy's password may be among them.
		if err := atomicfile.Write(kept, installed, atomicfile.Options{}); err != nil {
			return config.Invalidf("%s holds settings of your own (edited by hand, or variables such as $HTTPS_PROXY set where an earlier install ran), which could not be kept as %s (%v); it is as it was: move them into `systemctl --user edit %s.service` (kept by every install), then run `freshtoken service install` again", p.Path, kept, err, service.Name)
		}
	}
	if err := writeServiceFile(p.Path, p.Text); err != nil {
		return err
	}
	if was != "" {
		fmt.Fprintf(f.IO.ErrOut, "Note: the service ran freshtoken with another configuration (%s); it now runs %s, and the environments of the other are no longer kept alive by a service.\n", was, now)
	}
	fmt.Fprintf(f.IO.ErrOut, "Wrote %s.\n", p.Path)
	if handEdited {
		fmt.Fprintf(f.IO.ErrOut, "Note: %s held settings of your own (edited by hand, or variables such as $HTTPS_PROXY set where an earlier install ran), which the new file does not; the old file is kept as %s: put them in `systemctl --user edit %s.service`, which every install keeps, then remove it.\n", p.Path, kept, service.Name)
	}
	if o.FilesOnly {
		return nil
	}
	if err := runAll(ctx, f, serviceCommandLimit, p.Start); err != nil {
		switch {
		case stoppedBySignal(err):
			return &signalStopped{fmt.Sprintf("wrote %s, but %v; run `freshtoken service install` again to start it", p.Path, err), err}
		case errors.Is(err, errSignalledAlone): // not the system's set-up: nothing to change but to run it again
			return config.Invalidf("wrote %s, but %v; run `freshtoken service install` again to start it", p.Path, err)
		}
		// The system's set-up, not a bug: exit 2, as a missing keychain.
		return config.Invalidf("wrote %s, but could not start it (%v); %s, or run `freshtoken proxy` yourself", p.Path, err, p.Manual)
	}
	fmt.Fprintf(f.IO.ErrOut, "Started the %s service %q; its log: %s\n", p.System, service.Name, p.Logs)
	return nil
}

// editedCopy is where install keeps installed, the service's file that
// held settings of the person's own, beside it, under a name the service
// manager does not load: freshtoken.service.edited, or .edited.2, .3…
// when an earlier install kept other edits there, which the person may
// not have moved into a drop-in yet (written over, they were lost); the
// name of a copy holding the same already.
func editedCopy(p *service.Plan, installed []byte) string {
	for n := 1; ; n++ {
		name := p.Path + ".edited"
		if n > 1 {
			name += "." + strconv.Itoa(n)
		}
		if old, err := os.ReadFile(name); errors.Is(err, fs.ErrNotExist) || err == nil && bytes.Equal(old, installed) {
			return name
		}
	}
}

// hasAdditions reports whether p's service has a folder of the person's
// own additions (systemd's drop-ins), which uninstall keeps.
func hasAdditions(p *service.Plan) bool {
	fi, err := os.Stat(p.Additions)
	return p.Additions != "" && err == nil && fi.IsDir()
}

// editedCopies is the copies of the service's file that installs kept
// (editedCopy's), by name.
func editedCopies(p *service.Plan) []string {
	dir := filepath.Dir(p.Path)
	entries, _ := os.ReadDir(dir)
	var copies []string
	for _, e := range entries {
		n, ok := strings.CutPrefix(e.Name(), filepath.Base(p.Path)+".edited")
		if ok && (n == "" || n[0] == '.' && n != "." && strings.Trim(n[1:], "0123456789") == "") {
			copies = append(copies, filepath.Join(dir, e.Name()))
		}
	}
	return copies
}

// writeServiceFile replaces the service's file at path with text whole,
// or leaves it as it was: written in place, a full disk left it emptied or
// cut short, and the service installed no longer loaded. A link there (a
// dotfiles manager's) is written through, as before.
func writeServiceFile(path, text string) error {
	if real, err := filepath.EvalSymlinks(path); err == nil {
		path = real
	}
	err := atomicfile.Write(path, []byte(text), atomicfile.Options{})
	if err == nil {
		return nil
	}
	cause, next := err.Error(), "check that you may write there"
	var errno syscall.Errno
	if errors.As(err, &errno) {
		cause = errno.Error()
	}
	switch {
	case atomicfile.DiskFull(err):
		cause, next = "the disk "+atomicfile.FullWords(err)+" ("+cause+")", atomicfile.FreeSome(err, path, "")
	case atomicfile.TooLarge(err):
		than, raise := atomicfile.TooLargeWords()
		cause, next = "it would be larger than "+than, raise
	}
	// The system's set-up, not a bug: exit 2, as a service that cannot start.
	return config.Invalidf("could not write %s: %s; the service is as it was: %s, then run `freshtoken service install` again", path, cause, next)
}

// warnSecretEnvs says which environments read their client secret from
// an environment variable, which a service does not see.
func warnSecretEnvs(f *Factory, c *config.File) {
	for _, name := range c.Names() {
		if v := c.Envs[name].ClientSecretEnv; v != "" {
			fmt.Fprintf(f.IO.ErrOut, "Note: %s reads its client secret from $%s, which a service does not see; keep it in the system keychain (`%s`) or read it from a password manager (`%s`) instead.\n",
				name, v, f.commandLine("init -e "+name+" --client-secret-keyring"), f.commandLine("init -e "+name+" --client-secret-cmd 'pass show …'"))
		}
	}
}

func uninstallService(ctx context.Context, o *serviceOptions, p *service.Plan) error {
	f := o.f
	// Another system's file (--dry-run --os) is not looked for here: what
	// uninstall does there is described whole.
	elsewhere := o.DryRun && o.OS != runtime.GOOS
	if _, err := os.Lstat(p.Path); errors.Is(err, fs.ErrNotExist) && !elsewhere {
		fmt.Fprintf(f.IO.ErrOut, "The service is not installed (no %s); nothing to remove.\n", p.Path)
		return nil
	}
	if o.DryRun {
		if !o.FilesOnly {
			for _, c := range p.Stop {
				fmt.Fprintf(f.IO.Out, "# would run: %s\n", strings.Join(c, " "))
			}
		}
		fmt.Fprintf(f.IO.Out, "# would remove %s\n", p.Path)
		if !o.FilesOnly {
			for _, c := range p.Forget {
				fmt.Fprintf(f.IO.Out, "# would run: %s\n", strings.Join(c, " "))
			}
		}
		// What uninstall leaves, as it says when it runs.
		if hasAdditions(p) {
			fmt.Fprintf(f.IO.Out, "# would keep %s, your own additions to the service\n", p.Additions)
		}
		for _, c := range editedCopies(p) {
			fmt.Fprintf(f.IO.Out, "# would keep %s, the service's file as you had edited it\n", c)
		}
		return nil
	}
	if was, now := otherConfig(p); was != "" {
		fmt.Fprintf(f.IO.ErrOut, "Note: the service ran freshtoken with another configuration (%s), not %s; it is removed all the same, and that configuration's environments are no longer kept alive by a service.\n", was, now)
	}
	if !o.FilesOnly {
		err := runAll(ctx, f, serviceCommandLimit, p.Stop)
		switch {
		case stoppedBySignal(err):
			return &signalStopped{fmt.Sprintf("%v; %s is kept: run `freshtoken service uninstall` again to finish", err, p.Path), err}
		case errors.Is(err, errSignalledAlone):
			// Not the system's set-up: the service may still run, and
			// its file is kept for the next uninstall to stop it.
			return config.Invalidf("%v; %s is kept: run `freshtoken service uninstall` again to finish", err, p.Path)
		case err != nil:
			fmt.Fprintf(f.IO.ErrOut, "Could not stop the service (%v); removing its file anyway.\n", err)
		}
	}
	// Gone already is removed: `systemctl disable` removes a unit that is
	// a link (`systemctl link`'s, a dotfiles manager's) itself.
	if err := os.Remove(p.Path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	fmt.Fprintf(f.IO.ErrOut, "Removed %s.\n", p.Path)
	if !o.FilesOnly {
		// systemd kept the removed unit loaded, "not-found", until the
		// next reload.
		if err := runAll(ctx, f, serviceCommandLimit, p.Forget); err != nil {
			fmt.Fprintf(f.IO.ErrOut, "Could not tell the service manager the service is gone (%v); it forgets it at its next reload.\n", err)
		}
	}
	if hasAdditions(p) {
		// The person's own, which a service installed again would want.
		fmt.Fprintf(f.IO.ErrOut, "Kept %s, your own additions to the service (`systemctl --user edit`'s), which may hold an office proxy's password; remove it (rm -r %s) if no service installed again needs it.\n", p.Additions, shellquote.Word(p.Additions))
	}
	if copies := editedCopies(p); len(copies) > 0 {
		words := make([]string, len(copies))
		for i, c := range copies {
			words[i] = shellquote.Word(c)
		}
		it := "it"
		if len(copies) > 1 {
			it = "them"
		}
		fmt.Fprintf(f.IO.ErrOut, "Kept %s, the service's file as you had edited it, which an install replaced, and which may hold an office proxy's password; remove %s (rm %s) once you have no need of its settings.\n", strings.Join(copies, ", "), it, strings.Join(words, " "))
	}
	return nil
}

func serviceStatus(ctx context.Context, o *serviceOptions, p *service.Plan) error {
	f := o.f
	if _, err := os.Lstat(p.Path); errors.Is(err, fs.ErrNotExist) {
		fmt.Fprintln(f.IO.Out, f.suggesting(fmt.Sprintf("not installed (no %s); run `freshtoken service install`", p.Path)))
		return nil
	}
	installed, _ := os.ReadFile(p.Path)
	fmt.Fprintf(f.IO.Out, "installed: %s\nlog: %s\n", p.Path, p.InstalledLogs(string(installed)))
	if was, now := otherConfig(p); was != "" {
		// "installed" and the manager's "running" are of that one: this
		// configuration's environments are kept alive by no service.
		fmt.Fprintln(f.IO.ErrOut, f.suggesting(fmt.Sprintf("Note: the service runs freshtoken with another configuration (%s), so the environments of %s are not kept alive by it; `freshtoken service install` makes it run this one instead.", was, now)))
	}
	if was, now := otherExecutable(p); was != "" {
		// The upgrade watch sees only its own file replaced: a freshtoken
		// installed elsewhere since leaves the service on the old one.
		fmt.Fprintln(f.IO.ErrOut, f.suggesting(fmt.Sprintf("Note: the service runs %s, not this freshtoken (%s): if that is an older version, it and newer commands can spend one refresh token twice, which ends the grant; `freshtoken service install` makes it run this one.", was, now)))
	}
	if p.System == "Task Scheduler" && service.ForAnyUser(string(installed)) {
		fmt.Fprintln(f.IO.ErrOut, f.suggesting("Note: the service was installed by an earlier freshtoken as a task that starts at any user's log-on, not at yours alone; `freshtoken service install` makes it start at your log-on alone, and run as you."))
	}
	waits := true
	if old, err := os.ReadFile(p.Path); err == nil && !strings.Contains(string(old), waitForConfig) {
		waits = false
		fmt.Fprintln(f.IO.ErrOut, f.suggesting("Note: the service was installed by an earlier freshtoken: started with a configuration it cannot use (a mistake in the file, the file moved), its proxy exits, and is started again every few seconds, with no word to your clients; `freshtoken service install` makes it wait instead, saying why at its status page and to every request."))
	}
	if was, _ := otherConfig(p); was == "" {
		if _, err := loadProxyStart(f); err != nil {
			// What the proxy says to every client until the file is fixed.
			then := "; it says so at its status page and to every request, and starts serving once the file is fixed."
			if !waits {
				then = "."
			}
			fmt.Fprintln(f.IO.ErrOut, f.suggesting(fmt.Sprintf("Note: the service's proxy cannot use the configuration: %v%s", err, then)))
		}
	}
	out, err := runServiceCommand(ctx, f, serviceCommandLimit, p.Status)
	var ee *exec.ExitError
	errors.As(err, &ee)
	switch {
	case stoppedBySignal(err): // said alike whether freshtoken saw systemctl end first or its own signal
		return &signalStopped{err.Error(), err}
	case errors.Is(err, errSignalledAlone): // not the system's set-up: nothing to change but to ask again
		return config.Invalidf("could not ask %s whether it runs (%v); run `freshtoken service status` again", p.System, err)
	case err == nil:
		f.IO.Out.Write(out)
	case ee != nil && (p.NotRunning == 0 || ee.ExitCode() == p.NotRunning):
		f.IO.Out.Write(out) // the service manager's answer
		fmt.Fprintln(f.IO.ErrOut, f.suggesting(fmt.Sprintf("%s says it is not running; start it with `freshtoken service install`", p.System)))
	default:
		// No answer to give: whether it runs is not known, which a script
		// checking it must not take for "it runs" (exit 0). The system's
		// set-up, not a bug: exit 2, as install's failure to start it.
		why := err.Error()
		if ee != nil {
			why = fmt.Sprintf("%s exited %d", p.Status[0], ee.ExitCode())
		}
		if first, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n"); first != "" && !errors.As(err, new(*stoppedCommand)) {
			why += ": " + first
		}
		return config.Invalidf("could not ask %s whether it runs (%s); %s", p.System, why, p.Manual)
	}
	return nil
}

// otherConfig is the configuration the installed service runs (was),
// when it is not the one p would install (now); "" for both when it is
// (by any name: a link to it is the same file), or when the installed file
// cannot be read or names none.
func otherConfig(p *service.Plan) (was, now string) {
	old, err := os.ReadFile(p.Path)
	if err != nil {
		return "", ""
	}
	if was, now = service.InstalledConfig(string(old)), service.InstalledConfig(p.Text); was == "" || was == now {
		return "", ""
	}
	// The same file by another name (a link to it, a linked folder on the
	// way) is the same configuration.
	a, errA := os.Stat(was)
	b, errB := os.Stat(now)
	if errA == nil && errB == nil && os.SameFile(a, b) {
		return "", ""
	}
	return was, now
}

// otherExecutable is the freshtoken binary the installed service runs
// (was), when it is another file than the one p would install (now), or
// is gone; "" for both when it is the same, or the installed file cannot
// be read or names none.
func otherExecutable(p *service.Plan) (was, now string) {
	old, err := os.ReadFile(p.Path)
	if err != nil {
		return "", ""
	}
	was, now = service.InstalledExecutable(string(old)), service.InstalledExecutable(p.Text)
	if was == "" || now == "" || was == now {
		return "", ""
	}
	a, errA := os.Stat(was)
	b, errB := os.Stat(now)
	if errA == nil && errB == nil && os.SameFile(a, b) { // another link to it
		return "", ""
	}
	return was, now
}

// serviceCommandLimit bounds each command of the system's service manager
// (systemctl, launchctl, schtasks): one that does not answer (a user's
// systemd that hangs, a bus nobody serves) held freshtoken, Ctrl-C or not,
// for ever. A restart waits for the service to stop, which systemd itself
// gives 90 seconds by default.
const serviceCommandLimit = 2 * time.Minute

// runAll runs cmds in turn, each within limit, until one fails.
func runAll(ctx context.Context, f *Factory, limit time.Duration, cmds [][]string) error {
	for _, c := range cmds {
		if out, err := runServiceCommand(ctx, f, limit, c); err != nil {
			if errors.As(err, new(*stoppedCommand)) {
				return err
			}
			why := fmt.Sprintf("%s: %v", strings.Join(c, " "), err)
			if first, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n"); first != "" {
				why += " " + redact.FreeText(first, 200)
			}
			return errors.New(why)
		}
	}
	return nil
}

// runServiceCommand runs c, a command of the service manager, and returns
// its output. It is stopped when ctx ends (Ctrl-C: the error wraps
// context.Canceled) or once limit has passed (wrapping
// context.DeadlineExceeded), each error saying which command it was. A
// command ended by a signal that freshtoken got too (a terminal's Ctrl-C
// or hang-up, sent to every process of the job, may end it before
// freshtoken has acted on its own) was stopped too: the error wraps
// *shellrun.Stopped, which ends freshtoken by its signal (signalOf). One
// ended by a signal sent to it alone (a kill by hand, the OOM killer) is
// no interruption of freshtoken's, nor a failure of the system's set-up:
// the error wraps errSignalledAlone.
func runServiceCommand(ctx context.Context, f *Factory, limit time.Duration, c []string) ([]byte, error) {
	cctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	cmd := exec.CommandContext(cctx, c[0], c[1:]...)
	// A child of it still holding its output does not hold the wait.
	cmd.WaitDelay = time.Second
	out, err := cmd.CombinedOutput()
	switch {
	case err == nil:
	case ctx.Err() != nil:
		return out, &stoppedCommand{fmt.Sprintf("`%s` was stopped before it answered", strings.Join(c, " ")), ctx.Err()}
	case cctx.Err() != nil:
		return out, &stoppedCommand{fmt.Sprintf("`%s` did not answer within %s, and was stopped", strings.Join(c, " "), limit), cctx.Err()}
	}
	if sig := shellrun.EndedBy(err); sig != 0 {
		var own syscall.Signal
		if f.signalCame != nil {
			own = f.signalCame() // from here on, a signal ends the process at once
		}
		if own != 0 {
			return out, &stoppedCommand{fmt.Sprintf("`%s` was stopped before it answered", strings.Join(c, " ")), &shellrun.Stopped{Signal: own}}
		}
		return out, &stoppedCommand{fmt.Sprintf("`%s` was ended by a signal (%v) sent to it, not to freshtoken", strings.Join(c, " "), sig), errSignalledAlone}
	}
	return out, err
}

// errSignalledAlone is a service manager's command ended by a signal that
// freshtoken did not get.
var errSignalledAlone = errors.New("ended by a signal sent to it alone")

// stoppedBySignal reports whether err is a service manager's command
// stopped by Ctrl-C, a hang-up or SIGTERM: freshtoken's own interruption,
// not a failure of the service manager.
func stoppedBySignal(err error) bool {
	return errors.Is(err, context.Canceled) || errors.As(err, new(*shellrun.Stopped))
}

// stoppedCommand is a command of the service manager stopped before it
// answered: why (the context's error), and which command, in words.
type stoppedCommand struct {
	msg string
	why error
}

func (e *stoppedCommand) Error() string { return e.msg }
func (e *stoppedCommand) Unwrap() error { return e.why }
