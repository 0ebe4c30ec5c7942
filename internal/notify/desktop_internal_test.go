package notify

import (
	"slices"
	"strings"
	"testing"
)

// TestDesktopCommandCarriesTheWordsAsTheyAre: the notice's words reach the
// notifier as arguments of their own, never written into a script: on
// macOS, osascript's AppleScript knows none of Go's escapes (%q wrote U+200B
// as \u200b, and the notice failed to show), and a quote in a provider's
// words would end the script's string. On Linux the body is markup, escaped.
func TestDesktopCommandCarriesTheWordsAsTheyAre(t *testing.T) {
	n := Notice{Env: "-prod", Message: "renewals \"failing\" \u200b <b>since</b> \\ 10:00"}
	name, args, err := desktopCommand("darwin", n)
	if err != nil || name != "osascript" {
		t.Fatalf("darwin: %s, %v", name, err)
	}
	if got := args[len(args)-2:]; !slices.Equal(got, []string{"freshtoken: -prod", n.Message}) {
		t.Errorf("osascript's last arguments %q; want the title, then the message as it is", got)
	}
	for _, a := range args[:len(args)-2] {
		if strings.Contains(a, "failing") || strings.Contains(a, "prod") {
			t.Errorf("the script %q holds the notice's words", a)
		}
	}
	name, args, err = desktopCommand("linux", n)
	if err != nil || name != "notify-send" || !slices.Equal(args[:2], []string{"--", "freshtoken: -prod"}) || strings.Contains(args[2], "<b>") {
		t.Errorf("linux: %s %q, %v; want notify-send -- TITLE and the body's markup escaped", name, args, err)
	}
	if _, _, err := desktopCommand("plan9", n); err == nil {
		t.Error("plan9: no error; want none there")
	}
}
