// Package httpx holds the HTTP details every part of freshtoken must agree
// on: what a Link or Retry-After header says, which host names are this
// machine, how an unwanted body is let go, and unguessable tokens.
package httpx

import (
	"io"
	"net/http"
)

// MaxAnswerHeader bounds the header of an API's answer that freshtoken
// reads (Transport.MaxResponseHeaderBytes), as net/http's server bounds a
// request's (http.DefaultMaxHeaderBytes): the request commands and the
// proxy read no more. net/http's client reads 10 MB by default, which a
// hostile API could make freshtoken hold, in the proxy for every
// connection at once.
const MaxAnswerHeader = 1 << 20

// Drain reads what is left of a small unwanted body, up to 64 KiB, so its
// connection can carry the next request, and closes it.
func Drain(resp *http.Response) {
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
}
