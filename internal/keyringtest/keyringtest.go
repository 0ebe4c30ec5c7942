// Package keyringtest gives a test a real, private system keychain: a D-Bus
// session bus of its own and a gnome-keyring-daemon on it serving the Secret
// Service, with a "login" keyring unlocked by a password. The test's
// DBUS_SESSION_BUS_ADDRESS points at that bus (child processes inherit it),
// and the test's end stops both daemons. Nothing of the user's own keychain
// is touched: the keyring's files live in the test's temporary folder.
package keyringtest

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	dbus "github.com/godbus/dbus/v5"

	"github.com/freshtoken/freshtoken/internal/testenv"
)

const (
	secretsName     = "org.freedesktop.secrets"
	secretsPath     = "/org/freedesktop/secrets"
	loginCollection = "/org/freedesktop/secrets/collection/login"
	// password unlocks the test's login keyring.
	password = "keyringtest-password"
)

// busConfig is a session bus that activates no services: a Secret Service
// is on it only when the test starts one.
const busConfig = `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:dir=%s</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
`

// Bus is a private D-Bus session bus, and the keyring daemon on it if one
// was started.
type Bus struct {
	// Address is the bus's address, as DBUS_SESSION_BUS_ADDRESS gives it.
	Address string
	dir     string
	daemon  *exec.Cmd // dbus-daemon
	keyring *exec.Cmd // gnome-keyring-daemon, if started
}

// Start starts a bus and an unlocked keyring on it, and points the test's
// DBUS_SESSION_BUS_ADDRESS at the bus. Without dbus-daemon or
// gnome-keyring-daemon the test fails under CI (CI=true), which installs
// them, and is skipped elsewhere.
func Start(t *testing.T) *Bus {
	t.Helper()
	b := StartBus(t)
	b.startKeyring(t)
	return b
}

// StartBus starts a bus with no Secret Service on it, and points the test's
// DBUS_SESSION_BUS_ADDRESS at it.
func StartBus(t *testing.T) *Bus {
	t.Helper()
	if runtime.GOOS != "linux" {
		testenv.Missing(t, "a private Secret Service is only set up on Linux")
	}
	b := &Bus{dir: socketDir(t)}
	b.Address = b.startDaemon(t, "")
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", b.Address)
	// The process-wide session connection (the keychain library's) is
	// closed at the end, so the next test's bus gets a connection of its own.
	t.Cleanup(closeSharedConnection)
	return b
}

// startDaemon starts the bus's dbus-daemon, listening at address (empty:
// a new socket in the bus's folder), and returns the address it prints.
func (b *Bus) startDaemon(t *testing.T, address string) string {
	t.Helper()
	bin, err := exec.LookPath("dbus-daemon")
	if err != nil {
		testenv.Missing(t, "dbus-daemon is not installed (apt-get install dbus)")
	}
	conf := filepath.Join(b.dir, "bus.conf")
	if err := os.WriteFile(conf, fmt.Appendf(nil, busConfig, b.dir), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"--config-file=" + conf, "--nofork", "--nopidfile", "--print-address=1"}
	if address != "" {
		args = append(args, "--address="+address)
	}
	cmd := exec.Command(bin, args...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stop(cmd) })
	b.daemon = cmd
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("dbus-daemon printed no address: %v", err)
	}
	return strings.TrimSpace(line)
}

// socketRoom is the longest path of the folder the test's sockets go in:
// the bus's dbus-XXXXXXXXXX, the relay's, and gnome-keyring-daemon's
// run/keyring/control, the longest; a socket's path holds at most 107
// bytes.
const socketRoom = 107 - len("/run/keyring/control")

// socketDir is a temporary folder of the test's, removed at its end, whose
// path leaves room for the sockets made in it: t.TempDir(), or one under
// /tmp where $TMPDIR is long (a CI machine's), as there dbus-daemon refused
// to start ("Socket name too long") and every keychain test failed.
func socketDir(t *testing.T) string {
	t.Helper()
	if dir := t.TempDir(); len(dir) <= socketRoom {
		return dir
	}
	dir, err := os.MkdirTemp("/tmp", "keyringtest")
	if err != nil {
		t.Fatalf("$TMPDIR is too long for the keychain's sockets, and /tmp has no room for them: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if len(dir) > socketRoom {
		t.Fatalf("%s is too long a path for the keychain's sockets", dir)
	}
	return dir
}

// startKeyring starts gnome-keyring-daemon on the bus, with a login keyring
// unlocked by password, and waits for it to serve.
func (b *Bus) startKeyring(t *testing.T) {
	t.Helper()
	bin, err := exec.LookPath("gnome-keyring-daemon")
	if err != nil {
		testenv.Missing(t, "gnome-keyring-daemon is not installed (apt-get install gnome-keyring)")
	}
	home := filepath.Join(b.dir, "home")
	run := filepath.Join(b.dir, "run")
	for _, d := range []string{home, run} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(bin, "--foreground", "--unlock", "--components=secrets")
	cmd.Env = append(os.Environ(), "DBUS_SESSION_BUS_ADDRESS="+b.Address, "HOME="+home,
		"XDG_DATA_HOME="+filepath.Join(home, "data"), "XDG_RUNTIME_DIR="+run, "XDG_CONFIG_HOME="+filepath.Join(home, "config"))
	cmd.Stdin = strings.NewReader(password)
	// What it says (its warnings and failed assertions) is shown with a
	// failed test's output, after it has ended, with how it ended.
	said := testenv.NewOutput()
	cmd.Stderr = said
	t.Cleanup(func() {
		if t.Failed() {
			t.Log(daemonLog(said.String(), cmd.ProcessState))
		}
	})
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stop(cmd) })
	b.keyring = cmd
	// The service's own property is asked first, as the store's check
	// does: a collection's, the first call of a connection (see served),
	// was answered by a daemon that then aborted ("invoke_get_property_in_idle_cb:
	// assertion failed").
	conn := b.connect(t)
	testenv.WaitFor(t, "gnome-keyring-daemon to serve an unlocked login keyring", func() bool {
		v, err := conn.Object(secretsName, secretsPath).GetProperty("org.freedesktop.Secret.Service.Collections")
		if collections, ok := v.Value().([]dbus.ObjectPath); err != nil || !ok || !slices.Contains(collections, loginCollection) {
			return false
		}
		v, err = conn.Object(secretsName, loginCollection).GetProperty("org.freedesktop.Secret.Collection.Locked")
		locked, ok := v.Value().(bool)
		return err == nil && ok && !locked
	})
}

// daemonLog tells, for a failed test's output, what gnome-keyring-daemon
// wrote to its stderr (said), or that it wrote nothing, and how it ended
// (state; nil if it did not): "said:" was followed by nothing, and a
// daemon that aborted was not told from one the test's end stopped.
func daemonLog(said string, state *os.ProcessState) string {
	ended := "it had not ended"
	if state != nil {
		ended = "it ended: " + state.String() + " (the test's end kills it, unless it ended before)"
	}
	if strings.TrimSpace(said) == "" {
		return "gnome-keyring-daemon wrote nothing on its stderr; " + ended
	}
	return "gnome-keyring-daemon said (" + ended + "):\n" + said
}

// StartSilent starts a bus with a Secret Service on it that says its login
// keyring is unlocked and then answers nothing more (opening a session,
// unlocking), as one waiting on an unlock or access prompt that nobody can
// see; and points the test's DBUS_SESSION_BUS_ADDRESS at the bus. The
// calls it holds are answered with an error at the test's end.
func StartSilent(t *testing.T) *Bus {
	t.Helper()
	b := StartBus(t)
	conn := b.connect(t)
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	props := func(values map[string]any) map[string]any {
		return map[string]any{"Get": func(_, prop string) (dbus.Variant, *dbus.Error) {
			v, ok := values[prop]
			if !ok {
				return dbus.Variant{}, dbus.MakeFailedError(fmt.Errorf("no property %s", prop))
			}
			return dbus.MakeVariant(v), nil
		}}
	}
	held := func() *dbus.Error {
		<-release
		return dbus.MakeFailedError(fmt.Errorf("the test ended"))
	}
	for _, e := range []struct {
		methods     map[string]any
		path, iface string
	}{
		{props(map[string]any{"Collections": []dbus.ObjectPath{loginCollection}}), secretsPath, "org.freedesktop.DBus.Properties"},
		{props(map[string]any{"Locked": false}), loginCollection, "org.freedesktop.DBus.Properties"},
		{map[string]any{
			"OpenSession": func(string, dbus.Variant) (dbus.Variant, dbus.ObjectPath, *dbus.Error) {
				return dbus.Variant{}, "/", held()
			},
			"Unlock": func([]dbus.ObjectPath) ([]dbus.ObjectPath, dbus.ObjectPath, *dbus.Error) {
				return nil, "/", held()
			},
		}, secretsPath, "org.freedesktop.Secret.Service"},
	} {
		if err := conn.ExportMethodTable(e.methods, dbus.ObjectPath(e.path), e.iface); err != nil {
			t.Fatal(err)
		}
	}
	if reply, err := conn.RequestName(secretsName, dbus.NameFlagDoNotQueue); err != nil || reply != dbus.RequestNameReplyPrimaryOwner {
		t.Fatalf("owning %s on the test bus: %v (reply %d)", secretsName, err, reply)
	}
	return b
}

// Relay puts a relay in front of the bus, and points the test's
// DBUS_SESSION_BUS_ADDRESS at it. Before it passes on each chunk a client
// sends, it calls before with all that the client's connection has sent
// so far, that chunk included: before may hold the chunk back, the
// message it ends undelivered, until it returns.
func (b *Bus) Relay(t *testing.T, before func(sent []byte)) {
	t.Helper()
	bus, ok := strings.CutPrefix(b.Address, "unix:path=")
	if !ok {
		t.Fatalf("the bus's address %s is no unix:path=", b.Address)
	}
	bus, _, _ = strings.Cut(bus, ",")
	sock := filepath.Join(b.dir, "relay")
	testenv.ServeOn(t, "unix", sock, func(client net.Conn) {
		server := testenv.Pipe(t, client, "unix", bus)
		if server == nil {
			return
		}
		defer server.Close()
		var sent []byte
		buf := make([]byte, 64<<10)
		for {
			n, err := client.Read(buf)
			if n > 0 {
				sent = append(sent, buf[:n]...)
				before(sent)
				if _, err := server.Write(buf[:n]); err != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	})
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path="+sock)
}

// connect is a connection of the test's own to the bus.
func (b *Bus) connect(t *testing.T) *dbus.Conn {
	t.Helper()
	conn, err := dbus.Connect(b.Address)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// served is a connection of the test's own to gnome-keyring-daemon, once
// the daemon has taken it on. The daemon makes its record of a
// connection, which every call but a read of the service's own
// properties needs, from the connection's first message, at a moment of
// its own: on a loaded machine the first call can come before it and be
// answered "Method SearchItems is not implemented on interface
// org.freedesktop.Secret.Collection" (the daemon's log: "assertion
// 'client' failed"). The store's connections, the keychain library's
// too, each begin with a read of the service's Collections, which needs
// no record (keyringstore: TestEachConnectionBeginsWithARead).
func (b *Bus) served(t *testing.T) *dbus.Conn {
	t.Helper()
	conn := b.connect(t)
	testenv.WaitFor(t, "gnome-keyring-daemon to take the test's connection on", func() bool {
		var items []dbus.ObjectPath
		return conn.Object(secretsName, loginCollection).
			Call("org.freedesktop.Secret.Collection.SearchItems", 0, map[string]string{"keyringtest": "none"}).Store(&items) == nil
	})
	return conn
}

// Lock locks the login keyring, as a screen lock or a timeout does.
func (b *Bus) Lock(t *testing.T) {
	t.Helper()
	// gnome-keyring-daemon, busy writing the keyring a save has just
	// changed (a loaded machine), may answer that it locked nothing: the
	// test asks again until it says the keyring is locked.
	conn := b.served(t)
	testenv.WaitFor(t, "the login keyring to lock", func() bool {
		var locked []dbus.ObjectPath
		var prompt dbus.ObjectPath
		err := conn.Object(secretsName, secretsPath).
			Call("org.freedesktop.Secret.Service.Lock", 0, []dbus.ObjectPath{loginCollection}).Store(&locked, &prompt)
		if err != nil {
			t.Fatalf("locking the keyring: %v", err)
		}
		return len(locked) == 1
	})
}

// Unlock unlocks the login keyring that Lock locked, as a person typing
// its password does, through gnome-keyring-daemon's own call for it (the
// Secret Service's Unlock would ask through a prompt nobody sees).
func (b *Bus) Unlock(t *testing.T) {
	t.Helper()
	conn := b.served(t)
	secrets := conn.Object(secretsName, secretsPath)
	var out dbus.Variant
	var session dbus.ObjectPath
	if err := secrets.Call("org.freedesktop.Secret.Service.OpenSession", 0, "plain", dbus.MakeVariant("")).Store(&out, &session); err != nil {
		t.Fatalf("opening a Secret Service session: %v", err)
	}
	secret := struct {
		Session     dbus.ObjectPath
		Parameters  []byte
		Value       []byte
		ContentType string
	}{session, []byte{}, []byte(password), "text/plain"}
	if err := secrets.Call("org.gnome.keyring.InternalUnsupportedGuiltRiddenInterface.UnlockWithMasterPassword", 0, dbus.ObjectPath(loginCollection), secret).Err; err != nil {
		t.Fatalf("unlocking the keyring: %v", err)
	}
}

// Pause stops gnome-keyring-daemon (SIGSTOP) for the rest of the test: it
// is still on the bus, and answers nothing.
func (b *Bus) Pause(t *testing.T) {
	t.Helper()
	testenv.Pause(t, b.keyring.Process)
}

// Resume lets gnome-keyring-daemon, stopped by Pause, run again.
func (b *Bus) Resume(t *testing.T) {
	t.Helper()
	testenv.Resume(t, b.keyring.Process)
}

// Kill ends gnome-keyring-daemon (SIGKILL), as a crash or the OOM killer
// does: the bus has no Secret Service until Restart.
func (b *Bus) Kill(t *testing.T) {
	t.Helper()
	stop(b.keyring)
}

// Restart starts gnome-keyring-daemon again on the bus, after Kill, with
// the login keyring it kept on disk, unlocked.
func (b *Bus) Restart(t *testing.T) {
	t.Helper()
	b.startKeyring(t)
}

// KillBus ends the bus's dbus-daemon and the keyring daemon on it
// (SIGKILL), as a crash or the end of the desktop session does: the bus's
// address leads nowhere until RestartBus.
func (b *Bus) KillBus(t *testing.T) {
	t.Helper()
	stop(b.daemon)
	if b.keyring != nil {
		stop(b.keyring)
	}
}

// RestartBus starts the bus again at the address it had, after KillBus,
// and the keyring daemon on it, with the login keyring it kept on disk,
// unlocked.
func (b *Bus) RestartBus(t *testing.T) {
	t.Helper()
	path, ok := strings.CutPrefix(b.Address, "unix:path=")
	if !ok {
		t.Fatalf("the bus's address %s is no unix:path=", b.Address)
	}
	path, _, _ = strings.Cut(path, ",")
	if err := os.Remove(path); err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	b.startDaemon(t, "unix:path="+path)
	b.startKeyring(t)
}

// Items lists the labels of the items in the login keyring whose service
// attribute is service, to see what a test left there.
func (b *Bus) Items(t *testing.T, service string) []string {
	t.Helper()
	conn := b.served(t)
	var items []dbus.ObjectPath
	err := conn.Object(secretsName, loginCollection).
		Call("org.freedesktop.Secret.Collection.SearchItems", 0, map[string]string{"service": service}).Store(&items)
	if err != nil {
		t.Fatal(err)
	}
	var accounts []string
	for _, it := range items {
		v, err := conn.Object(secretsName, it).GetProperty("org.freedesktop.Secret.Item.Attributes")
		if err != nil {
			t.Fatal(err)
		}
		attrs, _ := v.Value().(map[string]string)
		accounts = append(accounts, attrs["username"])
	}
	return accounts
}

// NoBus points the test's DBUS_SESSION_BUS_ADDRESS nowhere, and hides any
// bus the user's session has, as on a server or in CI: no keychain at all.
func NoBus(t *testing.T) {
	t.Helper()
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "")
	t.Setenv("XDG_RUNTIME_DIR", t.TempDir())
	t.Cleanup(closeSharedConnection)
}

// closeSharedConnection closes godbus's process-wide session connection if
// it is open, without opening one.
func closeSharedConnection() {
	if os.Getenv("DBUS_SESSION_BUS_ADDRESS") == "" {
		return
	}
	if conn, err := dbus.SessionBus(); err == nil {
		conn.Close()
	}
}

// stop kills a daemon and waits for it.
func stop(cmd *exec.Cmd) {
	if cmd.Process != nil && cmd.ProcessState == nil {
		cmd.Process.Kill()
		cmd.Wait()
	}
}
