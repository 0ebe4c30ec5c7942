//go:build !unix

package proxy

import "net"

// requestWaiting reports whether c has bytes come that are not read
// yet; not known here, so a connection whose request has come but is not
// read yet is closed at a stop, as http.Server does.
func requestWaiting(net.Conn) bool { return false }
