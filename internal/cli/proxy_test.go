package cli_test

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// TestProxyScripts runs the scripts in testdata/proxy: the real freshtoken
// binary serving the proxy in the background, other freshtoken processes
// and HTTP clients using it, against a dev provider over loopback HTTP.
func TestProxyScripts(t *testing.T) {
	runScripts(t, "testdata/proxy", map[string]func(ts *testscript.TestScript, neg bool, args []string){
		"waithttp": cmdWaitHTTP,
		"fetch":    cmdFetch,
	})
}

// cmdWaitHTTP waits until a server started in the background answers HTTP
// at an address, for at most 30 seconds:
//
//	waithttp HOST:PORT
func cmdWaitHTTP(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: waithttp HOST:PORT")
	}
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := client.Get("http://" + args[0] + "/")
		if err == nil {
			resp.Body.Close()
			return
		}
		if time.Now().After(deadline) {
			ts.Fatalf("nothing answers HTTP at %s: %v", args[0], err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// cmdFetch sends a GET as any HTTP client would, asserts the status, and
// writes the body to FILE:
//
//	fetch [-H 'Key: Value']... STATUS URL FILE
func cmdFetch(ts *testscript.TestScript, neg bool, args []string) {
	var headers []string
	for len(args) > 1 && args[0] == "-H" {
		headers, args = append(headers, args[1]), args[2:]
	}
	if neg || len(args) != 3 {
		ts.Fatalf("usage: fetch [-H 'Key: Value']... STATUS URL FILE")
	}
	want, err := strconv.Atoi(args[0])
	ts.Check(err)
	req, err := http.NewRequest(http.MethodGet, args[1], nil)
	ts.Check(err)
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ":")
		if k, v = strings.TrimSpace(k), strings.TrimSpace(v); strings.EqualFold(k, "Host") {
			req.Host = v // as a browser names the address it opens
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	ts.Check(err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	ts.Check(err)
	ts.Check(os.WriteFile(ts.MkAbs(args[2]), body, 0o600))
	if resp.StatusCode != want {
		ts.Fatalf("%s answered %d, want %d: %s", args[1], resp.StatusCode, want, fmt.Sprintf("%.300s", body))
	}
}
