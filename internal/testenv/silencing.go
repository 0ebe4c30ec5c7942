package testenv

import (
	"net"
	"sync"
	"testing"
)

// Silencing is a TCP relay on 127.0.0.1 to a server whose connections can
// fall silent, as those a laptop kept open do when it sleeps and wakes on
// another network: from Silence on, nothing more passes either way on the
// connections made so far, and neither end is told (no FIN, no RST).
// Connections made after Silence pass as before: the network the machine
// woke on.
type Silencing struct {
	// Addr is the relay's host:port.
	Addr string

	mu     sync.Mutex
	era    int // Silence's count: a connection of an earlier era is silent
	dialed int
}

// NewSilencing starts a Silencing to the server at address until the test
// ends.
func NewSilencing(t testing.TB, address string) *Silencing {
	t.Helper()
	s := &Silencing{}
	s.Addr = Serve(t, func(client net.Conn) {
		server, err := net.Dial("tcp", address)
		if err != nil {
			client.Close()
			return
		}
		t.Cleanup(func() { client.Close(); server.Close() })
		s.mu.Lock()
		era := s.era
		s.dialed++
		s.mu.Unlock()
		go s.copy(client, server, era)
		s.copy(server, client, era)
	})
	return s
}

// copy passes what src sends on to dst while dst's era is not over, and
// drops it after.
func (s *Silencing) copy(dst, src net.Conn, era int) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		s.mu.Lock()
		silent := s.era != era
		s.mu.Unlock()
		if !silent && n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			if !silent {
				dst.Close()
			}
			return
		}
	}
}

// Silence makes every connection made so far silent for good.
func (s *Silencing) Silence() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.era++
}

// Dials is the number of connections made through the relay.
func (s *Silencing) Dials() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dialed
}
