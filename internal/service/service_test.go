package service_test

import (
	"encoding/xml"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/freshtoken/freshtoken/internal/service"
	"github.com/freshtoken/freshtoken/internal/testenv"
)

func spec(t *testing.T) service.Spec {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return service.Spec{Executable: exe, Args: []string{"--config", "/home/me/My Config/config.toml", "proxy", "--wait-for-config"}, Home: "/home/me", User: "me"}
}

// TestSystemdUnitIsValid: the unit systemd would load passes
// systemd-analyze verify, runs this binary with the configuration named,
// restarts on failure, treats the exit after a signal as success, and is
// restarted by an install over a running one.
func TestSystemdUnitIsValid(t *testing.T) {
	p, err := service.For("linux", spec(t))
	if err != nil {
		t.Fatal(err)
	}
	if p.Path != "/home/me/.config/systemd/user/freshtoken.service" {
		t.Errorf("path %s", p.Path)
	}
	for _, want := range []string{`--config "/home/me/My Config/config.toml" proxy --wait-for-config`, "Restart=on-failure", "SuccessExitStatus=129 130 143", "RestartForceExitStatus=129", "WantedBy=default.target"} {
		if !strings.Contains(p.Text, want) {
			t.Errorf("unit lacks %q:\n%s", want, p.Text)
		}
	}
	if err := analyze(t, p.Text); err != nil {
		t.Fatal(err)
	}
	// Installing again (after moving the binary or the config) must take
	// effect in a service already running: start alone leaves it as it was.
	if last := strings.Join(p.Start[len(p.Start)-1], " "); last != "systemctl --user restart freshtoken.service" {
		t.Errorf("the last start command %q would leave a running service on its old unit", last)
	}
	broken := strings.Replace(p.Text, "ExecStart="+spec(t).Executable, "ExecStart=/nonexistent/freshtoken", 1)
	if analyze(t, broken) == nil {
		t.Fatal("systemd-analyze verify accepts a unit whose binary is missing; the check above proves nothing")
	}
}

// TestAgentAndTaskAreWellFormed: the launchd agent and the Task Scheduler
// task are well-formed XML naming this binary and its arguments.
func TestAgentAndTaskAreWellFormed(t *testing.T) {
	for _, goos := range []string{"darwin", "windows"} {
		p, err := service.For(goos, spec(t))
		if err != nil {
			t.Fatal(err)
		}
		d := xml.NewDecoder(strings.NewReader(p.Text))
		d.Strict = true
		for {
			if _, err := d.Token(); err != nil {
				if err.Error() != "EOF" {
					t.Fatalf("%s: %v\n%s", goos, err, p.Text)
				}
				break
			}
		}
		if !strings.Contains(p.Text, spec(t).Executable) || !strings.Contains(p.Text, "My Config/config.toml") {
			t.Errorf("%s: the file does not run this binary with its config:\n%s", goos, p.Text)
		}
		if len(p.Start) == 0 || len(p.Stop) == 0 || len(p.Status) == 0 {
			t.Errorf("%s: no commands to start, stop or check it", goos)
		}
	}
	if _, err := service.For("plan9", spec(t)); err == nil {
		t.Error("a service for plan9")
	}
}

// TestHostilePathsInTheUnit: an executable path and a config path holding
// systemd's specifier and variable signs, quotes and a space still name the
// same files once systemd reads the unit (systemd-analyze verify finds the
// binary); a path that no unit can carry (a line break, which would start a
// line of the unit's own, or a quote in the binary's path, which systemd
// refuses) is refused on every system with what to do.
func TestHostilePathsInTheUnit(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		testenv.Missing(t, "systemd-analyze is missing (Debian package systemd)")
	}
	dir := filepath.Join(t.TempDir(), "my tools 100% $HOME")
	exe := filepath.Join(dir, "fresh token")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	conf := `/home/me/it's "50%" $HOME\config.toml`
	p, err := service.For("linux", service.Spec{Executable: exe, Args: []string{"--config", conf, "proxy"}, Home: "/home/me", User: "me"})
	if err != nil {
		t.Fatal(err)
	}
	want := `ExecStart="` + strings.ReplaceAll(exe, "%", "%%") + `" --config "/home/me/it's \"50%%\" $$HOME\\config.toml" proxy` + "\n"
	if !strings.Contains(p.Text, want) {
		t.Errorf("unit lacks %q:\n%s", want, p.Text)
	}
	unit := filepath.Join(t.TempDir(), "freshtoken.service")
	if err := os.WriteFile(unit, []byte(p.Text), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(analyze, "verify", unit).CombinedOutput(); err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s\n%s", err, out, p.Text)
	}

	// The variables the command line found the token store by (a
	// $XDG_STATE_HOME of the user's shell, which a service does not see)
	// go with it: without them the service looked in another folder,
	// found no tokens, and kept no grant alive.
	state := `/home/me/st "100%" $HOME\state`
	envSpec := service.Spec{Executable: exe, Args: []string{"proxy"}, Env: []string{"XDG_STATE_HOME=" + state}, Home: "/home/me", User: "me"}
	p, err = service.For("linux", envSpec)
	if err != nil {
		t.Fatal(err)
	}
	if want := `Environment="XDG_STATE_HOME=/home/me/st \"100%%\" $HOME\\state"` + "\n"; !strings.Contains(p.Text, want) {
		t.Errorf("unit lacks %q:\n%s", want, p.Text)
	}
	if err := os.WriteFile(unit, []byte(p.Text), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(analyze, "verify", unit).CombinedOutput(); err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s\n%s", err, out, p.Text)
	}
	p, err = service.For("darwin", envSpec)
	if err != nil {
		t.Fatal(err)
	}
	// The agent's keys and strings in order: EnvironmentVariables, then
	// its one variable's name and value.
	var words []string
	d := xml.NewDecoder(strings.NewReader(p.Text))
	for {
		tok, err := d.Token()
		if err != nil {
			break
		}
		if c, ok := tok.(xml.CharData); ok && strings.TrimSpace(string(c)) != "" {
			words = append(words, string(c))
		}
	}
	i := slices.Index(words, "EnvironmentVariables")
	found := i >= 0 && i+2 < len(words) && words[i+1] == "XDG_STATE_HOME" && words[i+2] == state
	if !found {
		t.Errorf("the launchd agent does not set XDG_STATE_HOME to %q:\n%s", state, p.Text)
	}

	// A noncharacter in the binary's path (refused below) leaves a unit
	// that systemd does not load: the refusal is needed.
	odd := filepath.Join(t.TempDir(), "x\ufdd0y")
	if err := os.MkdirAll(odd, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(odd, "freshtoken"), []byte("#!/bin/sh\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(unit, []byte("[Service]\nExecStart="+filepath.Join(odd, "freshtoken")+" proxy\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := exec.Command(analyze, "verify", unit).Run(); err == nil {
		t.Error("systemd-analyze verify accepts a unit whose binary's path holds a noncharacter; refusing one is needless")
	}

	// A path refused wherever it is written (the configuration, the
	// binary, the token folder): a line break would add a line to the
	// unit, such as ExecStartPre=; a name in another encoding than UTF-8
	// (Latin-1's "\xe9") made systemd ignore the ExecStart= line ("String
	// is not UTF-8 clean"), and the unit installed did not load.
	for _, refused := range []struct {
		path, exe, want string
		says            func(msg string) bool
	}{
		{"/home/me/x\nExecStartPre=/bin/rm -rf /home/me\n#/config.toml", "/opt/x\x01/freshtoken", "the control character",
			func(msg string) bool { return strings.Contains(msg, "control character") }},
		{"/home/me/caf\xe9/config.toml", "/opt/caf\xe9/freshtoken", "the name that is not UTF-8",
			func(msg string) bool {
				return strings.Contains(msg, "not UTF-8") && strings.Contains(msg, `\xe9`) && utf8.ValidString(msg)
			}},
		// A noncharacter (U+FDD0 to U+FDEF, U+FFFE, U+FFFF and their
		// like in every plane) is UTF-8 to Go, but systemd takes the line
		// for not UTF-8 clean and ignores it, as above, and XML (a plist,
		// a task) may not hold one.
		{"/home/me/x\ufdd0y/config.toml", "/opt/x\ufffe/freshtoken", "the noncharacter",
			func(msg string) bool { return strings.Contains(msg, "noncharacter") && strings.Contains(msg, "U+") }},
		{"/home/me/x\U0010ffffy/config.toml", "/opt/x\ufdef/freshtoken", "the noncharacter",
			func(msg string) bool { return strings.Contains(msg, "noncharacter") && strings.Contains(msg, "U+") }},
	} {
		for _, goos := range []string{"linux", "darwin", "windows"} {
			// What to do: move a path, or set the variable otherwise (a
			// variable was said to be a path to move).
			for _, tc := range []struct {
				s   service.Spec
				fix string
			}{
				{service.Spec{Executable: exe, Args: []string{"--config", refused.path, "proxy"}, Home: "/home/me", User: "me"}, "keep freshtoken, its config file and its --log-file at paths"},
				{service.Spec{Executable: refused.exe, Args: []string{"proxy"}, Home: "/home/me", User: "me"}, "keep freshtoken, its config file and its --log-file at paths"},
				{service.Spec{Executable: exe, Args: []string{"proxy"}, Env: []string{"XDG_STATE_HOME=" + refused.path}, Home: "/home/me", User: "me"}, "set $XDG_STATE_HOME to a value"},
			} {
				p, err := service.For(goos, tc.s)
				if err == nil || !refused.says(err.Error()) || !strings.Contains(err.Error(), tc.fix) || strings.Contains(err.Error(), "\n") {
					t.Errorf("%s: err = %v, want one line refusing %s, saying to %s", goos, err, refused.want, tc.fix)
					if p != nil {
						t.Logf("%q", p.Text)
					}
				}
			}
		}
	}
	if _, err := service.For("linux", service.Spec{Executable: `/opt/it's/freshtoken`, Args: []string{"proxy"}, Home: "/home/me", User: "me"}); err == nil || !strings.Contains(err.Error(), "move freshtoken") {
		t.Errorf("a quote in the binary's path: err = %v, want it refused with what to do", err)
	}
}

// TestInstalledReadsBackWhatForWrote: install names the configuration a
// service it replaces ran with, and status the binary a service runs, each
// read back from the service's file however that file quotes the path, in
// a unit of today (the proxy's --wait-for-config after it) or of an
// earlier freshtoken (none). A Windows task's configuration was not read:
// installed from another configuration, the task was replaced without a
// word, and status spoke of this configuration as the service's.
func TestInstalledReadsBackWhatForWrote(t *testing.T) {
	for _, tc := range []struct {
		what   string
		paths  []string
		goos   []string
		spec   func(path string) service.Spec
		read   func(text string) string
		naught string // a file naming none
	}{
		{
			what:  "configuration",
			paths: []string{"/home/me/.config/freshtoken/config.toml", `/home/me/it's "50%" $HOME\config & <more>.toml`},
			goos:  []string{"linux", "darwin", "windows"},
			spec: func(conf string) service.Spec {
				return service.Spec{Executable: "/usr/bin/freshtoken", Args: []string{"--config", conf, "proxy", "--wait-for-config"}, Home: "/home/me", User: "me"}
			},
			read:   service.InstalledConfig,
			naught: "[Service]\nExecStart=/usr/bin/true\n",
		},
		{
			what:  "configuration of an earlier unit",
			paths: []string{"/home/me/.config/freshtoken/config.toml", `/home/me/it's "50%" $HOME\config & <more>.toml`},
			goos:  []string{"linux", "darwin", "windows"},
			spec: func(conf string) service.Spec {
				return service.Spec{Executable: "/usr/bin/freshtoken", Args: []string{"--config", conf, "proxy"}, Home: "/home/me", User: "me"}
			},
			read:   service.InstalledConfig,
			naught: "[Service]\nExecStart=/usr/bin/true\n",
		},
		{
			what:  "executable",
			paths: []string{"/usr/bin/freshtoken", "/home/me/my tools 100% $HOME & <more>/freshtoken"},
			goos:  []string{"linux", "darwin", "windows"},
			spec: func(exe string) service.Spec {
				return service.Spec{Executable: exe, Args: []string{"--config", "/home/me/c.toml", "proxy"}, Home: "/home/me", User: "me"}
			},
			read:   service.InstalledExecutable,
			naught: "[Unit]\nDescription=x\n",
		},
	} {
		for _, path := range tc.paths {
			for _, goos := range tc.goos {
				p, err := service.For(goos, tc.spec(path))
				if err != nil {
					t.Fatal(err)
				}
				if got := tc.read(p.Text); got != path {
					t.Errorf("%s: %s read back %q from:\n%s\nwant %q", goos, tc.what, got, p.Text, path)
				}
			}
		}
		if got := tc.read(tc.naught); got != "" {
			t.Errorf("a file naming no %s gave %q", tc.what, got)
		}
	}
}

// TestTaskSchedulerPathWithAVariable: Task Scheduler expands %NAME% in a
// task's command and arguments, with no escape for a path's own: a
// freshtoken or config at C:\%APPDATA%\… was run from another folder. It is
// refused, naming it; a lone % is a path's own and kept.
func TestTaskSchedulerPathWithAVariable(t *testing.T) {
	for _, tc := range []struct {
		exe, conf, refused string
	}{
		{`C:\Users\me\%APPDATA%\freshtoken.exe`, `C:\Users\me\c.toml`, "%APPDATA%"},
		{`C:\Users\me\freshtoken.exe`, `C:\Users\me\%USERNAME%.toml`, "%USERNAME%"},
		{`C:\Users\me\100% tools\freshtoken.exe`, `C:\Users\me\50% off.toml`, ""},
	} {
		p, err := service.For("windows", service.Spec{Executable: tc.exe, Args: []string{"--config", tc.conf, "proxy"}, Home: `C:\Users\me`, User: `PC\me`})
		switch {
		case tc.refused == "" && err != nil:
			t.Errorf("%s, %s: %v; want the task", tc.exe, tc.conf, err)
		case tc.refused == "" && !strings.Contains(p.Text, "100% tools"):
			t.Errorf("%s: the task lacks the path:\n%s", tc.exe, p.Text)
		case tc.refused != "" && (err == nil || !strings.Contains(err.Error(), "Task Scheduler would read "+tc.refused)):
			t.Errorf("%s, %s: %v; want it refused, naming %s", tc.exe, tc.conf, err, tc.refused)
		}
	}
}

// TestServiceLogsWhereInstallSaid: a service installed with a --log-file
// (`freshtoken --log-file PATH service install`) is said to log there, by
// install and by a later status run without it, on every system and
// however the file quotes the path; one installed without is said to log
// where its system keeps services' logs. The logging flags came from
// nowhere: status said "journalctl" of a service that logged to a file.
func TestServiceLogsWhereInstallSaid(t *testing.T) {
	exe := spec(t).Executable
	logging := func(logFile string) service.Spec {
		return service.Spec{Executable: exe, Args: []string{"--debug", "--log-format", "json", "--log-file", logFile, "--config", "/home/me/c.toml", "proxy", "--wait-for-config"}, Home: "/home/me", User: "me"}
	}
	for _, goos := range []string{"linux", "darwin", "windows"} {
		plain, err := service.For(goos, service.Spec{Executable: "/usr/bin/freshtoken", Args: []string{"--config", "/home/me/c.toml", "proxy", "--wait-for-config"}, Home: "/home/me", User: "me"})
		if err != nil {
			t.Fatal(err)
		}
		system := plain.Logs
		if got := plain.InstalledLogs(plain.Text); got != system {
			t.Errorf("%s: a service without --log-file is said to log to %q, want %q", goos, got, system)
		}
		paths := []string{"/home/me/freshtoken.log", "/home/me/my logs/100% & <more>.log"}
		if goos != "windows" { // a Windows path holds no quote, backslash-quote nor $
			paths = append(paths, `/home/me/it's "50%" $HOME\logs\x"`)
		}
		for _, path := range paths {
			p, err := service.For(goos, logging(path))
			if err != nil {
				t.Fatal(err)
			}
			if p.Logs != path {
				t.Errorf("%s: install says the log is %q, want %q", goos, p.Logs, path)
			}
			if got := plain.InstalledLogs(p.Text); got != path {
				t.Errorf("%s: status says the log is %q, want %q, of:\n%s", goos, got, path, p.Text)
			}
			if goos == "linux" {
				if err := analyze(t, p.Text); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
}

// analyze runs systemd-analyze verify on unit, a unit's text, and says
// what it finds at fault, or nil.
func analyze(t *testing.T, unit string) error {
	t.Helper()
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		testenv.Missing(t, "systemd-analyze is missing (Debian package systemd)")
	}
	path := filepath.Join(t.TempDir(), "freshtoken.service")
	if err := os.WriteFile(path, []byte(unit), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(analyze, "verify", path).CombinedOutput(); err != nil || len(strings.TrimSpace(string(out))) > 0 {
		return fmt.Errorf("systemd-analyze verify: %v\n%s\n%s", err, out, unit)
	}
	return nil
}

// TestRefusedLogFileSaysSo: a --log-file no service file can carry (a
// variable Task Scheduler would expand: PowerShell passes %TEMP% on as
// written; a line break) is refused with a word of the log file, which
// is what to move. The refusal spoke of freshtoken and its config file
// alone, both at paths that were fine.
func TestRefusedLogFileSaysSo(t *testing.T) {
	for _, tc := range []struct{ goos, log string }{
		{"windows", `C:\Users\me\%TEMP%\freshtoken.log`},
		{"linux", "/home/me/fresh\ntoken.log"},
	} {
		_, err := service.For(tc.goos, service.Spec{Executable: "/usr/bin/freshtoken", Args: []string{"--log-file", tc.log, "--config", "/home/me/c.toml", "proxy"}, Home: "/home/me", User: "me"})
		if err == nil || !strings.Contains(err.Error(), "--log-file") {
			t.Errorf("%s, --log-file %q: %v; want it refused, saying to move the log file", tc.goos, tc.log, err)
		}
	}
}

// TestHandEditedSeesAVariableTheNewUnitDrops: a unit setting a variable an
// install may carry (an office proxy, quoted as systemd's documentation
// writes it, added by `systemctl --user edit --full`; or carried by an
// install run where it was set) that the new unit does not set is one
// whose settings the new file drops: it passed for an install's own, and
// an install run where $HTTPS_PROXY is not set dropped the office proxy
// without a word, the service's renewals failing. A variable the new unit
// sets too, to another value, is an install's to rewrite.
func TestHandEditedSeesAVariableTheNewUnitDrops(t *testing.T) {
	carried := func(name, value string) bool { return !strings.Contains(value, "@") }
	plan := func(env ...string) *service.Plan {
		p, err := service.For("linux", service.Spec{Executable: "/usr/bin/freshtoken", Args: []string{"--config", "/c.toml", "proxy"}, Home: "/home/me", User: "me", Env: env})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	withVar := func(p *service.Plan, line string) string {
		return strings.Replace(p.Text, "[Service]\n", "[Service]\n"+line+"\n", 1)
	}
	for _, tc := range []struct {
		name      string
		p         *service.Plan
		installed string
		want      bool
	}{
		{"an office proxy the new unit lacks", plan(), withVar(plan(), `Environment="HTTPS_PROXY=http://proxy.corp:3128"`), true},
		{"a token folder the new unit lacks", plan(), withVar(plan(), `Environment="XDG_STATE_HOME=/srv/state"`), true},
		{"an office proxy the new unit sets otherwise", plan("HTTPS_PROXY=http://other:3128"), withVar(plan(), `Environment="HTTPS_PROXY=http://proxy.corp:3128"`), false},
		{"a token folder the new unit sets otherwise", plan("XDG_STATE_HOME=/new"), plan("XDG_STATE_HOME=/old").Text, false},
		{"the new unit", plan("HTTPS_PROXY=http://other:3128"), plan("HTTPS_PROXY=http://other:3128").Text, false},
	} {
		if got := tc.p.HandEdited(tc.installed, carried); got != tc.want {
			t.Errorf("%s: HandEdited = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestHandEditedKnowsAnotherFreshtokensUnit: a unit another freshtoken
// wrote, as it recorded it (its settings' digest), is no unit edited by
// hand, whatever lines this one writes that it lacks or that it holds and
// this one does not: each line a later freshtoken added to the unit had to
// be listed by hand (addedSince), or every install over an earlier unit
// kept it as edited, saying the person had edited it. Edited after it was
// written, a line taken out or added, it is edited still.
func TestHandEditedKnowsAnotherFreshtokensUnit(t *testing.T) {
	p, err := service.For("linux", service.Spec{Executable: "/usr/bin/freshtoken", Args: []string{"--config", "/c.toml", "proxy"}, Home: "/home/me", User: "me", Env: []string{"XDG_STATE_HOME=/state"}})
	if err != nil {
		t.Fatal(err)
	}
	// as written records text's own settings, as the freshtoken that wrote
	// it did.
	asWritten := func(text string) string {
		first, rest, _ := strings.Cut(text, ")")
		return first[:strings.LastIndex(first, ":")+1] + service.SettingsDigest(text) + ")" + rest
	}
	edit := func(text, from, to string) string {
		if !strings.Contains(text, from) {
			t.Fatalf("the unit has no %q", from)
		}
		return strings.Replace(text, from, to, 1)
	}
	for _, tc := range []struct {
		name, installed string
		want            bool
	}{
		{"an earlier freshtoken's, without a line added since", asWritten(edit(p.Text, "RestartSec=5s\n", "")), false},
		{"a later freshtoken's, with a line of its own", asWritten(edit(p.Text, "Type=simple\n", "Type=simple\nTimeoutStopSec=30s\n")), false},
		{"an earlier freshtoken's, a line taken out by hand", edit(asWritten(edit(p.Text, "RestartSec=5s\n", "")), "Restart=on-failure\n", ""), true},
		{"an earlier freshtoken's, a limit added by hand", edit(asWritten(edit(p.Text, "RestartSec=5s\n", "")), "[Service]\n", "[Service]\nLimitNOFILE=4096\n"), true},
		{"an earlier freshtoken's, an office proxy added by hand", edit(asWritten(edit(p.Text, "RestartSec=5s\n", "")), "[Service]\n", "[Service]\nEnvironment=\"HTTPS_PROXY=http://proxy:3128\"\n"), true},
		{"this one's", p.Text, false},
	} {
		if got := p.HandEdited(tc.installed, func(string, string) bool { return true }); got != tc.want {
			t.Errorf("%s: HandEdited = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestHandEditedSeesALineTakenOut: a unit with a line of freshtoken's
// taken out (Restart=, to keep a failing proxy stopped; the [Install]
// section) holds settings of the person's own: it passed for an
// install's own, and the next install put the line back without a word.
// A unit an earlier freshtoken wrote, which lacks a line added since, and
// no unit at all, are not edited.
func TestHandEditedSeesALineTakenOut(t *testing.T) {
	p, err := service.For("linux", service.Spec{Executable: "/usr/bin/freshtoken", Args: []string{"--config", "/c.toml", "proxy"}, Home: "/home/me", User: "me"})
	if err != nil {
		t.Fatal(err)
	}
	without := func(lines ...string) string {
		text := p.Text
		for _, l := range lines {
			if !strings.Contains(text, l+"\n") {
				t.Fatalf("the unit has no line %q", l)
			}
			text = strings.Replace(text, l+"\n", "", 1)
		}
		return text
	}
	for _, tc := range []struct {
		name, installed string
		want            bool
	}{
		{"a restart taken out", without("Restart=on-failure"), true},
		{"the [Install] section taken out", without("[Install]", "WantedBy=default.target"), true},
		{"an earlier freshtoken's unit", without("# A hang-up (kill -HUP, which daemons take as \"reload\") restarts it.", "RestartForceExitStatus=129"), false},
		{"no unit", "", false},
		{"the new unit", p.Text, false},
	} {
		if got := p.HandEdited(tc.installed, func(string, string) bool { return true }); got != tc.want {
			t.Errorf("%s: HandEdited = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestTaskStartsAtThisUsersLogOnAlone: the Task Scheduler task starts at
// the log-on of the user who installed it, and runs as them, only while
// they are logged on (Microsoft's task schema: a LogonTrigger's UserId, a
// Principal of LogonType InteractiveToken, which the actions run as). Its
// LogonTrigger named no user and it had no Principal, so it started at
// any user's log-on. The user is named by their SID, which a renamed
// account keeps; a name is escaped as XML (R&D). Without a user the file
// is not to be written, and the plan still serves to stop, remove and ask
// about the task installed: uninstall and status were refused too.
func TestTaskStartsAtThisUsersLogOnAlone(t *testing.T) {
	for _, user := range []string{"S-1-5-21-1004336348-1177238915-682003330-1001", `CORP\R&D`} {
		var task struct {
			Trigger struct {
				UserID string `xml:"UserId"`
			} `xml:"Triggers>LogonTrigger"`
			Principals []struct {
				ID        string `xml:"id,attr"`
				UserID    string `xml:"UserId"`
				LogonType string
				RunLevel  string
			} `xml:"Principals>Principal"`
			Actions struct {
				Context string `xml:",attr"`
			}
		}
		s := spec(t)
		s.User = user
		p, err := service.For("windows", s)
		if err != nil || p.Unwritable != nil {
			t.Fatal(err, p.Unwritable)
		}
		if err := xml.Unmarshal([]byte(p.Text), &task); err != nil {
			t.Fatalf("%v\n%s", err, p.Text)
		}
		if task.Trigger.UserID != s.User || service.ForAnyUser(p.Text) {
			t.Errorf("the log-on trigger names user %q; want %q, lest it start at any user's log-on:\n%s", task.Trigger.UserID, s.User, p.Text)
		}
		if len(task.Principals) != 1 || task.Principals[0].UserID != s.User || task.Principals[0].LogonType != "InteractiveToken" ||
			task.Principals[0].RunLevel != "LeastPrivilege" || task.Actions.Context != task.Principals[0].ID {
			t.Errorf("principals %+v, actions run as %q; want the actions run as %q, interactive token, least privilege:\n%s", task.Principals, task.Actions.Context, s.User, p.Text)
		}
	}
	s := spec(t)
	s.User = ""
	p, err := service.For("windows", s)
	if err != nil {
		t.Fatalf("a task for no user: %v; want a plan to stop, remove and ask about the one installed", err)
	}
	if p.Unwritable == nil || !strings.Contains(p.Unwritable.Error(), "needs the user it is for") {
		t.Errorf("a task for no user: %v; want its file not to be written", p.Unwritable)
	}
	if p.Path == "" || len(p.Stop) == 0 || len(p.Status) == 0 || service.InstalledExecutable(p.Text) != s.Executable {
		t.Errorf("a task for no user: %+v; want its file's path, its commands, and the binary it runs", p)
	}
}

// TestOlderTaskForAnyUserIsFound: a task file an older freshtoken wrote,
// whose log-on trigger names no user (it starts at any user's log-on), is
// told from one for one user.
func TestOlderTaskForAnyUserIsFound(t *testing.T) {
	s := spec(t)
	s.User = "S-1-5-21-1004336348-1177238915-682003330-1001"
	p, err := service.For("windows", s)
	if err != nil {
		t.Fatal(err)
	}
	older := strings.NewReplacer("      <UserId>"+s.User+"</UserId>\n    </LogonTrigger>", "    </LogonTrigger>").Replace(p.Text)
	for _, tc := range []struct {
		name, text string
		want       bool
	}{
		{"this freshtoken's", p.Text, false},
		{"an older freshtoken's", older, true},
		{"an empty user", strings.Replace(p.Text, "<UserId>"+s.User+"</UserId>", "<UserId> </UserId>", 1), true},
		{"no log-on trigger", "<Task><Triggers><BootTrigger/></Triggers></Task>", false},
		{"not a task", "[Unit]\n", false},
	} {
		if got := service.ForAnyUser(tc.text); got != tc.want {
			t.Errorf("%s: ForAnyUser = %v, want %v:\n%s", tc.name, got, tc.want, tc.text)
		}
	}
	if older == p.Text {
		t.Fatal("the older task was not made")
	}
}
