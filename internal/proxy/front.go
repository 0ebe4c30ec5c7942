package proxy

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/freshtoken/freshtoken/config"
	"github.com/freshtoken/freshtoken/internal/httpx"
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

// newConnIdle is how long a connection may send nothing, once accepted,
// before a stop takes it for idle, as http.Server does: a browser opens
// spare connections it may never use.
const newConnIdle = 5 * time.Second

// errStopping ends the requests still in flight once shutdownGrace is over.
var errStopping = errors.New("the proxy is stopping")

// maxHeaderBytes bounds a request's header. Browsers send every cookie set
// for 127.0.0.1, whatever its port, so the proxy's status page can get
// large ones; a request over the limit is answered 431.
const maxHeaderBytes = 32 << 10

// Serve serves the proxy on ln until ctx ends or ln fails. Once ctx ends it
// stops accepting connections and gives the requests in flight, and those
// sent on the connections it had accepted, kept ones too, shutdownGrace to
// finish; those still running then are ended, and their clients told so
// (503, "interrupted"). Each connection's program is looked up at its
// first request, and another user's refused (see peers). A temporary accept
// failure, such as running out of file descriptors, does not end it:
// http.Server waits a moment and accepts again.
func (p *Proxy) Serve(ctx context.Context, ln net.Listener) error {
	stopping, stop := context.WithCancelCause(config.WithSecretCommandNotice(context.Background(), p.o.SecretCommandNotice))
	defer stop(nil)
	srv := &http.Server{
		ReadHeaderTimeout: p.timeouts.header,
		IdleTimeout:       p.timeouts.idle,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(p.log.Handler(), slog.LevelDebug),
		BaseContext:       func(net.Listener) context.Context { return stopping },
		ConnContext:       withConnPeer,
	}
	var (
		open atomic.Int64 // connections accepted and not yet closed
		mu   sync.Mutex
		// idle holds the connections waiting for a request: since it was
		// accepted, for its first one; zero, for the next.
		idle = map[*sendLimitedConn]time.Time{}
	)
	srv.ConnState = func(nc net.Conn, s http.ConnState) {
		c := nc.(*sendLimitedConn) // as Serve accepts them
		mu.Lock()
		defer mu.Unlock()
		delete(idle, c)
		switch s {
		case http.StateNew:
			open.Add(1)
			idle[c] = p.now()
		case http.StateActive:
			c.ending.Store(false)
		case http.StateIdle:
			c.heard.Store(false)
			if !p.draining.Load() {
				idle[c] = time.Time{}
			} else if !c.requestCome() {
				c.ending.Store(true)
			}
		case http.StateClosed, http.StateHijacked:
			open.Add(-1)
		}
	}
	srv.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.ServeHTTP(&stopTelling{ResponseWriter: w, draining: &p.draining}, r)
	})
	// closeIdle closes the connections waiting for their next request,
	// and those that have sent nothing since they were accepted
	// newConnIdle ago, but for one whose request has come; from then on,
	// answers close their connection, and one waiting after its answer
	// ends once the server has served what it had read of it (see
	// sendLimitedConn.Read).
	closeIdle := func() {
		mu.Lock()
		defer mu.Unlock()
		p.draining.Store(true)
		for c, accepted := range idle {
			if (accepted.IsZero() || p.now().Sub(accepted) > newConnIdle) && !c.requestCome() {
				c.Close()
			}
		}
	}
	p.watchPeers(ln)
	failed := make(chan error, 1)
	go func() {
		failed <- srv.Serve(sendLimited{Listener: ln, limit: p.timeouts.send, outOfFiles: p.outOfFiles})
	}()

	var err error
	select {
	case <-ctx.Done():
	case err = <-failed:
	}
	if err == nil {
		// Before Stopping tells of the stop: an answer begun after it
		// says that its connection closes.
		p.draining.Store(true)
	}
	if n := p.serving.Load(); n > 0 && err == nil && p.o.Stopping != nil {
		p.o.Stopping(int(n), p.timeouts.shutdown)
	}
	grace, cancel := context.WithTimeout(context.Background(), p.timeouts.shutdown)
	defer cancel()
	if err == nil {
		drain(grace, closeIdle, ln, failed, &open)
	}
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

// drain stops accepting connections on ln (served then ends) and lets the
// open ones end, each after its next answer, one idle at once (closeIdle),
// until none is left or grace ends; Shutdown then does the rest. Shutdown
// alone closed, unanswered, a connection whose request it read after it
// began (http.Server drops a request read once Shutdown began), and
// SetKeepAlivesEnabled(false) a kept one whose request it had not read
// yet: the client, which sent its request before the proxy stopped, saw
// EOF or a reset.
func drain(grace context.Context, closeIdle func(), ln net.Listener, served <-chan error, open *atomic.Int64) {
	closeIdle()
	ln.Close()
	<-served
	// Polled, as Shutdown polls, for the connections that become idle.
	wait := time.Millisecond
	for open.Load() > 0 {
		select {
		case <-grace.Done():
			return
		case <-time.After(wait):
		}
		closeIdle()
		wait = min(2*wait, 500*time.Millisecond)
	}
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
	// outOfFiles is told of an accept failed for want of a file.
	outOfFiles func(addr net.Addr, cause error)
}

func (l sendLimited) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		if fault, cause := httpx.ListenFailure(err); fault == httpx.ListenOutOfFiles {
			l.outOfFiles(l.Addr(), cause)
		}
		return nil, err // as it is: the server waits and accepts again after a temporary one
	}
	return &sendLimitedConn{Conn: c, limit: l.limit}, nil
}

// outOfFilesEvery is how often, at most, the log is told that the proxy
// cannot take connections for want of files.
const outOfFilesEvery = time.Minute

// outOfFiles tells the log, at most once every outOfFilesEvery, that the
// proxy could not take a connection for want of files: http.Server only
// waits a moment and tries again, and the clients wait with nothing said.
func (p *Proxy) outOfFiles(addr net.Addr, cause error) {
	p.filesMu.Lock()
	defer p.filesMu.Unlock()
	// Told further on than now, the clock set back since, is not told
	// moments ago: it was held untold for as long as the clock went back.
	if now := p.now(); p.filesTold.IsZero() || now.Sub(p.filesTold) >= outOfFilesEvery || now.Before(p.filesTold) {
		p.filesTold = now
		p.log.Warn("the proxy cannot take new connections: it has as many files and connections open as it may ("+cause.Error()+"); its clients wait until some close; raise the limit on open files (ulimit -n, or the service's limit) and restart it",
			"listen", addr.String())
	}
}

type sendLimitedConn struct {
	net.Conn
	limit time.Duration
	heard atomic.Bool // read something since it last waited for a request
	// ending: the proxy is stopping, and c, answered, had no request come
	// as it began to wait for the next; it ends once the server has read
	// all it holds of c (see Read).
	ending atomic.Bool
}

// Read ends an ending connection's stream (io.EOF), on which the server
// closes it, once the server, having served what it had read already (a
// request sent with the one before it, pipelined), reads on and the
// client has sent nothing more. Closed at once, as it waited for its
// next request, it lost a pipelined request, read with the one before
// and held in the server's buffer, unanswered.
func (c *sendLimitedConn) Read(b []byte) (int, error) {
	if c.ending.Load() && !requestWaiting(c.Conn) {
		return 0, io.EOF
	}
	n, err := c.Conn.Read(b)
	if n > 0 {
		c.heard.Store(true)
	}
	return n, err
}

// requestCome reports whether c's client has sent some of the request c
// waits for: read already (the server's state for c changes only once
// the whole header is read), or waiting to be. Closing c would drop it
// unanswered. A request sent in one go with the one before (pipelined),
// read with it, is not seen: it waits in the server's buffer (see Read).
func (c *sendLimitedConn) requestCome() bool {
	return requestWaiting(c.Conn) || c.heard.Load() // in this order: the server may read it between the two
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

// stopTelling writes every answer the proxy gives, its own pages' and the
// APIs' alike: one begun once the proxy is stopping (draining) says
// Connection: close, as the stop closes its connection after. Told only as
// the request came, an answer begun later (a log-in's callback whose code
// exchange was under way as the stop began, a renewal, an upload still
// coming) said nothing, and a browser sent its next request into the
// close.
type stopTelling struct {
	http.ResponseWriter
	draining *atomic.Bool
	begun    bool // the final answer's header is written
}

func (w *stopTelling) WriteHeader(code int) {
	if code >= 200 && !w.begun {
		w.begun = true
		if w.draining.Load() {
			w.Header().Set("Connection", "close")
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *stopTelling) Write(b []byte) (int, error) {
	if !w.begun {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the server's writer (to flush,
// to hand the connection to a protocol switch).
func (w *stopTelling) Unwrap() http.ResponseWriter { return w.ResponseWriter }
