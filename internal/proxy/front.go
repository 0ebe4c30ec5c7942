package proxy

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/valyala/fasthttp"
)

// The proxy runs two HTTP servers on one listener. The front, a fasthttp
// server, reads every request and forwards the ordinary ones to the APIs
// itself (fast.go): they are nearly all the proxy's traffic, and fasthttp
// serves them with half the CPU of net/http, whose server and client hand
// each request between several goroutines. Every other request — the status
// page and its buttons, log-ins and their callbacks, protocol switches
// (websockets), HTTP/1.0 clients — is handed, with its connection, to a
// net/http server behind the front, which serves it with ServeHTTP. A
// connection handed over stays with net/http for the rest of its life.

// shutdownGrace is how long requests in flight get to finish once the
// proxy is asked to stop.
const shutdownGrace = 5 * time.Second

// readBuffer bounds a request's header. Browsers send every cookie set for
// 127.0.0.1, whatever its port, so the proxy's status page can get large
// ones; a request over the limit is answered 431.
const readBuffer = 32 << 10

// Serve serves the proxy on ln until ctx ends or ln fails. Once ctx ends it
// stops taking requests, ends the status page's pending log-in waits, and
// gives the requests in flight shutdownGrace to finish.
func (p *Proxy) Serve(ctx context.Context, ln net.Listener) error {
	errLog := slog.NewLogLogger(p.log.Handler(), slog.LevelDebug)
	handoff := newHandoffListener(ln.Addr())
	stopping, stop := context.WithCancel(context.Background())
	defer stop()
	back := &http.Server{
		Handler:           p,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          errLog,
		BaseContext:       func(net.Listener) context.Context { return stopping },
	}
	front := &fasthttp.Server{
		Handler: func(ctx *fasthttp.RequestCtx) {
			if !p.serveFast(ctx) {
				handOff(ctx, handoff)
			}
		},
		// Bodies stream: the handler reads them. Those of up to
		// maxReplayBody are read whole, to be sent again after a 401.
		StreamRequestBody:            true,
		MaxRequestBodySize:           maxReplayBody,
		DisablePreParseMultipartForm: true,
		// Answers pass through as the API made them.
		NoDefaultServerHeader: true,
		NoDefaultDate:         true,
		NoDefaultContentType:  true,
		LazyRequestTime:       true, // the clock is read once, when serveFast asks
		ReadBufferSize:        readBuffer,
		WriteBufferSize:       answerBuffer,
		IdleTimeout:           2 * time.Minute,
		KeepHijackedConns:     true, // handed to the back server, which closes them
		CloseOnShutdown:       true,
		SecureErrorLogMessage: true,
		Logger:                errLog,
	}
	failed := make(chan error, 2)
	go func() { failed <- front.Serve(ln) }()
	go func() { failed <- back.Serve(handoff) }()

	var err error
	select {
	case <-ctx.Done():
	case err = <-failed:
	}
	stop()
	grace, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	// Connections still busy after the grace are left to the process's end.
	front.ShutdownWithContext(grace)
	if back.Shutdown(grace) != nil {
		back.Close()
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// handOff gives ctx's connection to the back server, the request ctx holds
// first. The request is passed on whole, its body read into memory: these
// requests are pages, forms and protocol switches, whose bodies are small,
// and the rare HTTP/1.0 client, whose uploads are limited to 1 MiB.
func handOff(ctx *fasthttp.RequestCtx, to *handoffListener) {
	req := &ctx.Request
	switch n := req.Header.ContentLength(); {
	case n >= 0 && n <= maxReplayBody:
		if err := readBody(req, req.BodyStream(), n); err != nil {
			writeFastError(ctx, http.StatusBadRequest, problem{Code: "bad_request", Message: "the request body could not be read: " + err.Error()})
			ctx.SetConnectionClose()
			return
		}
	case n != -2: // chunked, or too long: read it, to a limit
		body, err := io.ReadAll(io.LimitReader(req.BodyStream(), maxReplayBody+1))
		if err != nil || len(body) > maxReplayBody {
			writeFastError(ctx, http.StatusRequestEntityTooLarge, problem{Code: "body_too_large", Message: "the request's body is over 1 MiB, the most the proxy takes for its own pages or from an HTTP/1.0 client; send uploads with HTTP/1.1"})
			ctx.SetConnectionClose()
			return
		}
		req.SetBody(body)
		req.Header.SetContentLength(len(body))
	}
	req.Header.Del("Expect") // the front has answered it
	req.Header.SetNoDefaultContentType(true)
	body := req.Body()
	head := req.Header.Header()
	first := make([]byte, 0, len(head)+len(body))
	first = append(append(first, head...), body...)
	ctx.HijackSetNoResponse(true)
	ctx.Hijack(func(c net.Conn) {
		to.give(&handedConn{Conn: c, r: io.MultiReader(bytes.NewReader(first), c)})
	})
}

// handedConn is a connection handed to the back server: it reads the
// request the front already read, then the rest of the connection.
type handedConn struct {
	net.Conn
	r io.Reader
}

func (c *handedConn) Read(b []byte) (int, error) { return c.r.Read(b) }

// handoffListener is the back server's listener: its connections are the
// ones the front hands over.
type handoffListener struct {
	addr   net.Addr
	conns  chan net.Conn
	closed chan struct{}
	once   sync.Once
}

func newHandoffListener(addr net.Addr) *handoffListener {
	return &handoffListener{addr: addr, conns: make(chan net.Conn), closed: make(chan struct{})}
}

// give passes c to the back server, or closes it if that has stopped.
func (l *handoffListener) give(c net.Conn) {
	select {
	case l.conns <- c:
	case <-l.closed:
		c.Close()
	}
}

func (l *handoffListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

func (l *handoffListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return nil
}

func (l *handoffListener) Addr() net.Addr { return l.addr }
