//go:build unix

package failure_test

import (
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/internal/atomicfile"
	"github.com/freshtoken/freshtoken/internal/failure"
	"github.com/freshtoken/freshtoken/store"
)

// TestOutOfFilesIsOneRule: a file that could not be opened because
// freshtoken has as many open as it may (EMFILE, ENFILE) is one kind
// wherever it was opened, exit 5, with the limit to raise as the next
// step, unless the message says it already (the token store's). The
// configuration's was a configuration error, exit 2, with no next step.
func TestOutOfFilesIsOneRule(t *testing.T) {
	stored := fmt.Errorf("%w: %w; %s", store.ErrUnreachable, &fs.PathError{Op: "open", Path: "/s/dev.json", Err: syscall.EMFILE}, atomicfile.OutOfFilesStep(syscall.EMFILE))
	for _, tc := range []struct {
		name, next string
		err        error
	}{
		{"the configuration", atomicfile.OutOfFilesStep(syscall.EMFILE), fmt.Errorf("/c/config.toml: cannot read it: %w", syscall.EMFILE)},
		{"the system's limit", atomicfile.OutOfFilesStep(syscall.ENFILE), fmt.Errorf("/c/ca.pem: %w", syscall.ENFILE)},
		{"the store, which says it", "", stored},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := failure.Of(tc.err)
			if k != failure.StoreUnreachable || k.Row().Exit != 5 || failure.Next(tc.err, "dev") != tc.next || strings.Count(tc.err.Error()+failure.Next(tc.err, "dev"), "ulimit -n") != 1 {
				t.Fatalf("%v: kind %v, next %q; want exit 5 and the limit to raise, told once", tc.err, k, failure.Next(tc.err, "dev"))
			}
		})
	}
}

// TestAConnectionOutOfFilesIsNotTheStores: a connection that could not be
// opened as freshtoken has as many files open as it may (a *net.OpError
// carrying EMFILE, as net/http returns it) is the failure of whoever it
// went to: the provider's (a device log-in, a revocation) is
// provider_unreachable, and the API's is left for the request to tell as
// the API's, not 503 store_unreachable, which blamed the token store (and
// `freshtoken get` printed net/http's words alone, naming neither the
// environment nor the API). The next step still names the limit to raise.
func TestAConnectionOutOfFilesIsNotTheStores(t *testing.T) {
	dial := &url.Error{Op: "Post", URL: "https://id.example.com/token", Err: &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("socket", syscall.EMFILE)}}
	provider := &freshtoken.Error{Env: "dev", Kind: freshtoken.ErrUnreachable, Err: dial, Msg: "the provider's revocation endpoint https://id.example.com/revoke could not revoke the refresh token (" + dial.Err.Error() + ")"}
	if k, next := failure.Of(provider), failure.Next(provider, "dev"); k != failure.ProviderUnreachable || !strings.Contains(next, "ulimit -n") {
		t.Errorf("the provider's connection: kind %v, next %q; want provider_unreachable and the limit to raise", k, next)
	}
	if k := failure.Of(dial); k == failure.StoreUnreachable {
		t.Errorf("the API's connection: kind %v; want it left to the request to tell as the API's", k)
	}
}
