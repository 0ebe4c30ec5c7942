package testenv

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"testing"
)

// ServeStrayBytes serves an API, on 127.0.0.1 until the test ends, that
// answers every request 204 No Content with a body all the same ("you
// sent " and the Authorization header it was sent), as a hostile API or a
// framework that writes a body for any answer does: bytes net/http's
// transport finds after an answer that has none, and quotes on the log
// package's logger. It returns the address.
func ServeStrayBytes(t testing.TB) string {
	t.Helper()
	return Serve(t, func(c net.Conn) {
		defer c.Close()
		req, err := http.ReadRequest(bufio.NewReader(c))
		if err != nil {
			return
		}
		stray := "you sent " + req.Header.Get("Authorization")
		fmt.Fprintf(c, "HTTP/1.1 204 No Content\r\nContent-Length: %d\r\n\r\n%s", len(stray), stray)
	})
}
