//go:build unix

package cli

import (
	"net"
	"net/url"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken/config"
	"github.com/freshtoken/freshtoken/internal/atomicfile"
	"github.com/freshtoken/freshtoken/internal/failure"
)

// TestAnAPIConnectionOutOfFilesIsTheAPIs: a request whose connection to
// the API could not be opened as freshtoken had as many files open as it
// may (EMFILE) printed net/http's words alone ("dial tcp …: socket: too
// many open files"), naming neither the environment nor the API, sorted
// as the token store's failure (503 store_unreachable). It is told as the
// API that could not be reached, with the limit to raise as what to do,
// not to check the connection and api_url.
func TestAnAPIConnectionOutOfFilesIsTheAPIs(t *testing.T) {
	env := &config.Env{Name: "dev", Timeout: time.Second}
	dial := &url.Error{Op: "Get", URL: "https://api.example.com/v2/company", Err: &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("socket", syscall.EMFILE)}}
	err := requestError(dial, env, "https://api.example.com/v2/company")
	want := "dev: the API at https://api.example.com/v2/company could not be reached (dial tcp: socket: too many open files); " + atomicfile.OutOfFilesStep(syscall.EMFILE)
	if err.Error() != want || failure.Of(err) != failure.APIUnreachable || failure.Next(err, "dev") != "" {
		t.Errorf("requestError = %q (kind %v, next %q); want %q, api_unreachable, told once", err, failure.Of(err), failure.Next(err, "dev"), want)
	}
}
