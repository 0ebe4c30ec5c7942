package cli_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/freshtoken/freshtoken/internal/cli"
	"github.com/freshtoken/freshtoken/internal/devprovider"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"freshtoken": func() { os.Exit(cli.Main(os.Args[1:], cli.SystemStreams())) },
		// approve plays a person's browser: it opens the URL and follows the
		// redirects, which an auto-approving dev provider sends back to the
		// login callback.
		"approve": func() {
			resp, err := http.Get(os.Args[len(os.Args)-1])
			if err != nil {
				fmt.Fprintln(os.Stderr, "approve:", err)
				os.Exit(1)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		},
	})
}

// TestScripts runs the end-to-end scripts in testdata/script: the real
// freshtoken binary against a dev provider over loopback HTTP.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Setup: func(env *testscript.Env) error {
			env.Setenv("HOME", env.WorkDir)
			env.Setenv("XDG_CONFIG_HOME", filepath.Join(env.WorkDir, ".config"))
			env.Setenv("XDG_STATE_HOME", filepath.Join(env.WorkDir, ".state"))
			env.Setenv("NO_COLOR", "1")
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"devprovider": cmdDevProvider,
		},
	})
}

var providers sync.Map // *testscript.TestScript → *devprovider.Provider

// cmdDevProvider drives the dev provider of the running script:
//
//	devprovider start [ttl=2s] [grace=5s] [auth=basic|body] [rpm=N]
//	                                 start it; sets $API, $DEV_SECRET, $CALLBACK_PORT
//	devprovider fault KIND N         the next N token requests fail as KIND
//	devprovider revoke               every current access token gets 401
//	devprovider stat NAME N          assert a Stats counter (json name) equals N
//	devprovider nosecrets FILE...    assert no issued secret appears in the files
func cmdDevProvider(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) == 0 {
		ts.Fatalf("usage: devprovider start|fault|revoke|stat|nosecrets ...")
	}
	if args[0] == "start" {
		startProvider(ts, args[1:])
		return
	}
	v, ok := providers.Load(ts)
	if !ok {
		ts.Fatalf("devprovider start first")
	}
	p := v.(*devprovider.Provider)
	switch args[0] {
	case "fault":
		n, err := strconv.Atoi(args[2])
		ts.Check(err)
		p.Fault(devprovider.Fault(args[1]), n)
	case "revoke":
		p.RevokeAccessTokens()
	case "stat":
		data, _ := json.Marshal(p.Stats())
		var m map[string]int
		json.Unmarshal(data, &m)
		got, ok := m[args[1]]
		if !ok {
			ts.Fatalf("no stat %q in %s", args[1], data)
		}
		want, err := strconv.Atoi(args[2])
		ts.Check(err)
		if (got == want) == neg {
			ts.Fatalf("stat %s = %d, want %s%d", args[1], got, map[bool]string{true: "not ", false: ""}[neg], want)
		}
	case "nosecrets":
		secrets := p.Secrets()
		if len(secrets) == 0 {
			ts.Fatalf("the provider issued no secrets: nothing to check")
		}
		for _, f := range args[1:] {
			text := ts.ReadFile(f)
			for _, s := range secrets {
				if strings.Contains(text, s) {
					ts.Fatalf("%s contains a secret the provider issued (%.6s…)", f, s)
				}
			}
		}
	default:
		ts.Fatalf("unknown devprovider subcommand %q", args[0])
	}
}

func startProvider(ts *testscript.TestScript, args []string) {
	opts := devprovider.Options{AutoApprove: true, RequirePKCE: true}
	for _, a := range args {
		k, v, _ := strings.Cut(a, "=")
		switch k {
		case "ttl":
			d, err := time.ParseDuration(v)
			ts.Check(err)
			opts.AccessTTL = d
		case "grace":
			d, err := time.ParseDuration(v)
			ts.Check(err)
			opts.ReuseGrace = d
		case "auth":
			opts.AuthStyle = v
		case "rpm":
			n, err := strconv.Atoi(v)
			ts.Check(err)
			opts.RequestsPerMinute = n
		default:
			ts.Fatalf("unknown devprovider option %q", a)
		}
	}
	p := devprovider.New(opts)
	srv := httptest.NewServer(p.Handler())
	ts.Defer(func() { p.Close(); srv.Close() })
	providers.Store(ts, p)
	ts.Defer(func() { providers.Delete(ts) })
	ts.Setenv("API", srv.URL+"/")
	ts.Setenv("DEV_SECRET", "dev-client-secret")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	ts.Check(err)
	ts.Setenv("CALLBACK_PORT", strconv.Itoa(ln.Addr().(*net.TCPAddr).Port))
	ln.Close()
}
