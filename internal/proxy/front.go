package proxy

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
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
	}
	failed := make(chan error, 1)
	go func() { failed <- srv.Serve(ln) }()

	var err error
	select {
	case <-ctx.Done():
	case err = <-failed:
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
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}
