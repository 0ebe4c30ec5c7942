package cli

import (
	"testing"
	"time"
)

// TestLoginArgsAreTheLogInToRunAgain: the command a log-in's refusal
// suggests (`… --yes` to replace tokens) is the very log-in given: with
// its --no-browser or --manual, and its --timeout when given. It kept
// --manual alone, and a person whose browser cannot open, or who needed
// longer to approve, ran a log-in that failed otherwise.
func TestLoginArgsAreTheLogInToRunAgain(t *testing.T) {
	for _, tc := range []struct {
		opts loginOptions
		want string
	}{
		{loginOptions{Timeout: 5 * time.Minute}, "login -e dev"},
		{loginOptions{NoBrowser: true, Timeout: 5 * time.Minute}, "login --no-browser -e dev"},
		{loginOptions{Manual: true, Timeout: 5 * time.Minute}, "login --manual -e dev"},
		{loginOptions{NoBrowser: true, Timeout: 10 * time.Minute, TimeoutSet: true}, "login --no-browser --timeout 10m -e dev"},
		{loginOptions{Manual: true, Timeout: 2 * time.Hour, TimeoutSet: true}, "login --manual --timeout 2h -e dev"},
		{loginOptions{Timeout: 90 * time.Second, TimeoutSet: true}, "login --timeout 1m30s -e dev"},
		{loginOptions{Timeout: time.Hour + 30*time.Minute, TimeoutSet: true}, "login --timeout 1h30m -e dev"},
		{loginOptions{Timeout: 1500 * time.Millisecond, TimeoutSet: true}, "login --timeout 1.5s -e dev"},
	} {
		if got := loginArgs(&tc.opts, "dev"); got != tc.want {
			t.Errorf("loginArgs(%+v) = %q; want %q", tc.opts, got, tc.want)
		}
		if tc.opts.TimeoutSet {
			if d, err := time.ParseDuration(flagDuration(tc.opts.Timeout)); err != nil || d != tc.opts.Timeout {
				t.Errorf("--timeout %s reads as %s, %v; want %s", flagDuration(tc.opts.Timeout), d, err, tc.opts.Timeout)
			}
		}
	}
}
