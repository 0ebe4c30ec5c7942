package cli

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
)

func testFactory() *Factory {
	return &Factory{IO: &IOStreams{In: strings.NewReader(""), Out: &bytes.Buffer{}, ErrOut: &bytes.Buffer{}}}
}

func execute(t *testing.T, cmd *cobra.Command, args string) error {
	t.Helper()
	cmd.SetArgs(strings.Fields(args))
	cmd.SetOut(&bytes.Buffer{})
	cmd.SetErr(&bytes.Buffer{})
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	cmd.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return usageErrorf("%v", err) })
	return cmd.Execute()
}

// flagCase is a command line and the options it gives, or, with wantErr, a
// usage error before the command runs.
type flagCase[O any] struct {
	args    string
	want    O
	wantErr bool
}

// checkFlags runs each case through the command newCmd builds around a run
// function that only keeps the options, and compares them with same.
func checkFlags[O any](t *testing.T, tests []flagCase[O], newCmd func(*Factory, func(*O) error) *cobra.Command, same func(got, want O) bool) {
	t.Helper()
	for _, tt := range tests {
		var got *O
		cmd := newCmd(testFactory(), func(o *O) error { got = o; return nil })
		err := execute(t, cmd, tt.args)
		if tt.wantErr {
			if ExitCode(err) != ExitUsage || got != nil {
				t.Errorf("%q: err %v, ran %v; want a usage error before running", tt.args, err, got != nil)
			}
			continue
		}
		if err != nil || !same(*got, tt.want) {
			t.Errorf("%q: got %+v, %v; want %+v", tt.args, got, err, tt.want)
		}
	}
}

func TestTokenFlags(t *testing.T) {
	checkFlags(t, []flagCase[tokenOptions]{
		{"", tokenOptions{}, false},
		{"--json", tokenOptions{JSON: true}, false},
		{"--force --json", tokenOptions{JSON: true, Force: true}, false},
		{"--min-valid 10m", tokenOptions{MinValid: 10 * time.Minute}, false},
		{"--min-valid soon", tokenOptions{}, true},
		{"--min-valid -5m", tokenOptions{}, true},
		{"--force --min-valid 10m", tokenOptions{}, true},
		{"extra", tokenOptions{}, true},
	}, newTokenCmd, func(g, w tokenOptions) bool {
		return g.JSON == w.JSON && g.Force == w.Force && g.MinValid == w.MinValid
	})
}

func TestLoginFlags(t *testing.T) {
	checkFlags(t, []flagCase[loginOptions]{
		{"", loginOptions{Timeout: 5 * time.Minute}, false},
		{"--no-browser", loginOptions{NoBrowser: true, Timeout: 5 * time.Minute}, false},
		{"--manual --timeout 30s", loginOptions{Manual: true, Timeout: 30 * time.Second}, false},
		{"--manual --no-browser", loginOptions{}, true},
		{"--timeout soon", loginOptions{}, true},
	}, newLoginCmd, func(g, w loginOptions) bool {
		return g.NoBrowser == w.NoBrowser && g.Manual == w.Manual && g.Timeout == w.Timeout
	})
}
