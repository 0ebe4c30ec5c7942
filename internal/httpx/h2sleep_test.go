package httpx_test

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"testing"

	"github.com/freshtoken/freshtoken/internal/httpx"
	"github.com/freshtoken/freshtoken/internal/testenv"
)

// TestSharedTransportGivesUpOnASilentHTTP2Connection: a request in flight
// over HTTP/2 when the machine slept keeps its connection busy, so the
// closing of idle connections on waking leaves it, and every request made
// after the wake went onto it and waited out its whole timeout (the
// renewal, an API call); the transports every environment shares now ask
// a silent connection for a PING and drop it when none comes back.
func TestSharedTransportGivesUpOnASilentHTTP2Connection(t *testing.T) {
	testenv.GivesUpOnASilentHTTP2Connection(t, func(roots *x509.CertPool) *http.Transport {
		tr, err := httpx.SharedTransport("")
		if err != nil {
			t.Fatal(err)
		}
		tr = tr.Clone() // shared: the test's trust and ping times are its own
		tr.TLSClientConfig = &tls.Config{RootCAs: roots}
		return tr
	})
}
