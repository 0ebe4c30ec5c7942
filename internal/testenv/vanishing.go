package testenv

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
)

// Vanishing is a server on 127.0.0.1 whose connections can vanish, as
// those a laptop kept alive do when it sleeps and resumes elsewhere: the
// peer neither answers them nor closes them. Until then it serves with
// its handler.
type Vanishing struct {
	*httptest.Server
	mu    sync.Mutex
	conns []*atomic.Bool // each connection's vanished mark
	dials atomic.Int32
	lost  atomic.Int32
	// OnLost, if set, is called at each request sent on a vanished
	// connection.
	OnLost func()
}

type connMark struct{}

// NewVanishing starts a Vanishing serving with h, until the test ends.
func NewVanishing(t testing.TB, h http.Handler) *Vanishing {
	t.Helper()
	v := &Vanishing{}
	ended := make(chan struct{})
	v.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if !req.Context().Value(connMark{}).(*atomic.Bool).Load() {
			h.ServeHTTP(w, req)
			return
		}
		v.lost.Add(1)
		if v.OnLost != nil {
			v.OnLost()
		}
		io.Copy(io.Discard, req.Body) // so that the client's giving up ends the context
		select {                      // silent until the client gives up
		case <-req.Context().Done():
		case <-ended:
		}
	}))
	v.Config.ConnContext = func(ctx context.Context, _ net.Conn) context.Context {
		mark := &atomic.Bool{}
		v.mu.Lock()
		v.conns = append(v.conns, mark)
		v.mu.Unlock()
		v.dials.Add(1)
		return context.WithValue(ctx, connMark{}, mark)
	}
	v.Start()
	t.Cleanup(v.Close)
	t.Cleanup(func() { close(ended) }) // first: no handler waits on
	return v
}

// Vanish makes every connection made so far silent for good.
func (v *Vanishing) Vanish() {
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, c := range v.conns {
		c.Store(true)
	}
}

// Dials is the number of connections made.
func (v *Vanishing) Dials() int32 { return v.dials.Load() }

// Lost is the number of requests sent on a vanished connection.
func (v *Vanishing) Lost() int32 { return v.lost.Load() }
