// Package cli is freshtoken's command line: each command parses its flags,
// calls the engine and prints. Nothing here decides how tokens are renewed.
package cli

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"

	"github.com/mattn/go-isatty"
	"github.com/redis/go-redis/v9"
	"github.com/spf13/pflag"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/config"
	"github.com/freshtoken/freshtoken/internal/atomicfile"
	"github.com/freshtoken/freshtoken/internal/await"
	"github.com/freshtoken/freshtoken/internal/clock"
	"github.com/freshtoken/freshtoken/internal/configedit"
	"github.com/freshtoken/freshtoken/internal/redact"
	"github.com/freshtoken/freshtoken/internal/shellquote"
	"github.com/freshtoken/freshtoken/store"
)

// IOStreams are a command's standard streams and what they are attached to.
type IOStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer
	// InTTY, OutTTY and ErrTTY say whether a person is at that end.
	InTTY, OutTTY, ErrTTY bool
	// controllingTerminal opens the terminal of the process's session
	// (see Factory.dialogue); nil: questions go to ErrOut.
	controllingTerminal func() (*os.File, error)
	// terminalClosed reports whether a stream that was a terminal is
	// one no longer: the terminal closed (hung up). nil: none is seen to.
	terminalClosed func() bool
}

// SystemStreams are the process's own streams; writing to a pipe whose
// reader has gone fails with EPIPE rather than ending the process, and
// reading a terminal that has closed fails with errHungUp.
func SystemStreams() *IOStreams {
	inTTY, outTTY, errTTY := isatty.IsTerminal(os.Stdin.Fd()), isatty.IsTerminal(os.Stdout.Fd()), isatty.IsTerminal(os.Stderr.Fd())
	return &IOStreams{
		In: terminalInput(os.Stdin, inTTY), Out: outputFile(os.Stdout), ErrOut: outputFile(os.Stderr),
		InTTY:  inTTY,
		OutTTY: outTTY,
		ErrTTY: errTTY,

		controllingTerminal: controllingTerminal,
		terminalClosed: func() bool {
			return inTTY && !isatty.IsTerminal(os.Stdin.Fd()) || outTTY && !isatty.IsTerminal(os.Stdout.Fd()) || errTTY && !isatty.IsTerminal(os.Stderr.Fd())
		},
	}
}

// Factory carries what every command needs, filled from the global flags.
type Factory struct {
	IO *IOStreams

	ConfigFlag string
	EnvFlag    string
	Debug      bool
	LogFormat  string
	LogFile    string

	// OpenBrowser opens a URL for a person; tests replace it.
	OpenBrowser func(url string) error
	// Sending is told of every token request whose answer must be stored
	// before the process may exit (freshtoken.Options.Sending); nil: nobody.
	Sending func(freshtoken.Renewal) func()
	// watchSignals makes signals cancel the command (see guard); nil: they
	// end the process. A quick command calls it only when it takes a
	// renewal lock, or reads a store that may keep it waiting
	// (freshtoken.Options.Locking).
	watchSignals func()
	// signalCame is the signal that interrupted the process, once every
	// one already sent to it has come (see guard.stillComing); nil: none.
	signalCame func() syscall.Signal
	// handOver leaves signals to a command freshtoken runs, reporting
	// false if one came first (see guard.handOver); nil: it may start.
	handOver func() bool
	// stopKeys is what ends the process at once once it stops (see
	// guard.stopKeys); nil: "Ctrl-C twice".
	stopKeys func() string
	// holdPutBack has a second Ctrl-C wait for a failed command's putting
	// back of what it replaced (see guard.puttingBack); nil: nothing waits.
	holdPutBack func(what, ifAbandoned string) (done func())
	// holdImport tells a second Ctrl-C that the log-in's tokens being
	// stored are an import's (see guard.importingTokens); nil: nobody.
	holdImport func(left string) (done func())
	// holdLogin tells a second Ctrl-C which log-in this command runs (see
	// guard.loggingIn); nil: nobody.
	holdLogin func(env, args string)

	asking   *IOStreams // see dialogue; nil until something is asked
	logger   *slog.Logger
	log      *boundedLog // the logger's writer; nil until setupLogging
	closers  []io.Closer
	selected string // the environment Env selected
	// opened is the last Source the command opened for each environment,
	// to tell whether its store is still the one the configuration names
	// (see storeMoved). The last only: a proxy's keeper opens each
	// environment again at every look; and of those configured only (see
	// forgetOpened).
	opened   map[string]*freshtoken.Source
	openedMu sync.Mutex // the proxy's handlers and its keeper open at once
	// kept is the configuration as a long-running process last read it
	// (see keptConfig).
	kept keptRead
	// rerunnable: the command has done nothing that running it again
	// would not do the same way (it read no stdin, which would be empty
	// the second time), so it may run again after its tokens moved.
	rerunnable bool
}

// Logger is the redacting logger the global flags asked for.
func (f *Factory) Logger() *slog.Logger {
	if f.logger == nil {
		f.logger = slog.New(slog.DiscardHandler)
	}
	return f.logger
}

// debugAsked reports whether v, FRESHTOKEN_DEBUG's value, asks for debug
// logging: any value but none, 0, false, no or off (in any case), as gh
// reads GH_DEBUG. Only 1 and true did: yes, TRUE or on left a person
// waiting for a debug log that never came, without a word.
func debugAsked(v string) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "", "0", "false", "no", "off":
		return false
	}
	return true
}

// setupLogging builds the logger from --debug, --log-format and --log-file.
func (f *Factory) setupLogging() error {
	if debugAsked(os.Getenv("FRESHTOKEN_DEBUG")) {
		f.Debug = true
	}
	level := slog.LevelWarn
	if f.Debug {
		level = slog.LevelDebug
	}
	var w io.Writer = f.IO.ErrOut
	if f.LogFile != "" {
		if conf, err := f.ConfigPath(); err == nil {
			if why := configedit.Overwrites(f.LogFile, conf); why != "" {
				return usageErrorf("--log-file %s %s", f.LogFile, why)
			}
		}
		lf, err := openLogFile(f.LogFile)
		if err != nil {
			return usageErrorf("%s", logFileProblem(f.LogFile, err))
		}
		w = &logFile{file: lf, path: f.LogFile, errOut: f.IO.ErrOut}
	}
	bl := &boundedLog{w: w, limit: logStallLimit}
	if f.LogFile != "" {
		f.closers = append(f.closers, bl)
	}
	f.log, w = bl, bl
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler
	switch f.LogFormat {
	case "", "text":
		h = slog.NewTextHandler(w, opts)
	case "json":
		h = slog.NewJSONHandler(jsonSafe{w}, opts)
		bl.note = func(n int) []byte { // a JSON line, as its reader takes
			var line bytes.Buffer
			slog.New(slog.NewJSONHandler(&line, opts)).Warn("log lines were dropped while the log was not being read", "dropped", n)
			return line.Bytes()
		}
	default:
		return usageErrorf("--log-format %s: use text or json", shownChoice(f.LogFormat, []string{"text", "json"}))
	}
	f.logger = slog.New(redact.NewHandler(h))
	// go-redis reports its connection pool's troubles on its own logger;
	// the error a command returns says what matters, so they are details.
	redis.SetLogger(redisLogger{f.logger.With("component", "redis")})
	// net/http's transport writes on the log package's logger, quoting
	// the bytes an API sent after an answer that has none (a 204 with a
	// body), which may echo the access token it was sent: they went to
	// stderr unredacted, --log-file and --log-format aside.
	log.SetFlags(0)
	log.SetOutput(slog.NewLogLogger(f.logger.With("component", "net/http").Handler(), slog.LevelDebug).Writer())
	return nil
}

// lastWordMax is how many runes of a failed command's last line are shown:
// enough for a message naming paths as long as a system allows and, after
// them, the command to run; a hostile provider's or API's text quoted in it
// (a body of a megabyte) loses its middle, never the command at its end.
const lastWordMax = 8000

// lastWord writes the command's last word, msg, on errOut: the sentence
// "freshtoken: msg", or, with --log-format json and the log on stderr, a
// JSON line like the log's, with the exit code, so that a reader of JSON
// lines (jq) takes the line that says what went wrong, too; a sentence
// there stopped it. With --log-file, stderr holds no log, so the sentence.
func (f *Factory) lastWord(errOut io.Writer, msg string, code int) {
	f.say(errOut, slog.LevelError, msg, "exit", code)
}

// storeWarnings is ctx with which the stores' calls log what they say of
// a write made all the same (store.Warn: a shared store's replicas yet to
// copy it), as a warning, as the engine logs those of its own writes: for
// a command that writes to a store itself (store migrate, an import's
// put-back).
func (f *Factory) storeWarnings(ctx context.Context) context.Context {
	return store.WithWarning(ctx, func(msg string) { f.Logger().Warn(msg) })
}

// warn writes msg, a warning that names its environment, on stderr as
// lastWord writes the last word: a JSON line where the log on stderr is.
func (f *Factory) warn(msg string) { f.say(f.IO.ErrOut, slog.LevelWarn, msg) }

// say writes msg on w: "freshtoken: msg", or, with --log-format json and
// the log on stderr, a JSON line at level with args; the secrets
// registered (redact.Scrub), the parts of the command line shaped like
// secrets among them (see typedSecrets), are masked in it as in the log.
func (f *Factory) say(w io.Writer, level slog.Level, msg string, args ...any) {
	msg = redact.Scrub(msg)
	if f.LogFormat != "json" || f.LogFile != "" {
		fmt.Fprintf(w, "freshtoken: %s\n", msg)
		return
	}
	var line bytes.Buffer
	slog.New(slog.NewJSONHandler(&line, nil)).Log(context.Background(), level, msg, args...)
	w.Write(line.Bytes())
}

// readGlobalFlags sets --log-format, --log-file, --config and -e from
// args, the command line, when the log was never set up: the command
// failed before (an unknown flag or command, wrong arguments), where the
// flags after the mistake, or all of them, were not read. So its last word
// takes the form its log would have had, and the command it suggests names
// the configuration and environment given (see suggesting), wherever on
// the line the flags stood. Everything else on the line is passed over;
// nothing after -- is read.
func (f *Factory) readGlobalFlags(args []string) {
	if f.log != nil {
		return // set up: the flags were read
	}
	fs := pflag.NewFlagSet("freshtoken", pflag.ContinueOnError)
	fs.ParseErrorsAllowlist.UnknownFlags = true
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	env := fs.StringP("env", "e", "", "")
	configFile := fs.String("config", "", "")
	fs.Bool("debug", false, "")
	fs.BoolP("help", "h", false, "")
	format := fs.String("log-format", "text", "")
	file := fs.String("log-file", "", "")
	fs.Parse(args) // what cannot be read stays as it was: a sentence
	if fs.Changed("env") && f.EnvFlag == "" {
		f.EnvFlag = *env
	}
	if fs.Changed("config") && f.ConfigFlag == "" {
		f.ConfigFlag = *configFile
	}
	if fs.Changed("log-format") {
		f.LogFormat = *format
	}
	if fs.Changed("log-file") {
		f.LogFile = *file
	}
}

// logFile is the --log-file. It follows its path: moved away (logrotate)
// or removed, the file is opened again there, so a long-running proxy's log
// goes where a person looks. Once a write to it fails (a full disk, a
// folder removed), that is said on stderr, and the log goes on there
// rather than being lost without a word.
type logFile struct {
	mu     sync.Mutex
	file   *os.File
	path   string
	errOut io.Writer
	failed bool
	// torn says the file ends in part of a line, all a full disk took,
	// which could not be taken back.
	torn bool
}

// looseLogFile is a log file that others could write in or lead elsewhere,
// or read: what is wrong, and what to do (see openLogFile).
type looseLogFile struct{ msg string }

func (e *looseLogFile) Error() string { return e.msg }

// logFileProblem says why path cannot be opened as the log file, err, and
// what to name instead.
func logFileProblem(path string, err error) string {
	var loose *looseLogFile
	switch {
	case errors.As(err, &loose):
		return fmt.Sprintf("--log-file %s %s", path, loose.msg)
	case errors.Is(err, syscall.ENXIO): // no device, or no reader: opened without waiting for one
		fi, serr := os.Stat(path)
		tty, _ := os.Stat("/dev/tty")
		switch {
		case serr == nil && tty != nil && os.SameFile(fi, tty):
			// /dev/tty is the process's controlling terminal, if it has one.
			return fmt.Sprintf("--log-file %s: this process has no terminal to write to (it was started without one: by setsid, cron, a service); name a file, or /dev/stderr for wherever its errors go", path)
		case serr == nil && fi.Mode()&fs.ModeCharDevice != 0:
			return fmt.Sprintf("--log-file %s is a device that is not present here; name a file", path)
		case serr == nil && fi.Mode()&fs.ModeSocket != 0:
			return fmt.Sprintf("--log-file %s is a socket, which cannot be opened as a file; name a file", path)
		}
		return fmt.Sprintf("--log-file %s is a named pipe that nothing reads; start its reader first, or name a file", path)
	case errors.Is(err, syscall.EISDIR):
		return fmt.Sprintf("--log-file %s is a folder; name a file in it, such as %s", path, filepath.Join(path, "freshtoken.log"))
	case errors.Is(err, fs.ErrNotExist):
		dir := filepath.Dir(path)
		if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
			return fmt.Sprintf("--log-file %s: the folder %s does not exist; make it, or name a file in a folder that does", path, dir)
		}
	case errors.Is(err, syscall.EROFS):
		return fmt.Sprintf("--log-file %s is on a read-only disk, so nothing can be written to it; name a file on a disk you can write to", path)
	case atomicfile.DiskFull(err):
		var errno syscall.Errno
		errors.As(err, &errno)
		return fmt.Sprintf("--log-file %s cannot be made, as the disk holding it %s (%v); %s, or name a file on another disk", path, atomicfile.FullWords(err), errno, atomicfile.FreeSome(err, filepath.Dir(path), " there"))
	}
	return fmt.Sprintf("--log-file: %v", err)
}

// Write writes b to the log file, or to stderr while the file cannot be
// written (a full disk), saying so once; each line tries the file first,
// so a long-running proxy's log goes back to the file once there is room
// again, which it also says. It stayed on stderr for the process's life.
func (l *logFile) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	err := l.follow()
	if err == nil {
		err = l.append(b)
	}
	switch {
	case err == nil && l.failed:
		l.failed = false
		fmt.Fprintf(l.errOut, "freshtoken: --log-file %s can be written again; logging there from here on\n", l.path)
		fallthrough
	case err == nil:
		return len(b), nil
	case !l.failed:
		l.failed = true
		if cause := errors.Unwrap(err); cause != nil {
			err = cause
		}
		next := ""
		switch {
		case atomicfile.DiskFull(err):
			next = ": " + atomicfile.FreeSome(err, l.path, " on its disk")
		case atomicfile.TooLarge(err):
			than, raise := atomicfile.TooLargeWords()
			next = ": it would be larger than " + than + "; " + raise + ", or rotate it"
		}
		fmt.Fprintf(l.errOut, "freshtoken: --log-file %s: %v; logging to stderr instead until it can be written again%s\n", l.path, err, next)
	}
	return l.errOut.Write(b)
}

// append writes b, a line, at the end of the file: after a line break if
// the file ends in part of a line, so that it is one of its own; and part
// of it that the disk had room for is taken back (see takeBack).
func (l *logFile) append(b []byte) error {
	if l.torn {
		if _, err := l.file.Write([]byte("\n")); err != nil {
			return err
		}
		l.torn = false
	}
	n, err := l.file.Write(b)
	if err != nil && n > 0 {
		wroteShort()
		l.torn = !l.takeBack(n)
	}
	return err
}

// wroteShort is called once a line was written in part, before its part is
// taken back (a test's other writer lands there).
var wroteShort = func() {}

// takeBack removes the last n bytes written to the file, part of a line
// the disk had room for only that much of, so that it holds whole lines: a
// reader of a JSON log stops at a cut one. It cuts nothing but those
// bytes, and only while they are the file's end: a line another process
// appended after them is left, and the part with it. It takes no lock, so
// that nothing another process does with the file (a lock of its own, a
// freshtoken stopped by Ctrl-Z) holds up a line; another process's line
// landing between the check and the cut, in the instant a full disk is
// given room again, is all it could take. It reports whether the file no
// longer ends in the part: taken back, or followed by another's line,
// after which the next line needs no line break of its own (one made an
// empty line). A file that may only be appended to (chattr +a) cannot be
// cut. Cutting the file's last n bytes cut another process's line that
// had landed after them, and left the part.
func (l *logFile) takeBack(n int) bool {
	end, err := l.file.Seek(0, io.SeekCurrent) // an append leaves the offset at the end of what it wrote
	if err != nil {
		return false
	}
	fi, err := l.file.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		return false
	}
	return fi.Size() != end || l.file.Truncate(end-int64(n)) == nil
}

// follow opens the file at l.path again when it is no longer the file
// being written.
func (l *logFile) follow() error {
	there, err := os.Stat(l.path)
	if err == nil {
		if open, err := l.file.Stat(); err == nil && os.SameFile(there, open) {
			return nil
		}
	}
	f, err := openLogFile(l.path)
	if err != nil {
		return err
	}
	l.file.Close()
	l.file, l.torn = f, false
	return nil
}

func (l *logFile) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.file.Close()
}

// redisLogger passes go-redis's messages to the debug log.
type redisLogger struct{ log *slog.Logger }

func (l redisLogger) Printf(ctx context.Context, format string, v ...any) {
	l.log.DebugContext(ctx, strings.TrimPrefix(fmt.Sprintf(format, v...), "redis: "))
}

// flushLog says, at the end of the command, how many log lines were
// dropped while the log was not being read (see boundedLog.flush).
func (f *Factory) flushLog() {
	if f.log != nil {
		f.log.flush()
	}
}

func (f *Factory) close() {
	for _, c := range f.closers {
		c.Close()
	}
}

// openBrowser opens url with the config's browser command, else $BROWSER,
// else the desktop's default browser.
func (f *Factory) openBrowser(url string) error {
	cmdline := os.Getenv("BROWSER")
	if c, err := f.Config(); err == nil && c.Browser != "" {
		cmdline = c.Browser
	}
	return openBrowser(cmdline, url)
}

// commandLine is a freshtoken command line for a message to suggest, such
// as "login -e dev": with --config when the configuration file was named by
// it or by $FRESHTOKEN_CONFIG (which exec sets for its command), so that
// the step works on the same file and not the default one, in whatever
// shell it is pasted.
func (f *Factory) commandLine(args string) string {
	named := f.configNamed()
	if named == "" {
		return "freshtoken " + args
	}
	return "freshtoken --config " + shellquote.Word(named) + " " + args
}

// configNamed is the configuration file a suggested command names: the one
// --config or $FRESHTOKEN_CONFIG chose, or "" for the default one.
func (f *Factory) configNamed() string {
	if f.ConfigFlag != "" {
		return f.ConfigFlag
	}
	p := os.Getenv("FRESHTOKEN_CONFIG")
	if def, err := config.DefaultPath(); p == "" || err == nil && filepath.Clean(p) == filepath.Clean(def) {
		return ""
	}
	return p
}

// suggesting rewrites the commands msg suggests in backquotes, such as
// `freshtoken login -e dev`, as commandLine writes them: the packages below
// the command line do not know of --config.
func (f *Factory) suggesting(msg string) string {
	if f.configNamed() == "" {
		return msg
	}
	// Those already written so (f.commandLine's, in this package's own
	// messages) are taken back first, to name the file once: they were
	// given a second --config.
	named := "`" + f.commandLine("")
	return strings.ReplaceAll(strings.ReplaceAll(msg, named, "`freshtoken "), "`freshtoken ", named)
}

// puttingBack has a second Ctrl-C wait until done for a failed command's
// putting back of what, which abandoned leaves things as ifAbandoned says
// (see guard.puttingBack).
func (f *Factory) puttingBack(what, ifAbandoned string) (done func()) {
	if f.holdPutBack == nil {
		return func() {}
	}
	return f.holdPutBack(what, ifAbandoned)
}

// importingTokens tells a second Ctrl-C, until done, that the log-in's
// tokens being stored are an export's, and what abandoning them leaves
// as it is besides (see guard.importingTokens).
func (f *Factory) importingTokens(left string) (done func()) {
	if f.holdImport == nil {
		return func() {}
	}
	return f.holdImport(left)
}

// loggingIn tells a second Ctrl-C that this command logs env in with
// args, the log-in to name if it abandons it (see guard.loggingIn).
func (f *Factory) loggingIn(env, args string) {
	if f.holdLogin != nil {
		f.holdLogin(env, args)
	}
}

// secretWhere says where env's client secret comes from, for the step
// after the provider refused its client (config.Env.ClientSecretWhere:
// "$FREEAGENT_SECRET", never the secret); "" when that cannot be told.
func (f *Factory) secretWhere(env string) string { return secretWhereIn(f.Config, env) }

// keptSecretWhere is secretWhere of the configuration as a long-running
// process keeps it (keptConfig): the keeper asks at each look at an
// environment whose client the provider rejected, and read the whole file
// each time, so that a proxy of 2000 environments all rejected at once
// (their one app's secret reset) parsed its 400 KB, 0.2 s of processor
// time, at every look at each.
func (f *Factory) keptSecretWhere(env string) string { return secretWhereIn(f.keptConfig, env) }

// secretWhereIn is secretWhere of the configuration conf reads.
func secretWhereIn(conf func() (*config.File, error), env string) string {
	c, err := conf()
	if err != nil {
		return ""
	}
	if e := c.Envs[env]; e != nil {
		return e.ClientSecretWhere()
	}
	return ""
}

// ConfigPath is the configuration file in use.
func (f *Factory) ConfigPath() (string, error) { return config.Path(f.ConfigFlag) }

// Config loads the configuration file.
func (f *Factory) Config() (*config.File, error) {
	p, err := f.ConfigPath()
	if err != nil {
		return nil, err
	}
	return config.Load(p)
}

// configured is the configuration, or a usage error saying that no
// environment is configured, and then what to do.
func (f *Factory) configured(then string) (*config.File, error) {
	conf, err := f.Config()
	if err != nil {
		return nil, err
	}
	if !conf.Exists {
		return nil, conf.Missing()
	}
	if len(conf.Envs) == 0 {
		return nil, usageErrorf("no environment is configured in %s; %s", conf.Path, then)
	}
	return conf, nil
}

// Env is the selected environment's configuration.
func (f *Factory) Env() (*config.Env, error) {
	c, err := f.Config()
	if err != nil {
		return nil, err
	}
	return f.envIn(c)
}

// envIn is the environment of c that -e, else as Select says, selects.
func (f *Factory) envIn(c *config.File) (*config.Env, error) {
	e, err := c.Select(f.EnvFlag)
	if e != nil {
		f.selected = e.Name
	}
	if err != nil {
		err = f.configuredInTheDefault(c, f.EnvFlag, err)
	}
	return e, err
}

// configuredInTheDefault is err, environment name ("": $FRESHTOKEN_ENV's)
// not being in c, a configuration --config or $FRESHTOKEN_CONFIG chose
// (or one they named that does not exist), saying that the default
// configuration has it: the init err suggests would add another.
func (f *Factory) configuredInTheDefault(c *config.File, name string, err error) error {
	if name == "" {
		name = os.Getenv("FRESHTOKEN_ENV")
	}
	if name == "" || c.Envs[name] != nil || f.configNamed() == "" {
		return err
	}
	def, derr := config.DefaultPath()
	if derr != nil {
		return err
	}
	if d, lerr := config.Load(def); lerr != nil || d.Envs[name] == nil {
		return err
	}
	var how []string
	if f.ConfigFlag != "" {
		how = append(how, "leave out --config")
	}
	if p := os.Getenv("FRESHTOKEN_CONFIG"); p != "" && filepath.Clean(p) != filepath.Clean(def) {
		how = append(how, "unset FRESHTOKEN_CONFIG")
	}
	return fmt.Errorf("%w; but %s is configured in %s, the default configuration: to use it, %s", err, name, def, strings.Join(how, " and "))
}

// selectedEnv names the environment the command works on, for the next
// step a message suggests.
func (f *Factory) selectedEnv() string {
	switch {
	case f.selected != "":
		return f.selected
	case f.EnvFlag != "":
		return f.EnvFlag
	}
	return "NAME"
}

// EnvSource is the selected environment's configuration and its engine.
func (f *Factory) EnvSource(ctx context.Context) (*config.Env, *freshtoken.Source, error) {
	env, err := f.Env()
	if err != nil {
		return nil, nil, err
	}
	src, err := f.Source(ctx, env.Name)
	if err != nil {
		return nil, nil, err
	}
	return env, src, nil
}

// Source opens the engine for env ("" selects as -e does).
func (f *Factory) Source(ctx context.Context, env string) (*freshtoken.Source, error) {
	conf, err := f.Config()
	if err != nil {
		return nil, err
	}
	return f.sourceIn(ctx, conf, env)
}

// sourceIn opens the engine for env of conf ("" selects as -e does).
func (f *Factory) sourceIn(ctx context.Context, conf *config.File, env string) (*freshtoken.Source, error) {
	if env == "" {
		env = f.EnvFlag
	}
	src, err := conf.Open(ctx, config.OpenOptions{Env: env, Logger: f.Logger(), Clock: clock.Now, Sending: f.Sending, Locking: f.watchSignals})
	if err != nil {
		return src, f.configuredInTheDefault(conf, env, err)
	}
	f.openedMu.Lock()
	if f.opened == nil {
		f.opened = map[string]*freshtoken.Source{}
	}
	f.opened[src.Env()] = src
	f.openedMu.Unlock()
	return src, nil
}

// forgetOpened lets go of the sources opened of environments conf, read
// without fault, names no more: kept, a long-running proxy held each
// removed environment's tokens and client secret for as long as it ran.
func (f *Factory) forgetOpened(conf *config.File) {
	f.openedMu.Lock()
	defer f.openedMu.Unlock()
	for env := range f.opened {
		if conf.Envs[env] == nil {
			delete(f.opened, env)
		}
	}
}

// storeMoved is the environment whose tokens err, a command's failure,
// says are missing because `store migrate` moved them between the
// command's reading of the configuration and of the store: the store it
// read held no tokens, and the configuration now names another store for
// them. The command can run again, on the tokens where they are now, if
// it is rerunnable. "" for any other failure.
func (f *Factory) storeMoved(err error) string {
	f.openedMu.Lock()
	defer f.openedMu.Unlock()
	if !errors.Is(err, freshtoken.ErrLoginRequired) || len(f.opened) == 0 {
		return ""
	}
	conf, cerr := f.Config()
	if cerr != nil {
		return ""
	}
	st, serr := config.OpenStore(conf.StoreURL)
	if serr != nil {
		return ""
	}
	for _, env := range slices.Sorted(maps.Keys(f.opened)) {
		if st.Location(env) != f.opened[env].Location() {
			return env
		}
	}
	return ""
}

// dialogue is where a command asks a person at the terminal (stdin) a
// question: its In gives the answer, its ErrOut shows the question and
// whatever is said only to the person answering. That is stdin and
// stderr, unless stderr is not the terminal (`2>>log`, `2>&1 | tee log`):
// then, as ssh, sudo and git ask, it is the session's terminal (/dev/tty)
// for both, so that the question is seen where it is answered, echo is
// turned off there for a secret, and the log holds no question. A process
// without one (setsid, a service), or whose stdin is another terminal (a
// program driving it), asks on stderr, as Windows does.
func (f *Factory) dialogue() *IOStreams {
	if f.asking != nil {
		return f.asking
	}
	f.asking = f.IO
	if f.IO.InTTY && !f.IO.ErrTTY && f.IO.controllingTerminal != nil {
		if tty, err := f.IO.controllingTerminal(); err == nil {
			f.closers = append(f.closers, tty)
			f.asking = &IOStreams{In: terminalInput(tty, true), Out: f.IO.Out, ErrOut: tty, InTTY: true, OutTTY: f.IO.OutTTY, ErrTTY: true}
		}
	}
	return f.asking
}

// personAside is the session's terminal when stderr goes elsewhere (`login
// 2>log`, see dialogue): where to log in is said there too, where the
// person waits, and still on stderr, where a script reads it. nil when
// stderr is where the person looks.
func (f *Factory) personAside() io.Writer {
	if d := f.dialogue(); d != f.IO {
		return d.ErrOut
	}
	return nil
}

// askYesNo asks question (see dialogue), no being the default, and reads
// one line: y or yes is yes, anything else or input ending (Ctrl-D) no.
// An interruption (Ctrl-C) or a terminal closing is its error, which says
// that nothing was changed: each question comes before the change it asks
// about (remove, logout, a log-in over other tokens).
func (f *Factory) askYesNo(ctx context.Context, question string) (bool, error) {
	d := f.dialogue()
	fmt.Fprintf(d.ErrOut, "%s [y/N] ", question)
	answer, err := await.Result(ctx, func() (string, error) { return bufio.NewReader(d.In).ReadString('\n') })
	if err != nil && !errors.Is(err, io.EOF) {
		fmt.Fprintln(d.ErrOut)
		return false, unchanged(err)
	}
	a := strings.ToLower(strings.TrimSpace(answer))
	return a == "y" || a == "yes", nil
}
