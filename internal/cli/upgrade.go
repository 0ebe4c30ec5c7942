package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/freshtoken/freshtoken/internal/shellrun"
)

// upgradeCheck is how often a long-running proxy looks whether the file it
// was started from has been replaced; FRESHTOKEN_INTERNAL_UPGRADE_CHECK (a
// duration) shortens it for the tests that replace it. It is no user setting.
var upgradeCheck = func() time.Duration {
	if d, err := time.ParseDuration(os.Getenv("FRESHTOKEN_INTERNAL_UPGRADE_CHECK")); err == nil && d > 0 {
		return d
	}
	return time.Minute
}()

// upgradeLoginLooks is how many looks (upgradeCheck) a log-in under way
// may hold the restart after an upgrade: one left at the provider (its
// `freshtoken login --timeout` may be long) does not keep an old version
// running for long.
const upgradeLoginLooks = 20

// upgradeLoginSpare is how many looks a log-in begun just before the
// restart was forced (upgradeLoginLooks) still holds it: its person, sent
// to the provider moments before, is most likely approving. As long as a
// log-in waits for its browser by default (login.DefaultTimeout).
const upgradeLoginSpare = 5

// upgradeVersionTimeout bounds the new freshtoken's `version`
// (startsAsFreshtoken): one that takes longer hangs, and is refused.
var upgradeVersionTimeout = 30 * time.Second

// upgraded ends a proxy whose binary was replaced (an upgrade): Main then
// starts the new one in its place, with the same arguments, handing it
// listener, the proxy's listening socket kept open (nil for none), when
// it takesSocket.
type upgraded struct {
	path        string
	takesSocket bool
	listener    *os.File
}

// handOverVar hands a proxy's listening socket to the new version it
// starts in its place after an upgrade: "PID:FD", the process's id (which
// execve keeps) and the socket's descriptor. A private name, where
// systemd's LISTEN_FDS would do: that one puts the socket at descriptor 3,
// which this process, still running, may be using (Go's own poller often
// is), and other programs read it, as a child of the proxy might.
const handOverVar = "FRESHTOKEN_INTERNAL_LISTEN_FD"

// handOverAsk, as handOverVar, asks `freshtoken version` whether that
// freshtoken takes the socket handed over: one that does says
// takesHandedSocket on a second line. One from before would leave it
// unused and, holding it, could not listen on its own address.
const (
	handOverAsk       = "ask"
	takesHandedSocket = "takes a listening socket handed over"
)

func (u *upgraded) Error() string {
	return "freshtoken at " + u.path + " was replaced (an upgrade); start `freshtoken proxy` again to run the new version"
}

// watchUpgrade returns ctx, which ends once the freshtoken binary the
// process was started from is replaced by another (a package upgrade
// renames a new file over it), and a function that then tells which. A
// proxy left running an older freshtoken beside newer commands shares
// their token store, but may take its locks elsewhere or miss a fix, and
// two renewers spending one refresh token end the grant; so the proxy
// stops and, on Unix, starts the new binary in its place. The new file must
// look the same at two looks in a row, so that one still being written is
// not started, and must start: one whose `version` fails leaves the proxy
// running, as it is, until another replaces it; one whose `version` was
// ended by a signal (Ctrl-C or a hang-up sent to the whole job, a service
// manager stopping every process of the service) is tried again at the
// next look, and refused if a signal ends it again: a stop of the whole
// job would have stopped this process by then. Before it stops, it
// closes the proxy to new log-ins (stopLogins, see
// proxy.Proxy.StopLogins): their state lives in this process, and would
// go with it. While one waits for its browser, or a device log-in for its
// approval, the proxy stops later, by upgradeLoginLooks at most, when
// stopLogins is forced: that closes the proxy to new log-ins, and still
// holds the restart while one begun within upgradeLoginSpare looks waits
// (its person is likely approving). A look meanwhile that finds the
// upgrade gone (the old file put back, the new one removed, replaced again
// or refused) opens log-ins again (openLogins): closed, no Log in worked
// until the proxy was restarted by hand.
func watchUpgrade(ctx context.Context, log *slog.Logger, stopLogins func(force bool) bool, openLogins func()) (context.Context, func() *upgraded) {
	none := func() *upgraded { return nil }
	path := startedFrom()
	if !canRestart || path == "" {
		return ctx, none
	}
	return watchUpgradeOf(ctx, path, log, stopLogins, openLogins)
}

// watchUpgradeOf is watchUpgrade of the freshtoken at path.
func watchUpgradeOf(ctx context.Context, path string, log *slog.Logger, stopLogins func(force bool) bool, openLogins func()) (context.Context, func() *upgraded) {
	first, err := os.Stat(path)
	if err != nil {
		return ctx, func() *upgraded { return nil }
	}
	ctx, cancel := context.WithCancelCause(ctx)
	go func() {
		tick := time.NewTicker(upgradeCheck)
		defer tick.Stop()
		// signalled: the file whose `version` the last look saw ended
		// by a signal (see notAVerdict).
		var last, refused, signalled os.FileInfo
		held := 0 // looks in a row for which a log-in under way held the restart
		// closed: a forced stopLogins closed log-ins, and one just begun
		// holds the restart.
		closed := false
		// ready looks at the file, and reports whether it is a new
		// freshtoken to start (and whether it takes the socket).
		ready := func() (takes, ok bool) {
			now, err := os.Stat(path)
			if err != nil || sameBinary(now, first) || !now.Mode().IsRegular() || now.Mode()&0o111 == 0 ||
				(refused != nil && sameBinary(now, refused)) {
				last = nil
				return false, false
			}
			if last == nil || !sameBinary(now, last) {
				last = now // changed since the last look: perhaps still being written
				return false, false
			}
			takes, err = startsAsFreshtoken(ctx, path)
			if sig := shellrun.EndedBy(err); err != nil && notAVerdict(sig) && (signalled == nil || !sameBinary(now, signalled)) {
				// Most likely the signal this process gets too, or will
				// when the stop reaches it; else tried again, once.
				log.Debug("the new freshtoken's `version` was ended by a signal; trying again at the next look", "path", path, "signal", sig)
				signalled = now
				return false, false
			}
			signalled = nil
			if err != nil {
				if ctx.Err() == nil {
					log.Error("freshtoken was replaced, but the new file does not start, so this proxy goes on with the old version; reinstall freshtoken", "path", path, "error", err)
				}
				refused, last = now, nil
				return false, false
			}
			return takes, true
		}
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			takes, ok := ready()
			if !ok {
				// No new version to start at this look: one found later
				// is held anew by a log-in under way, and log-ins a
				// forced look closed open again.
				held = 0
				if closed {
					openLogins()
					closed = false
				}
				continue
			}
			if !stopLogins(held >= upgradeLoginLooks) {
				closed = held >= upgradeLoginLooks
				switch held {
				case 0:
					log.Warn("freshtoken was replaced (an upgrade): this proxy starts the new version once the log-in under way ends (its browser back, or its code approved)", "path", path)
				case upgradeLoginLooks:
					log.Warn("freshtoken was replaced (an upgrade), and log-ins under way have held the restart for its longest: no log-in starts any more, and this proxy starts the new version once the one begun last has ended, within "+(upgradeLoginSpare*upgradeCheck).String(), "path", path)
				}
				held++
				continue
			}
			log.Warn("freshtoken was replaced (an upgrade): stopping, to start the new version in this one's place", "path", path)
			cancel(&upgraded{path: path, takesSocket: takes})
			return
		}
	}()
	return ctx, func() *upgraded {
		var u *upgraded
		if errors.As(context.Cause(ctx), &u) {
			return u
		}
		return nil
	}
}

// notAVerdict reports whether sig is one of the signals that, ending the new freshtoken's `version`
// once, say nothing of the file: sent to it (Ctrl-C, a hang-up, a stop, a
// kill), not raised by a fault of its own, as a truncated file's SIGSEGV
// or SIGBUS. At two looks in a row they are the file's (macOS kills a
// binary whose signature is broken, at every start).
func notAVerdict(sig syscall.Signal) bool { return shellrun.Stopping(sig) || sig == syscall.SIGKILL }

// upgradeListener is a proxy's listener which, closed as the proxy stops
// to start a new version that takes its socket (handingOver), keeps a
// copy of the socket for it (see restart): the socket stays open, so that
// a client arriving meanwhile waits in its backlog for the new version to
// accept it, where it was refused.
type upgradeListener struct {
	net.Listener
	handingOver func() bool
	kept        atomic.Pointer[os.File]
}

func (l *upgradeListener) Close() error {
	if tcp, ok := l.Listener.(*net.TCPListener); ok && l.handingOver() && l.kept.Load() == nil {
		if file, err := tcp.File(); err == nil {
			l.kept.Store(file)
		}
	}
	return l.Listener.Close()
}

// startsAsFreshtoken runs `version` of the freshtoken at path: a file that
// cannot start (a truncated download, another machine's build, not
// freshtoken at all) must not end a proxy that works. It also asks whether
// that freshtoken takes the listening socket handed over (see
// handOverAsk): one from before this was added, an upgrade rolled back,
// is not handed it. One that does not finish in time is killed, which is
// its verdict, not a signal sent to it (see notAVerdict).
func startsAsFreshtoken(ctx context.Context, path string) (takesSocket bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, upgradeVersionTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, "version")
	cmd.Env = append(os.Environ(), handOverVar+"="+handOverAsk)
	cmd.WaitDelay = time.Second // a child of its own may hold its output open
	out, err := cmd.Output()
	if err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return false, fmt.Errorf("its `version` did not finish within %s", upgradeVersionTimeout)
	}
	if err != nil {
		return false, err
	}
	if !bytes.HasPrefix(out, []byte("freshtoken ")) {
		return false, errors.New("its `version` does not say freshtoken")
	}
	_, rest, _ := bytes.Cut(out, []byte("\n"))
	return string(bytes.TrimSpace(rest)) == takesHandedSocket, nil
}

// sameBinary reports whether a and b are the same file, unchanged.
func sameBinary(a, b os.FileInfo) bool {
	return os.SameFile(a, b) && a.Size() == b.Size() && a.ModTime().Equal(b.ModTime())
}

// startedFrom is the path the process was started by: the command's own
// (a service's link into a package manager's versioned folder, which an
// upgrade points elsewhere), found on $PATH for a bare name; "" if unknown.
func startedFrom() string {
	arg := os.Args[0]
	switch {
	case filepath.IsAbs(arg):
		return arg
	case strings.ContainsRune(arg, filepath.Separator):
		abs, _ := filepath.Abs(arg)
		return abs
	}
	if p, err := exec.LookPath(arg); err == nil {
		abs, _ := filepath.Abs(p)
		return abs
	}
	return ""
}
