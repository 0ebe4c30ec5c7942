package proxy

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Timeouts a client meets at the proxy. None bounds a whole request or
// answer, so long uploads and event streams pass through; each bounds a
// wait in which the client sends nothing.
const (
	// headerTimeout bounds reading a request's header.
	headerTimeout = 10 * time.Second
	// idleTimeout is how long a kept-alive connection may wait for its
	// next request.
	idleTimeout = 2 * time.Minute
	// bodyIdleTimeout is how long a request's body may pause between two
	// reads before the proxy gives up on the client.
	bodyIdleTimeout = 30 * time.Second
	// sendTimeout is how long a client may take nothing of an answer
	// being written to it, as nginx's send_timeout: one that stopped
	// reading would otherwise hold its connection to the API for ever.
	sendTimeout = time.Minute
)

// shutdownGrace is how long requests in flight get to finish once the
// proxy is asked to stop; stoppedGrace how long those still running then
// get to send the client the proxy's answer that they were cut short.
const (
	shutdownGrace = 5 * time.Second
	stoppedGrace  = time.Second
)

// errStopping ends the requests still in flight once shutdownGrace is over.
var errStopping = errors.New("the proxy is stopping")

// maxHeaderBytes bounds a request's header. Browsers send every cookie set
// for 127.0.0.1, whatever its port, so the proxy's status page can get
// large ones; a request over the limit is answered 431.
const maxHeaderBytes = 32 << 10

// Serve serves the proxy on ln until ctx ends or ln fails. Once ctx ends it
// stops taking requests and gives the requests in flight shutdownGrace to
// finish; those still running then are ended, and their clients told so
// (503, "interrupted"). A temporary accept
// failure, such as running out of file descriptors, does not end it:
// http.Server waits a moment and accepts again.
func (p *Proxy) Serve(ctx context.Context, ln net.Listener) error {
	stopping, stop := context.WithCancelCause(context.Background())
	defer stop(nil)
	srv := &http.Server{
		Handler:           p,
		ReadHeaderTimeout: p.timeouts.header,
		IdleTimeout:       p.timeouts.idle,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(p.log.Handler(), slog.LevelDebug),
		BaseContext:       func(net.Listener) context.Context { return stopping },
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			if fc, ok := c.(*framingConn); ok {
				return context.WithValue(ctx, framingKey{}, fc)
			}
			return ctx
		},
	}
	failed := make(chan error, 1)
	go func() { failed <- srv.Serve(sendLimited{ln, p.timeouts.send}) }()

	var err error
	select {
	case <-ctx.Done():
	case err = <-failed:
	}
	if n := p.serving.Load(); n > 0 && err == nil && p.o.Stopping != nil {
		p.o.Stopping(int(n), p.timeouts.shutdown)
	}
	grace, cancel := context.WithTimeout(context.Background(), p.timeouts.shutdown)
	defer cancel()
	if srv.Shutdown(grace) != nil {
		stop(errStopping)
		last, cancel := context.WithTimeout(context.Background(), stoppedGrace)
		defer cancel()
		if srv.Shutdown(last) != nil {
			srv.Close()
		}
	}
	p.background.stop()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// background is the proxy's work that must not be cut off when it stops:
// a device log-in's polls, which outlive the request that began them, and
// the code exchange that finishes a browser log-in. Serve waits for it
// before it returns: a token request in flight and the storing of the
// tokens it brings run to completion, as a renewal's do (the code is spent
// once answered).
type background struct {
	ctx    context.Context // ends when the proxy stops
	cancel context.CancelFunc

	mu      sync.Mutex
	stopped bool
	running sync.WaitGroup
}

// hold marks work that Serve waits for until release is called. Once the
// proxy has stopped it holds nothing and reports false.
func (b *background) hold() (release func(), ok bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.stopped {
		return nil, false
	}
	b.running.Add(1)
	return b.running.Done, true
}

// Go runs fn in a goroutine held so, with a context that ends when the
// proxy stops; false, running nothing, once it has stopped.
func (b *background) Go(fn func(ctx context.Context)) bool {
	release, ok := b.hold()
	if ok {
		go func() {
			defer release()
			fn(b.ctx)
		}()
	}
	return ok
}

// stop ends the work's context and waits for it to finish.
func (b *background) stop() {
	b.mu.Lock()
	b.stopped = true
	b.mu.Unlock()
	b.cancel()
	b.running.Wait()
}

// sendLimited is a listener whose connections give every write limit to
// be accepted by the client (see sendTimeout). Whatever writes to a
// connection, the server or a protocol switched to (a websocket), writes
// through Write, which sets the deadline first.
type sendLimited struct {
	net.Listener
	limit time.Duration
}

func (l sendLimited) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err // as it is: the server waits and accepts again after a temporary one
	}
	return &framingConn{sendLimitedConn: &sendLimitedConn{Conn: c, limit: l.limit}}, nil
}

type sendLimitedConn struct {
	net.Conn
	limit time.Duration
}

// Write gives the client the limit to take some of b, and the limit again
// each time it has taken some: it is a wait in which the client takes
// nothing that ends the connection, as with nginx's send_timeout, so a
// client reading slowly but steadily gets the whole answer.
func (c *sendLimitedConn) Write(b []byte) (int, error) {
	n := 0
	for {
		c.Conn.SetWriteDeadline(time.Now().Add(c.limit))
		m, err := c.Conn.Write(b[n:])
		n += m
		if m == 0 || err == nil || !errors.Is(err, os.ErrDeadlineExceeded) {
			return n, err
		}
	}
}

// CloseWrite lets the server close its side first, so that a client still
// sending reads the answer before the connection is reset.
func (c *sendLimitedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// framingConn is a client's connection whose requests' headers are looked
// through, as they are read, for framing a server must not trust: both
// Content-Length and Transfer-Encoding, or Transfer-Encoding in HTTP/1.0.
// net/http reads such a request as chunked (or, in HTTP/1.0, by its
// Content-Length) and deletes both headers before the handler sees them,
// then keeps the connection open, where RFC 9112 (6.1, 6.3) says the server
// MUST close it after answering: something in front of the proxy that
// framed it the other way would send the rest as another request
// (smuggling). The handler sees faulty and closes the connection after its
// answer (see closeIfFaultyFraming).
type framingConn struct {
	*sendLimitedConn
	scan   framingScan // read by Read alone: net/http reads one at a time
	faulty atomic.Bool
}

func (c *framingConn) Read(p []byte) (int, error) {
	n, err := c.sendLimitedConn.Read(p)
	if !c.faulty.Load() && c.scan.feed(p[:n]) {
		c.faulty.Store(true)
	}
	return n, err
}

type framingKey struct{}

// closeIfFaultyFraming has the connection of r closed after the answer to
// it if a request read on it so far was framed faultily. That may be a
// request pipelined after r, read with it: closing then is as safe, and
// that request is not served.
func closeIfFaultyFraming(w http.ResponseWriter, r *http.Request) {
	if fc, ok := r.Context().Value(framingKey{}).(*framingConn); ok && fc.faulty.Load() {
		w.Header().Set("Connection", "close")
	}
}

// framingScan reads a connection's bytes as lines, as net/textproto does
// (each ending in \n, a \r before it dropped), and reports a block of lines
// (up to an empty one, which ends a header) that holds both a
// Content-Length and a Transfer-Encoding field, or a Transfer-Encoding
// field and a line ending in HTTP/1.0. It reads every byte, bodies too,
// since it cannot know where they end; a body's lines can make it see
// faulty framing that is not there (the connection is closed for nothing),
// never hide a header's, whose lines all follow the end of what came
// before them. Only the first bytes and the last of each line are kept.
type framingScan struct {
	head   [len("transfer-encoding:")]byte
	tail   [len(" HTTP/1.0\r")]byte
	n      int // the current line's length so far
	cl, te bool
	http10 bool
}

// feed reads b and reports whether a block ended in it was framed faultily.
func (s *framingScan) feed(b []byte) (faulty bool) {
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			s.add(b)
			return faulty
		}
		s.add(b[:i])
		b = b[i+1:]
		if s.endLine() {
			faulty = true
		}
	}
	return faulty
}

func (s *framingScan) add(seg []byte) {
	if s.n < len(s.head) {
		copy(s.head[s.n:], seg)
	}
	s.n += len(seg)
	if len(seg) >= len(s.tail) {
		copy(s.tail[:], seg[len(seg)-len(s.tail):])
	} else {
		copy(s.tail[:], s.tail[len(seg):])
		copy(s.tail[len(s.tail)-len(seg):], seg)
	}
}

// endLine ends the current line and reports whether it ended a block
// framed faultily.
func (s *framingScan) endLine() bool {
	n := s.n
	s.n = 0
	if n == 0 || n == 1 && s.head[0] == '\r' { // the end of a header
		faulty := s.te && (s.cl || s.http10)
		s.cl, s.te, s.http10 = false, false, false
		return faulty
	}
	head := s.head[:min(n, len(s.head))]
	s.cl = s.cl || hasPrefixFold(head, "content-length:")
	s.te = s.te || hasPrefixFold(head, "transfer-encoding:")
	tail := bytes.TrimSuffix(s.tail[len(s.tail)-min(n, len(s.tail)):], []byte("\r"))
	s.http10 = s.http10 || bytes.HasSuffix(tail, []byte(" HTTP/1.0"))
	return false
}

func hasPrefixFold(b []byte, prefix string) bool {
	return len(b) >= len(prefix) && bytes.EqualFold(b[:len(prefix)], []byte(prefix))
}
