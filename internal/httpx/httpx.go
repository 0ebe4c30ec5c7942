// Package httpx holds the HTTP details every part of freshtoken must agree
// on: what a Link or Retry-After header says, which host names are this
// machine, how an unwanted body is let go, and unguessable tokens.
package httpx

import (
	"io"
	"net/http"
)

// Drain reads what is left of a small unwanted body, up to 64 KiB, so its
// connection can carry the next request, and closes it.
func Drain(resp *http.Response) {
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
}
