package cli

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken/internal/service"
	"github.com/freshtoken/freshtoken/internal/testdisk"
	"github.com/freshtoken/freshtoken/internal/testenv"
)

// hungManager is a service manager's command (systemctl, launchctl,
// schtasks) that never answers, as a user's systemd that hangs: it marks
// that it started, leaves a child holding its output, and sleeps. The
// children are ended when the test ends.
func hungManager(t *testing.T) (cmd, started string) {
	t.Helper()
	dir := t.TempDir()
	cmd, started = filepath.Join(dir, "systemctl"), filepath.Join(dir, "started")
	pids := filepath.Join(dir, "pids")
	script := "#!/bin/sh\nsleep 1000 & echo $! >> " + pids + "\necho $$ >> " + pids + "\ntouch " + started + "\nexec sleep 1000\n"
	if err := os.WriteFile(cmd, []byte(script), 0o700); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		b, _ := os.ReadFile(pids)
		for _, pid := range strings.Fields(string(b)) {
			if n, err := strconv.Atoi(pid); err == nil {
				if p, err := os.FindProcess(n); err == nil {
					p.Kill()
				}
			}
		}
	})
	return cmd, started
}

// ctrlC ends the command's context, as Ctrl-C does, once the service
// manager's command has started.
func ctrlC(t *testing.T, cancel context.CancelFunc, started string) {
	t.Helper()
	defer cancel()
	testenv.WaitFor(t, "the service manager's command to start", func() bool { _, err := os.Stat(started); return err == nil })
}

// TestServiceCommandsEndWithTheCommand: a service manager's command that
// does not answer is stopped once its time is up, saying which command did
// not answer, and at Ctrl-C (the command's context ending), saying which
// was stopped: freshtoken waited for it for ever, Ctrl-C or not. Stopped
// at Ctrl-C, `service uninstall` keeps the service's file and says to run
// it again.
func TestServiceCommandsEndWithTheCommand(t *testing.T) {
	t.Run("no answer in time", func(t *testing.T) {
		hung, _ := hungManager(t)
		// A short limit: the hung command is what this test means to see cut off.
		err := runAll(t.Context(), testFactory(), 200*time.Millisecond, [][]string{{hung, "--user", "daemon-reload"}})
		want := "`" + hung + " --user daemon-reload` did not answer within 200ms, and was stopped"
		if err == nil || err.Error() != want || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("runAll: %v; want %q", err, want)
		}
	})
	t.Run("where systemd reads units", func(t *testing.T) {
		// The question install, uninstall and status ask first, with
		// another $XDG_CONFIG_HOME: a manager that does not answer was
		// taken for none, the unit put in the home folder's .config
		// without a word, and each systemctl after waited as long again.
		hung, _ := hungManager(t)
		t.Setenv("PATH", filepath.Dir(hung)+string(filepath.ListSeparator)+os.Getenv("PATH"))
		home := t.TempDir()
		t.Setenv("XDG_CONFIG_HOME", filepath.Join(home, "elsewhere"))
		_, err := unitsConfigHome(t.Context(), testFactory(), home, 200*time.Millisecond)
		want := "could not ask systemd where it reads units (`systemctl --user show --property=UnitPath --value` did not answer within 200ms, and was stopped); nothing was changed: run the same command again once your user's systemd answers (`systemctl --user status`)"
		if err == nil || err.Error() != want || ExitCode(err) != 2 {
			t.Fatalf("unitsConfigHome: %v (exit %d); want %q, exit 2", err, ExitCode(err), want)
		}
	})
	t.Run("Ctrl-C while asking where systemd reads units", func(t *testing.T) {
		hung, started := hungManager(t)
		t.Setenv("PATH", filepath.Dir(hung)+string(filepath.ListSeparator)+os.Getenv("PATH"))
		home := t.TempDir()
		t.Setenv("XDG_CONFIG_HOME", filepath.Join(home, "elsewhere"))
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() {
			_, err := unitsConfigHome(ctx, testFactory(), home, time.Hour)
			done <- err
		}()
		ctrlC(t, cancel, started)
		err := <-done
		want := "`systemctl --user show --property=UnitPath --value` was stopped before it answered; nothing was changed: run the same command again"
		if err == nil || err.Error() != want || !errors.Is(err, context.Canceled) {
			t.Fatalf("unitsConfigHome: %v; want %q", err, want)
		}
	})
	t.Run("Ctrl-C", func(t *testing.T) {
		hung, started := hungManager(t)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() {
			done <- runAll(ctx, testFactory(), time.Hour, [][]string{{hung, "--user", "daemon-reload"}, {"true"}})
		}()
		ctrlC(t, cancel, started)
		err := <-done
		want := "`" + hung + " --user daemon-reload` was stopped before it answered"
		if err == nil || err.Error() != want || !errors.Is(err, context.Canceled) {
			t.Fatalf("runAll: %v; want %q", err, want)
		}
	})
	t.Run("uninstall at Ctrl-C", func(t *testing.T) {
		hung, started := hungManager(t)
		unit := filepath.Join(t.TempDir(), "freshtoken.service")
		if err := os.WriteFile(unit, []byte("[Unit]\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		f := testFactory()
		done := make(chan error, 1)
		go func() {
			done <- uninstallService(ctx, &serviceOptions{f: f}, &service.Plan{Path: unit, Stop: [][]string{{hung, "--user", "disable", "--now", "freshtoken.service"}}})
		}()
		ctrlC(t, cancel, started)
		err := <-done
		want := "`" + hung + " --user disable --now freshtoken.service` was stopped before it answered; " + unit + " is kept: run `freshtoken service uninstall` again to finish"
		if err == nil || err.Error() != want || !errors.Is(err, context.Canceled) {
			t.Fatalf("uninstall: %v; want %q", err, want)
		}
		if _, err := os.Stat(unit); err != nil {
			t.Errorf("the service's file: %v; want it kept", err)
		}
		if said := f.IO.ErrOut.(*bytes.Buffer).String(); said != "" {
			t.Errorf("stderr: %q", said)
		}
	})
}

// TestServiceManagersWordsAreMasked: the first line a failing service
// manager's command printed, quoted in the error, showed a token in it
// whole (a unit's Environment=API_TOKEN=… that systemd quotes back); its
// words shaped like secrets are masked (redact.FreeText), the rest kept.
func TestServiceManagersWordsAreMasked(t *testing.T) {
	const token = "ghp_R8nT2vXk5LmQ9wYb3HcZ7dJf1sGpA4eUo6Ni"
	manager, err := daemonReloadWith(t, "echo 'freshtoken.service: bad setting Environment=API_TOKEN="+token+" in line 9'\necho second line\nexit 1")
	want := manager + " --user daemon-reload: exit status 1 freshtoken.service: bad setting Environment=API_TOKEN=ghp_R8nT…(40 chars) in line 9"
	if err == nil || err.Error() != want {
		t.Fatalf("runAll: %v; want %q", err, want)
	}
}

// TestServiceManagerFailingInSilence: a service manager's command that
// fails printing nothing is quoted with its exit status alone; the space
// its words would have followed was left before the closing parenthesis
// ("could not start it (systemctl --user daemon-reload: exit status 1 )").
func TestServiceManagerFailingInSilence(t *testing.T) {
	manager, err := daemonReloadWith(t, "exit 1")
	want := manager + " --user daemon-reload: exit status 1"
	if err == nil || err.Error() != want {
		t.Fatalf("runAll: %q; want %q", err, want)
	}
}

// daemonReloadWith runs `systemctl --user daemon-reload` as runAll does,
// with a systemctl that runs script, and returns that systemctl's path and
// runAll's error.
func daemonReloadWith(t *testing.T, script string) (manager string, err error) {
	t.Helper()
	manager = filepath.Join(t.TempDir(), "systemctl")
	if err := os.WriteFile(manager, []byte("#!/bin/sh\n"+script+"\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	return manager, runAll(t.Context(), testFactory(), time.Minute, [][]string{{manager, "--user", "daemon-reload"}})
}

// TestServiceStatusNamesTheConfig: `service status` run with --config
// suggests the install of that configuration, when no service is
// installed or the service manager says it is not running: it said
// `freshtoken service install`, which installs the default configuration's
// service (or fails, with none there), not the one the user checked.
func TestServiceStatusNamesTheConfig(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "my config.toml")
	want := "`freshtoken --config '" + conf + "' service install`"
	t.Run("not installed", func(t *testing.T) {
		f := testFactory()
		f.ConfigFlag = conf
		if err := serviceStatus(t.Context(), &serviceOptions{f: f}, &service.Plan{Path: filepath.Join(dir, "none.service")}); err != nil {
			t.Fatal(err)
		}
		if said := f.IO.Out.(*bytes.Buffer).String(); !strings.Contains(said, want) {
			t.Errorf("stdout: %q; want it to suggest %s", said, want)
		}
	})
	t.Run("not running", func(t *testing.T) {
		unit := filepath.Join(dir, "freshtoken.service")
		if err := os.WriteFile(unit, []byte("[Unit]\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		f := testFactory()
		f.ConfigFlag = conf
		p := &service.Plan{System: "systemd", Path: unit, Status: []string{"sh", "-c", "exit 3"}, NotRunning: 3}
		if err := serviceStatus(t.Context(), &serviceOptions{f: f}, p); err != nil {
			t.Fatal(err)
		}
		if said := f.IO.ErrOut.(*bytes.Buffer).String(); !strings.Contains(said, want) {
			t.Errorf("stderr: %q; want it to suggest %s", said, want)
		}
	})
}

// TestServiceOfAnotherConfigIsSaid: `service status` and `service
// uninstall` run with one configuration while the service runs another
// say so: status said "installed" and the manager's "running", which a
// person checking that this configuration's environments are kept alive
// took for yes; uninstall removed the other configuration's service
// without a word.
func TestServiceOfAnotherConfigIsSaid(t *testing.T) {
	dir := t.TempDir()
	ours, theirs := filepath.Join(dir, "ours.toml"), filepath.Join(dir, "theirs.toml")
	usableConfig(t, theirs) // status says nothing of it
	plan := func(conf string) *service.Plan {
		t.Helper()
		p, err := service.For("linux", service.Spec{Executable: "/usr/bin/freshtoken", Args: []string{"--config", conf, "proxy", waitForConfig}, Home: dir})
		if err != nil {
			t.Fatal(err)
		}
		p.Status, p.Stop = []string{"true"}, [][]string{{"true"}}
		return p
	}
	installed := plan(theirs)
	write := func() {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(installed.Path), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(installed.Path, []byte(installed.Text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// run runs do with the configuration conf, and returns what it said.
	run := func(t *testing.T, conf string, do func(*serviceOptions) error) string {
		t.Helper()
		f := testFactory()
		f.ConfigFlag = conf
		if err := do(&serviceOptions{f: f}); err != nil {
			t.Fatal(err)
		}
		return f.IO.ErrOut.(*bytes.Buffer).String()
	}
	t.Run("status", func(t *testing.T) {
		write()
		said := run(t, ours, func(o *serviceOptions) error { return serviceStatus(t.Context(), o, plan(ours)) })
		if !strings.Contains(said, "another configuration ("+theirs+")") || !strings.Contains(said, "`freshtoken --config "+ours+" service install`") {
			t.Errorf("stderr: %q; want the other configuration named, and the install of this one", said)
		}
		if said := run(t, theirs, func(o *serviceOptions) error { return serviceStatus(t.Context(), o, plan(theirs)) }); said != "" {
			t.Errorf("stderr of the status of the installed configuration: %q", said)
		}
	})
	t.Run("uninstall", func(t *testing.T) {
		write()
		said := run(t, ours, func(o *serviceOptions) error { return uninstallService(t.Context(), o, plan(ours)) })
		if !strings.Contains(said, "another configuration ("+theirs+")") {
			t.Errorf("stderr: %q; want the other configuration named", said)
		}
	})
	// The installed configuration named by another path (the default
	// config.toml a link into dotfiles, or a linked folder on the way) is
	// the same file, not another configuration: status said its
	// environments were kept alive by no service, and install that it
	// replaced another's service.
	t.Run("the same file by another name", func(t *testing.T) {
		linked, folder := filepath.Join(dir, "linked.toml"), filepath.Join(dir, "folder")
		if err := os.Symlink(theirs, linked); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(dir, folder); err != nil {
			t.Fatal(err)
		}
		for _, conf := range []string{linked, filepath.Join(folder, "theirs.toml")} {
			write()
			if said := run(t, conf, func(o *serviceOptions) error { return serviceStatus(t.Context(), o, plan(conf)) }); said != "" {
				t.Errorf("status through %s: stderr %q; want nothing said of another configuration", conf, said)
			}
			if said := run(t, conf, func(o *serviceOptions) error { return uninstallService(t.Context(), o, plan(conf)) }); strings.Contains(said, "another configuration") {
				t.Errorf("uninstall through %s: stderr %q; want nothing said of another configuration", conf, said)
			}
		}
	})
}

// TestServiceInstallOnAFullDiskKeepsTheService: an install (with another
// configuration, or after moving the binary) whose file cannot be written
// whole, the disk being full, leaves the installed service's file as it
// was, and says so in one line, exit 2: the file was emptied first, and
// the service already installed no longer loaded at the next daemon-reload
// or log-in, while freshtoken exited 1 with Go's error.
func TestServiceInstallOnAFullDiskKeepsTheService(t *testing.T) {
	home := testdisk.SmallFolder(t, "64k")
	dir := t.TempDir()
	plan := func(conf string) *service.Plan {
		t.Helper()
		if err := os.WriteFile(conf, []byte("[env.dev]\nprovider = \"freeagent-sandbox\"\nclient_id = \"id\"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		p, err := service.For("linux", service.Spec{Executable: "/usr/bin/freshtoken", Args: []string{"--config", conf, "proxy"}, Home: home})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	install := func(conf string) (string, error) {
		f := testFactory()
		f.ConfigFlag = conf
		err := installService(t.Context(), &serviceOptions{f: f, FilesOnly: true}, plan(conf))
		return f.IO.ErrOut.(*bytes.Buffer).String(), err
	}
	// Ours is at a long path, so that its unit takes more of the disk than
	// the one it replaces frees.
	long := dir
	for range 15 {
		long = filepath.Join(long, strings.Repeat("d", 240))
	}
	if err := os.MkdirAll(long, 0o700); err != nil {
		t.Fatal(err)
	}
	theirs, ours := filepath.Join(dir, "theirs.toml"), filepath.Join(long, "ours.toml")
	if _, err := install(theirs); err != nil {
		t.Fatal(err)
	}
	installed := plan(theirs)
	testdisk.Fill(t, filepath.Join(filepath.Dir(home), "x"))
	said, err := install(ours)
	if strings.Contains(said, "now runs") {
		t.Errorf("stderr %q says the service now runs the other configuration", said)
	}
	if err == nil || ExitCode(err) != 2 || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), "the disk is full") || !strings.Contains(err.Error(), "as it was") {
		t.Errorf("install on a full disk: %v (exit %d); want one line saying the disk is full and the service is as it was, exit 2", err, ExitCode(err))
	}
	if b, err := os.ReadFile(installed.Path); err != nil || string(b) != installed.Text {
		t.Errorf("the installed unit now holds %q, %v; want it as it was", b, err)
	}
	if names := testenv.Names(t, filepath.Dir(installed.Path)); len(names) != 1 {
		t.Errorf("the unit's folder holds %q; want the unit alone", names)
	}
}

// TestServiceOfAnotherBinaryIsSaid: `service status` run by a freshtoken
// other than the one the service runs (installed elsewhere since: a
// package beside a `go install`) says so, and how to make the service run
// this one: it said "installed" and the manager's "running", while the
// service ran the old version beside newer commands, which the upgrade
// watch, seeing its own file unchanged, never replaced. Another link to
// the same file is no other binary.
func TestServiceOfAnotherBinaryIsSaid(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "config.toml")
	usableConfig(t, conf) // status says nothing of it
	old, ours, link := filepath.Join(dir, "old", "freshtoken"), filepath.Join(dir, "new", "freshtoken"), filepath.Join(dir, "link")
	for _, exe := range []string{old, ours} {
		if err := os.MkdirAll(filepath.Dir(exe), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(exe, []byte("#!/bin/sh\n# "+exe+"\n"), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(ours, link); err != nil {
		t.Fatal(err)
	}
	plan := func(exe string) *service.Plan {
		t.Helper()
		p, err := service.For("linux", service.Spec{Executable: exe, Args: []string{"--config", conf, "proxy", waitForConfig}, Home: dir})
		if err != nil {
			t.Fatal(err)
		}
		p.Status = []string{"true"}
		return p
	}
	status := func(installed, running string) string {
		t.Helper()
		p := plan(installed)
		if err := os.MkdirAll(filepath.Dir(p.Path), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p.Path, []byte(p.Text), 0o600); err != nil {
			t.Fatal(err)
		}
		f := testFactory()
		f.ConfigFlag = conf
		if err := serviceStatus(t.Context(), &serviceOptions{f: f}, plan(running)); err != nil {
			t.Fatal(err)
		}
		return f.IO.ErrOut.(*bytes.Buffer).String()
	}
	if said := status(old, ours); !strings.Contains(said, "the service runs "+old+", not this freshtoken ("+ours+")") || !strings.Contains(said, "service install`") {
		t.Errorf("stderr: %q; want the other binary named, and the install that makes it run this one", said)
	}
	if said := status(ours, ours); said != "" {
		t.Errorf("stderr of the status of the binary installed: %q", said)
	}
	if said := status(link, ours); said != "" {
		t.Errorf("stderr of the status by another link to the binary installed: %q", said)
	}
}

// usableConfig writes a configuration the proxy can start with at path.
func usableConfig(t *testing.T, path string) {
	t.Helper()
	if err := os.WriteFile(path, []byte("[env.sandbox]\nprovider = \"freeagent-sandbox\"\nclient_id = \"x\"\nclient_secret_env = \"S\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
}

// systemdUnitFor is the systemd unit an install writes for a usable
// configuration conf in the home folder dir, both made for the test.
func systemdUnitFor(t *testing.T) (dir, conf string, p *service.Plan) {
	t.Helper()
	dir = t.TempDir()
	conf = filepath.Join(dir, "config.toml")
	usableConfig(t, conf)
	p, err := service.For("linux", service.Spec{Executable: "/usr/bin/freshtoken", Args: []string{"--config", conf, "proxy", waitForConfig}, Home: dir})
	if err != nil {
		t.Fatal(err)
	}
	return dir, conf, p
}

// TestServiceInstallKeepsAUnitEditedByHand: `service install` over a unit
// holding settings of the person's own (`systemctl --user edit --full`'s: a
// proxy flag, an office proxy with its password, a limit, a line taken
// out) keeps the old
// file beside it, 0600, and says so and where such settings belong: they
// were dropped without a word, the proxy moving back to its default
// address and losing the office proxy; so does a unit setting a variable
// an install carries (an office proxy) that this install does not set. A
// unit as an install writes it, with another configuration, is replaced
// as before, nothing kept.
func TestServiceInstallKeepsAUnitEditedByHand(t *testing.T) {
	dir, conf, p := systemdUnitFor(t)
	other, err := service.For("linux", service.Spec{Executable: "/opt/freshtoken", Args: []string{"--debug", "--config", filepath.Join(dir, "other.toml"), "proxy"}, Home: dir})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, installed string
		kept            bool
	}{
		{"a proxy flag", strings.Replace(p.Text, waitForConfig, waitForConfig+" --listen 127.0.0.1:9999", 1), true},
		{"an office proxy", strings.Replace(p.Text, "[Service]\n", "[Service]\nEnvironment=HTTPS_PROXY=http://me:hunter2@proxy:3128\n", 1), true},
		{"an office proxy, quoted", strings.Replace(p.Text, "[Service]\n", "[Service]\nEnvironment=\"HTTPS_PROXY=http://me:hunter2@proxy:3128\"\n", 1), true},
		{"a limit", strings.Replace(p.Text, "[Service]\n", "[Service]\nLimitNOFILE=4096\n", 1), true},
		{"a restart taken out", strings.Replace(p.Text, "Restart=on-failure\n", "", 1), true},
		{"an earlier install's office proxy, not set here", strings.Replace(p.Text, "[Service]\n", "[Service]\nEnvironment=\"HTTPS_PROXY=http://proxy:3128\"\n", 1), true},
		{"an install's own", p.Text, false},
		{"another configuration's install", other.Text, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := os.MkdirAll(filepath.Dir(p.Path), 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p.Path, []byte(tc.installed), 0o600); err != nil {
				t.Fatal(err)
			}
			os.Remove(p.Path + ".edited")
			f := testFactory()
			f.ConfigFlag = conf
			if err := installService(t.Context(), &serviceOptions{f: f, FilesOnly: true}, p); err != nil {
				t.Fatal(err)
			}
			said := f.IO.ErrOut.(*bytes.Buffer).String()
			if b, err := os.ReadFile(p.Path); err != nil || string(b) != p.Text {
				t.Errorf("the unit holds %q, %v; want the new one", b, err)
			}
			kept, err := os.ReadFile(p.Path + ".edited")
			switch {
			case tc.kept && (err != nil || string(kept) != tc.installed):
				t.Errorf("the edited unit kept as %q, %v; want it whole", kept, err)
			case tc.kept && !strings.Contains(said, "held settings of your own (edited by hand") || tc.kept && !strings.Contains(said, "systemctl --user edit freshtoken.service"):
				t.Errorf("stderr %q; want it to say the edited unit was kept, and where such settings belong", said)
			case tc.kept && strings.Contains(said, "hunter2"):
				t.Errorf("stderr %q shows the office proxy's password", said)
			case !tc.kept && (err == nil || strings.Contains(said, "your own")):
				t.Errorf("a unit an install wrote was kept (%v), stderr %q; want it replaced, nothing said of edits", err, said)
			}
			if fi, err := os.Stat(p.Path + ".edited"); tc.kept && (err != nil || fi.Mode().Perm() != 0o600) {
				t.Errorf("the kept unit: %v, %v; want mode 0600", fi, err)
			}
		})
	}
	// Uninstall leaves the kept file, which may hold a password, and says so.
	if err := os.WriteFile(p.Path+".edited", []byte(p.Text), 0o600); err != nil {
		t.Fatal(err)
	}
	f := testFactory()
	f.ConfigFlag = conf
	if err := uninstallService(t.Context(), &serviceOptions{f: f, FilesOnly: true}, p); err != nil {
		t.Fatal(err)
	}
	if said := f.IO.ErrOut.(*bytes.Buffer).String(); !strings.Contains(said, "Kept "+p.Path+".edited") {
		t.Errorf("uninstall said %q; want it to name the edited unit it keeps", said)
	}
}

// TestServiceInstallKeepsEveryEditedUnit: a second `service install` over
// a unit edited by hand again (a proxy flag added after the first install
// kept an office proxy's line) keeps the new edits beside the ones kept
// before, under a name of their own, and --dry-run names it: the second
// install wrote over freshtoken.service.edited, and the first edits,
// never moved into a drop-in, were lost. The same edits kept again are
// kept once; uninstall names every copy it leaves, and so does
// uninstall --dry-run, with the drop-ins it would leave too.
func TestServiceInstallKeepsEveryEditedUnit(t *testing.T) {
	_, conf, p := systemdUnitFor(t)
	if err := os.MkdirAll(filepath.Dir(p.Path), 0o700); err != nil {
		t.Fatal(err)
	}
	first := strings.Replace(p.Text, "[Service]\n", "[Service]\nEnvironment=HTTPS_PROXY=http://me:hunter2@proxy:3128\n", 1)
	second := strings.Replace(p.Text, waitForConfig, waitForConfig+" --listen 127.0.0.1:9999", 1)
	install := func(edited string, dryRun bool) string {
		t.Helper()
		if err := os.WriteFile(p.Path, []byte(edited), 0o600); err != nil {
			t.Fatal(err)
		}
		f := testFactory()
		f.ConfigFlag = conf
		if err := installService(t.Context(), &serviceOptions{f: f, FilesOnly: true, DryRun: dryRun}, p); err != nil {
			t.Fatal(err)
		}
		return f.IO.ErrOut.(*bytes.Buffer).String()
	}
	install(first, false)
	install(first, false) // the same edits again: nothing more kept
	if said := install(second, true); !strings.Contains(said, "it would be kept as "+p.Path+".edited.2.") {
		t.Errorf("--dry-run said %q; want it to name %s.edited.2, as the first edits are kept as %[2]s.edited", said, p.Path)
	}
	said := install(second, false)
	for name, want := range map[string]string{".edited": first, ".edited.2": second} {
		b, err := os.ReadFile(p.Path + name)
		if err != nil || string(b) != want {
			t.Errorf("%s holds %q, %v; want %q", name, b, err, want)
		}
		if fi, err := os.Stat(p.Path + name); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v, %v; want mode 0600", name, fi, err)
		}
	}
	if !strings.Contains(said, "kept as "+p.Path+".edited.2:") {
		t.Errorf("install said %q; want it to name %s.edited.2", said, p.Path)
	}
	if _, err := os.Stat(p.Path + ".edited.3"); err == nil {
		t.Error("the same edits were kept twice")
	}
	if err := os.Mkdir(p.Additions, 0o700); err != nil {
		t.Fatal(err)
	}
	f := testFactory()
	f.ConfigFlag = conf
	if err := uninstallService(t.Context(), &serviceOptions{f: f, DryRun: true}, p); err != nil {
		t.Fatal(err)
	}
	planned := f.IO.Out.(*bytes.Buffer).String()
	for _, kept := range []string{p.Path + ".edited,", p.Path + ".edited.2,", p.Additions + ","} {
		if !strings.Contains(planned, "# would keep "+kept) {
			t.Errorf("uninstall --dry-run printed %q; want it to name %s, which it would keep", planned, strings.TrimSuffix(kept, ","))
		}
	}
	f = testFactory()
	f.ConfigFlag = conf
	if err := uninstallService(t.Context(), &serviceOptions{f: f, FilesOnly: true}, p); err != nil {
		t.Fatal(err)
	}
	said = f.IO.ErrOut.(*bytes.Buffer).String()
	for _, name := range []string{".edited", ".edited.2"} {
		if !strings.Contains(said, p.Path+name+",") && !strings.Contains(said, p.Path+name+" ") {
			t.Errorf("uninstall said %q; want it to name %s%s, which it keeps", said, p.Path, name)
		}
	}
}

// TestServiceWithoutTheUser: where this user cannot be told (on Windows,
// the process's token unreadable), install says why and writes nothing,
// while uninstall and status, which need no user, work: all three were
// refused, the reason dropped. And status points out a task an older
// freshtoken installed, which starts at any user's log-on.
func TestServiceWithoutTheUser(t *testing.T) {
	// The plan's home folder, where status's subtest writes a task: on
	// Windows $USERPROFILE, which $HOME alone left the person's own.
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("USERPROFILE", home)
	unknown := func() (string, error) { return "", errors.New("the token said: access is denied") }
	// --dry-run, as only it plans for another system; status has none.
	plan := func(t *testing.T) (*serviceOptions, *service.Plan) {
		t.Helper()
		f := testFactory()
		f.ConfigFlag = filepath.Join(t.TempDir(), "config.toml")
		o := &serviceOptions{f: f, OS: "windows", DryRun: true, user: unknown}
		p, err := o.plan(t.Context())
		if err != nil {
			t.Fatalf("plan without the user: %v; want one to stop, remove and ask about the service", err)
		}
		return o, p
	}
	t.Run("install", func(t *testing.T) {
		o, p := plan(t)
		err := installService(t.Context(), o, p)
		if err == nil || ExitCode(err) != 2 || !strings.Contains(err.Error(), "needs the user it is for") || !strings.Contains(err.Error(), "access is denied") {
			t.Errorf("install: %v (exit %d); want it refused, saying why (exit 2)", err, ExitCode(err))
		}
		if out := o.f.IO.Out.(*bytes.Buffer).String(); out != "" {
			t.Errorf("install printed %q; want nothing", out)
		}
	})
	t.Run("uninstall", func(t *testing.T) {
		o, p := plan(t)
		if err := uninstallService(t.Context(), o, p); err != nil {
			t.Fatal(err)
		}
		if out := o.f.IO.Out.(*bytes.Buffer).String(); !strings.Contains(out, "schtasks /Delete /TN freshtoken") || !strings.Contains(out, "would remove "+p.Path) {
			t.Errorf("uninstall printed %q; want the task deleted and its file removed", out)
		}
	})
	t.Run("status of an older task", func(t *testing.T) {
		o, p := plan(t)
		older := strings.NewReplacer("<UserId></UserId>\n    </LogonTrigger>", "</LogonTrigger>").Replace(p.Text)
		if !service.ForAnyUser(older) {
			t.Fatalf("not an older task:\n%s", older)
		}
		if err := os.MkdirAll(filepath.Dir(p.Path), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p.Path, []byte(older), 0o600); err != nil {
			t.Fatal(err)
		}
		p.Status = []string{"sh", "-c", "exit 1"} // schtasks: the task is not running
		if err := serviceStatus(t.Context(), o, p); err != nil {
			t.Fatal(err)
		}
		if said := o.f.IO.ErrOut.(*bytes.Buffer).String(); !strings.Contains(said, "starts at any user's log-on") || !strings.Contains(said, "service install") {
			t.Errorf("status said %q; want it to point out a task for any user's log-on", said)
		}
		if out := o.f.IO.Out.(*bytes.Buffer).String(); !strings.HasPrefix(out, "installed: "+p.Path) {
			t.Errorf("status printed %q; want the task installed", out)
		}
	})
}
