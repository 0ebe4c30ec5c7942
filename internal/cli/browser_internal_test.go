package cli

import (
	"errors"
	"testing"
)

// TestBrowserLauncherErrorMasksSecretShapedWords: a browser launcher that
// fails has the first line it printed quoted in the error login prints; a
// launcher (a script of the person's) that printed a token there had it
// shown whole on the terminal and in a proxy's log. Words shaped like
// secrets are masked, the rest kept. (launchError itself: openBrowser
// takes a launcher still running after a second to have opened the page.)
func TestBrowserLauncherErrorMasksSecretShapedWords(t *testing.T) {
	const token = "ghp_R8nT2vXk5LmQ9wYb3HcZ7dJf1sGpA4eUo6Ni"
	err := launchError(errors.New("launcher: exit status 1"), "launcher: profile locked, token "+token+"\nmore")
	if want := "launcher: exit status 1: launcher: profile locked, token ghp_R8nT…(40 chars)"; err.Error() != want {
		t.Fatalf("launchError of a launcher printing a token: %q; want %q", err, want)
	}
}
