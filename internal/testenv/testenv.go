// Package testenv lets a test that needs something of the machine (root, a
// program, a pseudo-terminal) be skipped where that is missing, except
// under CI (CI set, as .ci/run does): there a missing need fails the test,
// since CI provides everything and a skipped guard would pass unnoticed. It
// also gives tests one way to wait for something (with a deadline), to wait
// for what a running command prints (Output), and to send an HTTP request
// and read its answer.
package testenv

import (
	"io"
	"net"
	"net/http"
	"os"
	"testing"
	"time"
)

// Missing skips t, or fails it under CI, saying what the machine lacks.
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf("CI must provide what this test needs: "+format, args...)
	}
	t.Skipf(format, args...)
}

// NeedRoot is Missing unless the test runs as root, as CI does; what says
// what root is needed for.
func NeedRoot(t testing.TB, what string) {
	t.Helper()
	if os.Geteuid() != 0 {
		Missing(t, "%s needs root; CI runs as root", what)
	}
}

// WaitFor polls until cond holds, and fails the test if it does not within
// 30 seconds, which no passing run comes near.
func WaitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Do sends req with client (http.DefaultClient when nil) and returns the
// answer with its body read and closed, failing t if either goes wrong.
func Do(t testing.TB, client *http.Client, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

// FreePort is a port on 127.0.0.1 that was free a moment ago, for a
// configuration to name before the program that listens on it starts.
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
