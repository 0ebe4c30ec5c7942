// Package service describes freshtoken's long-running process (the proxy,
// which also keeps every grant alive) as a per-user service of the system:
// a systemd user unit on Linux, a launchd agent on macOS, a Task Scheduler
// task on Windows. It writes files and names the commands that start and
// stop them; it runs nothing itself.
package service

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"html"
	"io"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/freshtoken/freshtoken/internal/shellquote"
)

// Name is the service's name on every system.
const Name = "freshtoken"

// Spec says what the service runs, for whom.
type Spec struct {
	Executable string   // the freshtoken binary, an absolute path
	Args       []string // its arguments, such as --config PATH proxy
	Home       string   // the user's home folder
	// ConfigHome is the folder under which the user's systemd reads units
	// (systemd/user): $XDG_CONFIG_HOME as the manager itself sees it; ""
	// for the home folder's .config, where one started without it reads.
	ConfigHome string
	// Env is variables (NAME=value) it runs with, which a service would
	// not otherwise see: those the command line found the token store by.
	// A Task Scheduler task cannot carry them.
	Env []string
	// User is the user the service is for: on Windows their security
	// identifier (S-1-5-21-…), which still names them after the account
	// is renamed, where DOMAIN\name would then name nobody and the task
	// would never start again. A Task Scheduler task starts at their
	// log-on alone, and runs as them. Unused elsewhere, where the service
	// is the user's own.
	User string
}

// Plan is what installing the service means on one system.
type Plan struct {
	System string // "systemd", "launchd" or "Task Scheduler"
	Path   string // the file written
	Text   string // its content
	// Start and Stop are the commands that enable and start, or stop and
	// disable, the service once the file is in place.
	Start, Stop [][]string
	// Forget is the commands that make the service manager forget the
	// service once its file is removed.
	Forget [][]string
	// Additions is the folder of the user's own additions to the service
	// (`systemctl --user edit`'s drop-ins, which may hold the credentials
	// of an office proxy); "" where there is none.
	Additions string
	// Status is the command that shows whether it runs, and NotRunning its
	// exit code for a service that is installed but not running (0: any
	// failure means that).
	Status     []string
	NotRunning int
	// Logs says where to read the service's log: its --log-file, or where
	// the system keeps services' logs (systemLogs).
	Logs       string
	systemLogs string
	// Manual says how a person starts the service when Start could not:
	// most often there is no service manager of the user's to reach.
	Manual string
	// Unwritable, when set, says why the file must not be written: a Task
	// Scheduler task for no user would start at any user's log-on. The
	// rest of the plan still serves to stop, remove and ask about the
	// service installed.
	Unwritable error
}

// For returns the plan for goos ("linux", "darwin" or "windows").
// A path or variable holding a control character, or that is not UTF-8, is
// refused: no service file can carry one safely (a line break would start
// a line of the file's own).
func For(goos string, s Spec) (*Plan, error) {
	paths := slices.Concat([]string{s.Executable}, s.Args)
	for i, a := range slices.Concat(paths, s.Env) {
		shown, why, without := unfit(a)
		switch {
		case why == "":
		case i < len(paths):
			return nil, fmt.Errorf("a service cannot run %s: %s; keep freshtoken, its config file and its --log-file at paths %s", shown, why, without)
		default:
			name, _, _ := strings.Cut(a, "=")
			return nil, fmt.Errorf("a service cannot run with %s: %s; set $%s to a value %s, or unset it, and run the install again", shown, why, name, without)
		}
	}
	var (
		p   *Plan
		err error
	)
	switch goos {
	case "linux":
		p, err = systemd(s)
	case "darwin":
		p, err = launchd(s)
	case "windows":
		p, err = taskScheduler(s)
	default:
		return nil, fmt.Errorf("freshtoken cannot install a service on %s; run `freshtoken proxy` from your own start-up scripts", goos)
	}
	if err != nil {
		return nil, err
	}
	p.systemLogs = p.Logs
	if i := slices.Index(s.Args, "--log-file"); i >= 0 && i+1 < len(s.Args) {
		p.Logs = s.Args[i+1]
	}
	return p, nil
}

// InstalledLogs says where the service installed as text, a service's file
// written by For for p's system, logs: the --log-file it runs freshtoken
// with, or where the system keeps services' logs.
func (p *Plan) InstalledLogs(text string) string {
	if f := installedLogFile(text); f != "" {
		return f
	}
	return p.systemLogs
}

// installedLogFile is the --log-file that text, a service's file written
// by For, runs freshtoken with; "" if it names none. The logging flags
// come first, before --config (see the command line's service plan).
func installedLogFile(text string) string {
	return installedArg(text, systemdLogFile(), launchdLogFile(), taskLogFile())
}

// installedArg is the argument that text, a service's file written by For,
// runs freshtoken with, where the pattern of text's system (a unit's
// ExecStart= line, an agent's ProgramArguments, a task's Arguments) finds
// it, its quotes and escapes undone; "" if none finds it.
func installedArg(text string, unit, agent, task *regexp.Regexp) string {
	if m := unit.FindStringSubmatch(text); m != nil {
		return systemdArg(m[1])
	}
	if m := agent.FindStringSubmatch(text); m != nil {
		return html.UnescapeString(m[1])
	}
	if m := task.FindStringSubmatch(html.UnescapeString(text)); m != nil {
		return taskArg(m[1])
	}
	return ""
}

// taskArg is an argument of a task's Arguments as taskScheduler wrote it,
// its quotes and escapes undone.
func taskArg(arg string) string {
	if len(arg) >= 2 && strings.HasPrefix(arg, `"`) {
		arg = strings.ReplaceAll(arg[1:len(arg)-1], `\"`, `"`)
	}
	return arg
}

// systemdArg is an argument of an ExecStart= line as systemdCommand wrote
// it, its quotes and escapes undone.
func systemdArg(arg string) string {
	if len(arg) >= 2 && strings.HasPrefix(arg, `"`) {
		arg = strings.NewReplacer(`\\`, `\`, `\"`, `"`, `$$`, `$`, `%%`, `%`).Replace(arg[1 : len(arg)-1])
	}
	return arg
}

// unfit says why a, a path or NAME=value, cannot be written into a
// service's file (why; "" if it can), a as a message shows it, and what a
// value without the fault is.
func unfit(a string) (shown, why, without string) {
	switch {
	case strings.ContainsFunc(a, unicode.IsControl):
		return strconv.Quote(a), "it holds a control character (a line break?)", "without one"
	// systemd ignores a line that is not UTF-8 (the unit then has no
	// ExecStart= and does not load), and a plist is UTF-8 XML.
	case !utf8.ValidString(a):
		return strconv.Quote(a), "it is not UTF-8 text (a name in another encoding, such as Latin-1?), which a service's file cannot carry", "in UTF-8"
	}
	// A noncharacter is UTF-8 to Go, but not to systemd, which ignores
	// the line as it does one that is not UTF-8, nor to XML.
	if i := strings.IndexFunc(a, noncharacter); i >= 0 {
		r, _ := utf8.DecodeRuneInString(a[i:])
		return strconv.QuoteToASCII(a), fmt.Sprintf("it holds the Unicode noncharacter %U, which a service's file cannot carry", r), "without one"
	}
	return "", "", ""
}

// noncharacter reports whether r is one of Unicode's noncharacters
// (U+FDD0 to U+FDEF, and the last two code points of every plane), which
// systemd takes for text that is not UTF-8 and XML may not hold.
func noncharacter(r rune) bool {
	return r >= 0xFDD0 && r <= 0xFDEF || r&0xFFFE == 0xFFFE
}

func systemd(s Spec) (*Plan, error) {
	cmd, err := systemdCommand(s.Executable, s.Args)
	if err != nil {
		return nil, err
	}
	var env strings.Builder
	for _, kv := range s.Env {
		// Quoted, as C escapes; % is a specifier, $ is not expanded here.
		fmt.Fprintf(&env, "Environment=\"%s\"\n", strings.NewReplacer(`\`, `\\`, `"`, `\"`, `%`, `%%`).Replace(kv))
	}
	var b strings.Builder
	fmt.Fprintf(&b, `[Unit]
Description=freshtoken: fresh OAuth 2.0 tokens and the local proxy
Documentation=https://github.com/freshtoken/freshtoken/blob/main/docs/service.md

[Service]
Type=simple
%sExecStart=%s
Restart=on-failure
RestartSec=5s
# A signal sees any renewal in flight through, then exits 128+N.
SuccessExitStatus=129 130 143
# A hang-up (kill -HUP, which daemons take as "reload") restarts it.
RestartForceExitStatus=129

[Install]
WantedBy=default.target
`, env.String(), cmd)
	// The digest tells the next install a unit as an install wrote it,
	// whichever freshtoken's, from one edited by hand (HandEdited).
	text := fmt.Sprintf("# Written by `freshtoken service install` (settings sha256:%s).\n# Keep settings of your own in `systemctl --user edit %s.service`,\n# which every install keeps.\n", settingsDigest(b.String()), Name) + b.String()
	unit := Name + ".service"
	units := filepath.Join(s.Home, ".config", "systemd", "user")
	if s.ConfigHome != "" {
		units = filepath.Join(s.ConfigHome, "systemd", "user")
	}
	return &Plan{
		System: "systemd",
		Path:   filepath.Join(units, unit),
		Text:   text,
		// restart, not start: an install over a running service (after
		// moving the binary or the config) takes effect at once.
		Start:      [][]string{{"systemctl", "--user", "daemon-reload"}, {"systemctl", "--user", "enable", unit}, {"systemctl", "--user", "restart", unit}},
		Stop:       [][]string{{"systemctl", "--user", "disable", "--now", unit}},
		Forget:     [][]string{{"systemctl", "--user", "daemon-reload"}},
		Additions:  filepath.Join(units, unit+".d"),
		Status:     []string{"systemctl", "--user", "status", "--no-pager", unit},
		NotRunning: 3, // the LSB status code; others mean systemctl could not tell
		Logs:       "journalctl --user -u " + unit,
		Manual:     "run `freshtoken service install` again once your user's systemd runs (on a server without a desktop session: `loginctl enable-linger $USER`, then log in again)",
	}, nil
}

// InstalledConfig is the configuration file that text, a service's file
// written by For, runs freshtoken with; "" if it names none.
func InstalledConfig(text string) string {
	return installedArg(text, systemdConfig(), launchdConfig(), taskConfig())
}

// settingsDigest is the SHA-256 of text's settings, a systemd unit's: its
// lines but blank ones, comments and Environment= lines as For writes them
// (the variables an install carries, which HandEdited looks at one by one).
func settingsDigest(text string) string {
	h := sha256.New()
	for _, l := range strings.Split(text, "\n") {
		l = strings.TrimSpace(l)
		if l != "" && !strings.HasPrefix(l, "#") && !strings.HasPrefix(l, ";") && !environmentLine().MatchString(l) {
			io.WriteString(h, l+"\n")
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// writtenDigest is the settings digest that text, a unit For wrote,
// records; "" when it records none (an earlier freshtoken's).
var writtenDigest = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(?m)^# Written by .*\(settings sha256:([0-9a-f]{64})\)`)
})

// HandEdited reports whether text, the systemd unit installed, holds
// settings of the person's own that p's unit would drop: a line freshtoken
// does not write (an Environment= with an office proxy's password, a
// LimitNOFILE=), a line it writes taken out (Restart=, to keep a failing
// proxy stopped), or proxy flags added to ExecStart= (--listen), as
// `systemctl --user edit --full` leaves them. What an install rewrites on
// purpose is not: ExecStart='s binary, logging flags and configuration,
// comments, and the variables carried reports an install carries
// (NAME=value, as an Environment= line written by For holds them) that p
// sets too. One p does not set is dropped: an office proxy added by hand,
// or carried by an install where it was set. Nor is a unit whose settings
// are as the freshtoken that wrote it recorded them (writtenDigest), this
// one or another, lines added or taken out since and all; nor, in a unit
// an earlier freshtoken wrote without recording them, a line it did not
// write yet (addedSince). No unit (text empty) and other systems' files
// are not looked at: false.
func (p *Plan) HandEdited(text string, carried func(name, value string) bool) bool {
	if p.System != "systemd" || strings.TrimSpace(text) == "" {
		return false
	}
	// missing is the lines of p's unit that text must hold: its settings
	// but ExecStart= and the variables, which an install rewrites.
	ours, set, missing := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, l := range strings.Split(p.Text, "\n") {
		l = strings.TrimSpace(l)
		ours[l] = true
		kv := environmentLine().FindStringSubmatch(l)
		switch {
		case kv != nil:
			name, _, _ := strings.Cut(systemdArg(kv[1]), "=")
			set[name] = true
		case l != "" && !strings.HasPrefix(l, "#") && !strings.HasPrefix(l, "ExecStart=") && !slices.Contains(addedSince, l):
			missing[l] = true
		}
	}
	m := writtenDigest().FindStringSubmatch(text)
	asWritten := m != nil && m[1] == settingsDigest(text)
	for _, l := range strings.Split(text, "\n") {
		l = strings.TrimSpace(l)
		delete(missing, l)
		kv := environmentLine().FindStringSubmatch(l)
		switch {
		case ours[l] || l == "" || strings.HasPrefix(l, "#") || strings.HasPrefix(l, ";"):
		case kv != nil:
			if name, value, _ := strings.Cut(systemdArg(kv[1]), "="); !set[name] || !carried(name, value) {
				return true
			}
		case asWritten:
		case strings.HasPrefix(l, "ExecStart="):
			if proxyFlags(l) != proxyFlags(p.Text) {
				return true
			}
		default:
			return true
		}
	}
	return !asWritten && len(missing) > 0
}

// addedSince is the lines of the unit that units written before units
// recorded their settings' digest may lack: their absence is that
// install's, not the person's. Units written since record what they hold,
// so this list never grows.
var addedSince = []string{"RestartForceExitStatus=129"}

// proxyFlags is the flags the ExecStart= line in text gives the proxy,
// but for the one every install gives (--wait-for-config, which an
// earlier freshtoken's unit lacks); "?" when the line is not one For
// writes.
func proxyFlags(text string) string {
	m := systemdConfig().FindStringSubmatch(text)
	if m == nil {
		return "?"
	}
	return strings.ReplaceAll(m[2], " --wait-for-config", "")
}

// environmentLine matches an Environment= line as For writes it, its
// quoted NAME=value the submatch.
var environmentLine = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^Environment=("(?:[^"\\]|\\.)*")$`)
})

// InstalledExecutable is the freshtoken binary that text, a service's file
// written by For, runs; "" if it names none.
func InstalledExecutable(text string) string {
	if m := systemdExec().FindStringSubmatch(text); m != nil {
		exe := m[1]
		if strings.HasPrefix(exe, `"`) {
			exe = strings.ReplaceAll(strings.Trim(exe, `"`), "%%", "%")
		}
		return exe
	}
	if m := launchdExec().FindStringSubmatch(text); m != nil {
		return html.UnescapeString(m[1])
	}
	if m := taskExec().FindStringSubmatch(text); m != nil {
		return html.UnescapeString(m[1])
	}
	return ""
}

var (
	// The executable's path holds no quote (see systemdCommand).
	systemdExec = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`(?m)^ExecStart=("[^"]*"|\S+)`)
	})
	launchdExec = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`<key>ProgramArguments</key>\s*<array>\s*<string>([^<]*)</string>`)
	})
	taskExec = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`<Command>([^<]*)</Command>`)
	})
)

var (
	systemdConfig = sync.OnceValue(func() *regexp.Regexp {
		// The proxy's own flags follow it (--wait-for-config).
		return regexp.MustCompile(`(?m)^ExecStart=.* --config ("(?:[^"\\]|\\.)*"|\S+) proxy((?: --[a-z-]+)*)$`)
	})
	launchdConfig = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`<string>--config</string>\s*<string>([^<]*)</string>`)
	})
	// The logging flags come first (see installedLogFile).
	taskConfig = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`<Arguments>(?:--debug |--log-format \S+ |--log-file (?:"(?:[^"\\]|\\.)*"|\S+) )*--config ("(?:[^"\\]|\\.)*"|\S+) proxy`)
	})
)

var (
	systemdLogFile = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`(?m)^ExecStart=(?:"[^"]*"|\S+)(?: --debug| --log-format \S+)* --log-file ("(?:[^"\\]|\\.)*"|\S+) --config `)
	})
	launchdLogFile = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`<string>--log-file</string>\s*<string>([^<]*)</string>`)
	})
	taskLogFile = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`<Arguments>(?:--debug |--log-format \S+ )*--log-file ("(?:[^"\\]|\\.)*"|\S+) --config `)
	})
)

// systemdCommand is an ExecStart= line running exe with args. systemd
// expands specifiers (%) in the whole line but variables ($) only in the
// arguments, and refuses an executable path holding a quote or backslash.
func systemdCommand(exe string, args []string) (string, error) {
	if strings.ContainsAny(exe, `"'\`) {
		return "", fmt.Errorf("systemd cannot run %s: it refuses quotes and backslashes in a program's path; move freshtoken to a folder without them", exe)
	}
	q := []string{exe}
	if strings.ContainsAny(exe, " \t;%") {
		q[0] = `"` + strings.ReplaceAll(exe, "%", "%%") + `"`
	}
	for _, a := range args {
		if a == "" || strings.ContainsAny(a, " \t\"'\\$%;") {
			a = `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, `$`, `$$`, `%`, `%%`).Replace(a) + `"`
		}
		q = append(q, a)
	}
	return strings.Join(q, " "), nil
}

func launchd(s Spec) (*Plan, error) {
	label := "com.github.freshtoken"
	logs := filepath.Join(s.Home, "Library", "Logs", "freshtoken.log")
	var args bytes.Buffer
	for _, a := range append([]string{s.Executable}, s.Args...) {
		args.WriteString("\t\t<string>" + xmlText(a) + "</string>\n")
	}
	var env bytes.Buffer
	if len(s.Env) > 0 {
		env.WriteString("\t<key>EnvironmentVariables</key>\n\t<dict>\n")
		for _, kv := range s.Env {
			k, v, _ := strings.Cut(kv, "=")
			env.WriteString("\t\t<key>" + xmlText(k) + "</key>\n\t\t<string>" + xmlText(v) + "</string>\n")
		}
		env.WriteString("\t</dict>\n")
	}
	text := fmt.Sprintf(`<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
	<key>Label</key>
	<string>%s</string>
	<key>ProgramArguments</key>
	<array>
%s	</array>
%s	<key>RunAtLoad</key>
	<true/>
	<key>KeepAlive</key>
	<dict>
		<key>SuccessfulExit</key>
		<false/>
	</dict>
	<key>StandardErrorPath</key>
	<string>%s</string>
</dict>
</plist>
`, label, args.String(), env.String(), xmlText(logs))
	path := filepath.Join(s.Home, "Library", "LaunchAgents", label+".plist")
	return &Plan{
		System: "launchd",
		Path:   path,
		Text:   text,
		Start:  [][]string{{"launchctl", "load", "-w", path}},
		Stop:   [][]string{{"launchctl", "unload", "-w", path}},
		Status: []string{"launchctl", "list", label},
		Logs:   logs,
		Manual: "run `launchctl load -w " + shellquote.Word(path) + "` yourself",
	}, nil
}

func taskScheduler(s Spec) (*Plan, error) {
	// Task Scheduler expands %NAME% in the command and its arguments, and
	// has no escape for a % of a path's own.
	for _, a := range slices.Concat([]string{s.Executable}, s.Args) {
		if v := taskVariable.FindString(a); v != "" {
			return nil, fmt.Errorf("a service cannot run %s: Task Scheduler would read %s in it as a variable and replace it; keep freshtoken, its config file and its --log-file at paths without one", strconv.Quote(a), v)
		}
	}
	var args []string
	for _, a := range s.Args {
		if strings.ContainsAny(a, " \t\"") {
			a = `"` + strings.ReplaceAll(a, `"`, `\"`) + `"`
		}
		args = append(args, a)
	}
	text := fmt.Sprintf(`<?xml version="1.0" encoding="UTF-8"?>
<Task version="1.2" xmlns="http://schemas.microsoft.com/windows/2004/02/mit/task">
  <RegistrationInfo>
    <Description>freshtoken: fresh OAuth 2.0 tokens and the local proxy</Description>
  </RegistrationInfo>
  <Triggers>
    <LogonTrigger>
      <Enabled>true</Enabled>
      <UserId>%[1]s</UserId>
    </LogonTrigger>
  </Triggers>
  <Principals>
    <Principal id="Author">
      <UserId>%[1]s</UserId>
      <LogonType>InteractiveToken</LogonType>
      <RunLevel>LeastPrivilege</RunLevel>
    </Principal>
  </Principals>
  <Settings>
    <MultipleInstancesPolicy>IgnoreNew</MultipleInstancesPolicy>
    <DisallowStartIfOnBatteries>false</DisallowStartIfOnBatteries>
    <StopIfGoingOnBatteries>false</StopIfGoingOnBatteries>
    <ExecutionTimeLimit>PT0S</ExecutionTimeLimit>
    <RestartOnFailure>
      <Interval>PT1M</Interval>
      <Count>999</Count>
    </RestartOnFailure>
  </Settings>
  <Actions Context="Author">
    <Exec>
      <Command>%[2]s</Command>
      <Arguments>%[3]s</Arguments>
    </Exec>
  </Actions>
</Task>
`, xmlText(s.User), xmlText(s.Executable), xmlText(strings.Join(args, " ")))
	path := filepath.Join(s.Home, "AppData", "Local", "freshtoken", "freshtoken-task.xml")
	var unwritable error
	if s.User == "" {
		unwritable = errors.New("a Task Scheduler task needs the user it is for, and none could be told")
	}
	return &Plan{
		System: "Task Scheduler",
		Path:   path,
		Text:   text,
		Start:  [][]string{{"schtasks", "/Create", "/TN", Name, "/XML", path, "/F"}, {"schtasks", "/Run", "/TN", Name}},
		Stop:   [][]string{{"schtasks", "/End", "/TN", Name}, {"schtasks", "/Delete", "/TN", Name, "/F"}},
		Status: []string{"schtasks", "/Query", "/TN", Name, "/V", "/FO", "LIST"},
		Logs:   "the task's history in Task Scheduler (taskschd.msc)",
		Manual: "run `schtasks /Create /TN " + Name + " /XML \"" + path + "\" /F` yourself",

		Unwritable: unwritable,
	}, nil
}

// ForAnyUser reports whether text, a Task Scheduler task's file, starts at
// any user's log-on: its log-on trigger names no user, as an older
// freshtoken wrote it. On a shared computer it then starts at another
// user's log-on too, as the one who installed it.
func ForAnyUser(text string) bool {
	for _, m := range logonTrigger().FindAllStringSubmatch(text, -1) {
		if !namedUser().MatchString(m[1]) {
			return true
		}
	}
	return false
}

var (
	logonTrigger = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`(?s)<LogonTrigger\b[^>]*>(.*?)</LogonTrigger>`)
	})
	namedUser = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`<UserId>\s*[^<\s]`)
	})
)

// taskVariable is what Task Scheduler reads as an environment variable.
var taskVariable = regexp.MustCompile(`%[^%\s]+%`)

// xmlText escapes s for XML character data and attribute values. It is
// html.EscapeString, whose five escapes XML shares, rather than
// encoding/xml, whose package set-up every start of freshtoken would pay.
func xmlText(s string) string { return html.EscapeString(s) }
