package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/config"
	"github.com/freshtoken/freshtoken/internal/devprovider"
	"github.com/freshtoken/freshtoken/internal/notify"
	"github.com/freshtoken/freshtoken/internal/proxy"
	"github.com/freshtoken/freshtoken/internal/testenv"
	"github.com/freshtoken/freshtoken/internal/testenv/devserver"
)

func TestProxyFlags(t *testing.T) {
	checkFlags(t, []flagCase[proxyOptions]{
		{"", proxyOptions{Listen: "127.0.0.1:8787"}, false},
		{"--listen 127.0.0.1:9000", proxyOptions{Listen: "127.0.0.1:9000"}, false},
		{"--listen localhost:9000", proxyOptions{Listen: "127.0.0.1:9000"}, false},
		{"--listen 127.1:9000", proxyOptions{Listen: "127.0.0.1:9000"}, false},
		{"--listen [::1]:9000", proxyOptions{Listen: "[::1]:9000"}, false},
		{"--listen 0.0.0.0:8787 --allow-remote", proxyOptions{Listen: "0.0.0.0:8787", AllowRemote: true}, false},
		{"--listen 0.0.0.0:8787", proxyOptions{}, true},
		{"--listen :8787", proxyOptions{}, true},
		{"--listen 192.168.1.5:8787", proxyOptions{}, true},
		{"--listen 8787", proxyOptions{}, true},
		{"extra", proxyOptions{}, true},
	}, newProxyCmd, func(g, w proxyOptions) bool {
		return g.Listen == w.Listen && g.AllowRemote == w.AllowRemote
	})
}

// TestRemoteProxyIsSaidAsThisMachinesPort: a proxy listening on every
// address is told of at 127.0.0.1 (its own base URL), and its warning names
// the port of this machine; both said http://[::]:PORT/, which nobody can
// open. (Only the words: tests bind to 127.0.0.1 alone.)
func TestRemoteProxyIsSaidAsThisMachinesPort(t *testing.T) {
	var b strings.Builder
	warnRemote(&b, "[::]:8796")
	if !strings.Contains(b.String(), "Anyone who can connect to port 8796 of this machine, at any of its addresses, can call") || strings.Contains(b.String(), "[::]") {
		t.Errorf("warning:\n%s", &b)
	}
	b.Reset()
	warnRemote(&b, "192.168.1.5:8796")
	if !strings.Contains(b.String(), "connect to 192.168.1.5:8796 can call") {
		t.Errorf("warning for one address:\n%s", &b)
	}
	p, err := proxy.New(proxy.Options{Addr: "[::]:8796", AllowRemote: true,
		Config: func() (*config.File, error) { return &config.File{}, nil },
		Open:   func(context.Context, string) (*freshtoken.Source, error) { return nil, errors.New("no environment") }})
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Base(); got != "http://127.0.0.1:8796" {
		t.Errorf("Base() = %q; want http://127.0.0.1:8796", got)
	}
}

// TestProxyOutOfFilesSaysSo: the proxy refused a --listen address for too
// many open files (a service's LimitNOFILE reached) told to choose another
// address with --listen, which fails alike; it says to raise the limit. The
// error is the one net.Listen returns, which no test can make happen on
// every machine.
func TestProxyOutOfFilesSaysSo(t *testing.T) {
	a, _ := net.ResolveTCPAddr("tcp", "127.0.0.1:8787")
	err := proxyListenFailed("127.0.0.1:8787", &net.OpError{Op: "listen", Net: "tcp", Addr: a, Err: os.NewSyscallError("socket", syscall.EMFILE)})
	if msg := err.Error(); strings.Contains(msg, "--listen") || !strings.Contains(msg, "ulimit -n") || ExitCode(err) != 2 {
		t.Fatalf("%v (exit %d); want to raise the limit on open files, not another address", err, ExitCode(err))
	}
}

// TestProxyWithoutIPv4LoopbackSaysToListenOnIPv6: on a machine whose
// loopback is IPv6 alone (a network namespace, a container with IPv4 off),
// the default address, or localhost, which is listened on as 127.0.0.1,
// was refused as not an address of this machine, "choose one of its
// addresses with --listen, such as 127.0.0.1:8787": the very address
// refused. It names [::1]:8787. The error is the one net.Listen returns
// there (`unshare -n`, lo up, 127.0.0.1 deleted).
func TestProxyWithoutIPv4LoopbackSaysToListenOnIPv6(t *testing.T) {
	a, _ := net.ResolveTCPAddr("tcp", "127.0.0.1:8787")
	err := proxyListenFailed("127.0.0.1:8787", &net.OpError{Op: "listen", Net: "tcp", Addr: a, Err: os.NewSyscallError("bind", syscall.EADDRNOTAVAIL)})
	if msg := err.Error(); !strings.HasSuffix(msg, "such as [::1]:8787") || ExitCode(err) != 2 {
		t.Errorf("%v (exit %d); want [::1]:8787 named instead", err, ExitCode(err))
	}
	a, _ = net.ResolveTCPAddr("tcp", "[::1]:8787")
	err = proxyListenFailed("[::1]:8787", &net.OpError{Op: "listen", Net: "tcp6", Addr: a, Err: os.NewSyscallError("bind", syscall.EADDRNOTAVAIL)})
	if msg := err.Error(); !strings.HasSuffix(msg, "such as 127.0.0.1:8787") {
		t.Errorf("%v; want 127.0.0.1:8787 named instead of ::1", err)
	}
}

// TestConfigWaitSaysEachReasonOnce: the reason a configuration cannot be
// used is said once however many wait for it: the service whose address
// another program held waited for it twice, in the keeper started
// meanwhile and again once it listened, and said the reason, and each new
// one, twice.
func TestConfigWaitSaysEachReasonOnce(t *testing.T) {
	f := testFactory()
	f.ConfigFlag = filepath.Join(t.TempDir(), "config.toml") // no such file
	w := &configWait{f: f, ready: make(chan struct{})}
	ended, cancel := context.WithCancel(context.Background())
	cancel() // each wait reads the file once, and says why it cannot be used
	for range 2 {
		if s := w.wait(ended); s != nil {
			t.Fatalf("wait: %v; want nil, the configuration unusable", s)
		}
	}
	said := f.IO.ErrOut.(*bytes.Buffer).String()
	if n := strings.Count(said, "the proxy waits for a configuration it can use"); n != 1 {
		t.Errorf("the reason was said %d times; want once:\n%s", n, said)
	}
}

// TestKeeperOfAConfigMovedAwayKeepsItsWatches: a running proxy's keeper
// whose configuration file is moved away (or deleted) keeps watching the
// environments it last read, leaves their token files and says at each
// look that the file is gone: read as a configuration naming nothing, it
// ended every watch and removed every token file, without a word, and the
// grants lapsed untold.
func TestKeeperOfAConfigMovedAwayKeepsItsWatches(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", t.TempDir()) // the token files' ledger
	_, root := devserver.Start(t, devprovider.Options{})
	dir := t.TempDir()
	conf, tokenFile := filepath.Join(dir, "config.toml"), filepath.Join(dir, "token")
	text := fmt.Sprintf("[store]\nurl = %q\n\n[env.machine]\nprovider = \"generic\"\napi_url = %q\ntoken_url = %q\nclient_id = \"dev-client-id\"\nclient_secret = \"dev-client-secret\"\ngrant = \"client_credentials\"\ntoken_file = %q\n",
		"file://"+filepath.Join(dir, "tokens"), root+"/", root+"/v2/token_endpoint", tokenFile)
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	f := testFactory()
	f.ConfigFlag = conf
	logged := testenv.NewOutput()
	f.logger = slog.New(slog.NewTextHandler(logged, nil))
	c, err := f.Config()
	if err != nil {
		t.Fatal(err)
	}
	k := newKeeper(f, &proxyStart{conf: c}, &atomic.Pointer[notify.Notifier]{})
	k.Look = 20 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan struct{})
	go func() { defer close(ran); k.Run(ctx) }()
	defer func() { cancel(); <-ran }()
	testenv.WaitFor(t, "the token file written", func() bool { _, err := os.Stat(tokenFile); return err == nil })
	if err := os.Rename(conf, conf+".moved"); err != nil {
		t.Fatal(err)
	}
	before := len(logged.String())
	// Each watch's look says the file is gone too: several of them, long
	// past the two looks in a row that take an environment out.
	testenv.WaitFor(t, "looks after the move, or the token file removed", func() bool {
		_, err := os.Stat(tokenFile)
		return err != nil || strings.Count(logged.String(), "cannot read the environment's configuration") >= 3
	})
	if _, err := os.Stat(tokenFile); err != nil {
		t.Errorf("token file after the configuration was moved away: %v; want it kept", err)
	}
	for line := range strings.Lines(logged.String()[before:]) {
		if strings.Contains(line, "init") || !strings.Contains(line, "is gone") {
			t.Errorf("logged after the move: %s want each line to say the file is gone, and none to run init", line)
		}
	}
}

// TestKeyForOlderProxyIsAKeyOnly: beside a proxy older than the digests,
// `login` refuses to put a key of token_url, audience or resource into the
// log-in link; a URL holding none, written with its scheme in upper case
// (HTTPS://…), was read as keyed, and the log-in refused for a key that
// was not there.
func TestKeyForOlderProxyIsAKeyOnly(t *testing.T) {
	empty := ""
	older := grantInfo{Audience: &empty, Resource: &empty} // no digest of either
	for _, tc := range []struct {
		env  config.Env
		want string
	}{
		{config.Env{TokenURL: "HTTPS://login.example/token?realm=x", Audience: "HTTPS://api.example/?v=2", Resources: []string{"HTTPS://api.example/?v=2"}}, ""},
		{config.Env{TokenURL: "HTTPS://login.example/token?subscription-key=k3y0"}, "token_url"},
		{config.Env{TokenURL: "https://login.example/token", Audience: "HTTPS://api.example/?api_key=k3y0"}, "audience"},
		{config.Env{TokenURL: "https://login.example/token", Resources: []string{"https://a.example/", "HTTPS://b.example/?api_key=k3y0"}}, "resource"},
	} {
		if got := older.keyForOlderProxy(&tc.env); got != tc.want {
			t.Errorf("keyForOlderProxy(token_url %q, audience %q, resource %q) = %q; want %q", tc.env.TokenURL, tc.env.Audience, tc.env.Resources, got, tc.want)
		}
	}
}
