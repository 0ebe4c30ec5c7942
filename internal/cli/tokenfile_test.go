package cli_test

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/freshtoken/freshtoken/config"
	"github.com/freshtoken/freshtoken/internal/cli"
	"github.com/freshtoken/freshtoken/internal/testenv"
)

// TestForgettingTokensRemovesTheTokenFileFreshtokenWrote: `remove` and
// `logout --local` removed the token_file only while it held the stored
// access token; one a proxy's keeper wrote before a renewal elsewhere
// (the keeper had yet to write the newer token, or was stopped) kept the
// older access token on disk, usable until it expired, after the user took
// the environment out. A token file freshtoken wrote, as noted in its
// ledger, now goes, and is said to; a file of the user's own at the
// token_file's path, which freshtoken did not write, is left, and said so.
func TestForgettingTokensRemovesTheTokenFileFreshtokenWrote(t *testing.T) {
	for _, forget := range [][]string{{"remove", "-e", "dev", "--yes"}, {"logout", "--local", "-e", "dev"}} {
		t.Run(forget[0], func(t *testing.T) {
			t.Setenv("XDG_STATE_HOME", t.TempDir()) // the ledger's folder
			e := newDevEnv(t)
			file := filepath.Join(e.dir, "dev-token")
			e.configureWith(t, config.EnvSettings{ClientSecret: "dev-client-secret", TokenFile: file})
			e.loginOutside(t)
			stderr := forgetAfterARenewal(t, e, keeperWrites(t, e, file), forget)
			if _, err := os.Lstat(file); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("%s left the token file freshtoken wrote, holding an older access token (%v): %s", forget[0], err, stderr)
			}
			if !strings.Contains(stderr, "Its token file "+file+", which held an access token freshtoken wrote, was removed.") {
				t.Errorf("stderr = %q; want it to say the token file was removed", stderr)
			}

			// One a keeper wrote of tokens logged out since on another
			// machine (a Redis store they share): logout, with nothing to
			// log out of, removes it too.
			if forget[0] == "logout" {
				e.loginOutside(t)
				keeperWrites(t, e, file)
				src, err := config.Open(t.Context(), config.OpenOptions{Path: e.config, Env: "dev"})
				if err != nil {
					t.Fatal(err)
				}
				if err := src.Logout(t.Context()); err != nil {
					t.Fatal(err)
				}
				ios, _, stderr := testStreams(false, false)
				if code := e.run(ios, forget...); code != 0 || !strings.Contains(stderr.String(), "nothing to log out of") {
					t.Fatalf("logout with no tokens: exit %d, %s", code, stderr)
				}
				if _, err := os.Lstat(file); !errors.Is(err, os.ErrNotExist) {
					t.Fatalf("logout with no tokens left the token file a keeper wrote (%v): %s", err, stderr)
				}
			}

			// A file of the user's own there is left alone.
			e.configureWith(t, config.EnvSettings{ClientSecret: "dev-client-secret", TokenFile: file})
			e.loginOutside(t)
			if err := os.WriteFile(file, []byte("a-token-of-my-own\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			ios, _, errOut := testStreams(false, false)
			if code := e.run(ios, forget...); code != 0 {
				t.Fatalf("%s: exit %d, %s", forget[0], code, errOut)
			}
			if got, err := os.ReadFile(file); err != nil || string(got) != "a-token-of-my-own\n" {
				t.Fatalf("%s changed a token file of the user's own: %q, %v", forget[0], got, err)
			}
			if msg := errOut.String(); !strings.Contains(msg, "left as it is: freshtoken has no note of writing what it holds; if that is a token of dev's, delete it.") {
				t.Errorf("stderr = %q; want it to say the user's file was left", msg)
			}
		})
	}
}

// TestATokenFileLeftIsNotSaidToBeTheUsers: a token file a keeper wrote
// whose note `remove` and `logout` cannot read (the keeper a service with
// another $XDG_STATE_HOME, or its note not written on a full disk), holding
// an older access token, is left, as freshtoken cannot tell it from a file
// of the user's: it was said that "freshtoken did not write what it holds",
// so the user kept a file holding a live token for theirs. It is now said
// that freshtoken has no note of writing it, and to delete it if it holds
// the environment's token.
func TestATokenFileLeftIsNotSaidToBeTheUsers(t *testing.T) {
	for _, forget := range [][]string{{"remove", "-e", "dev", "--yes"}, {"logout", "--local", "-e", "dev"}} {
		t.Run(forget[0], func(t *testing.T) {
			e := newDevEnv(t)
			file := filepath.Join(e.dir, "dev-token")
			e.configureWith(t, config.EnvSettings{ClientSecret: "dev-client-secret", TokenFile: file})
			e.loginOutside(t)
			t.Setenv("XDG_STATE_HOME", t.TempDir()) // the service's
			written := keeperWrites(t, e, file)
			t.Setenv("XDG_STATE_HOME", t.TempDir()) // the user's shell's
			msg := forgetAfterARenewal(t, e, written, forget)
			if got, err := os.ReadFile(file); err != nil || string(got) != string(written) {
				t.Fatalf("%s: the token file holds %q, %v; want it left, holding what the keeper wrote", forget[0], got, err)
			}
			if strings.Contains(msg, "freshtoken did not write") || !strings.Contains(msg, "freshtoken has no note of writing what it holds; if that is a token of dev's, delete it.") {
				t.Errorf("stderr = %q; want it to say freshtoken has no note of writing the file, and to delete it if it holds dev's token", msg)
			}
		})
	}
}

// forgetAfterARenewal renews e's tokens with no keeper running, so that
// the token file keeps written, the older token, then runs forget (a
// remove or a log-out), and returns what it said on stderr.
func forgetAfterARenewal(t *testing.T, e *devEnv, written []byte, forget []string) string {
	t.Helper()
	ios, stdout, stderr := testStreams(false, false)
	if code := e.run(ios, "token", "--force"); code != 0 || stdout.String() == string(written) {
		t.Fatalf("token --force: exit %d, %s%s; want a new token", code, stdout, stderr)
	}
	ios, _, stderr = testStreams(false, false)
	if code := e.run(ios, forget...); code != 0 {
		t.Fatalf("%s: exit %d, %s", forget[0], code, stderr)
	}
	return stderr.String()
}

// keeperWrites runs `proxy --no-listen` on e's configuration until its
// keeper has written the token file at file, and returns what it wrote.
func keeperWrites(t *testing.T, e *devEnv, file string) []byte {
	t.Helper()
	os.Remove(file)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	root := cli.NewRootCmd(&cli.Factory{IO: &cli.IOStreams{In: strings.NewReader(""), Out: io.Discard, ErrOut: io.Discard}})
	root.SetArgs([]string{"--config", e.config, "proxy", "--no-listen"})
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()
	testenv.WaitFor(t, "the keeper to write the token file", func() bool {
		_, err := os.Stat(file)
		return err == nil
	})
	cancel()
	testenv.Receive(t, "the proxy's end", done)
	written, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return written
}
