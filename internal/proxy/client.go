package proxy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"time"

	kinds "github.com/freshtoken/freshtoken/internal/failure"
)

// ErrNotProxy means the address did not answer as a freshtoken proxy.
var ErrNotProxy = errors.New("not a freshtoken proxy")

// ErrLoginExpired means the proxy stopped waiting for the browser.
var ErrLoginExpired = errors.New("the log-in expired")

// startTimeout bounds asking a proxy to start a log-in, which it answers at
// once: a program that holds the address and never answers is not one.
const startTimeout = 30 * time.Second

// RemoteLogin is a log-in that a running proxy started for this process.
type RemoteLogin struct {
	ticket loginTicket
	base   string
	http   *http.Client
}

// AuthURL is the URL to open in the browser.
func (l *RemoteLogin) AuthURL() string { return l.ticket.AuthURL }

// Store is where the proxy stores the environment's tokens.
func (l *RemoteLogin) Store() string { return l.ticket.Store }

// StartLogin asks the proxy at base (http://host:port) to start a log-in to
// env, whose answer will come back to the proxy, and which waits timeout
// for the browser (0: the proxy's default).
func StartLogin(ctx context.Context, base, env string, timeout time.Duration) (*RemoteLogin, error) {
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	body, _ := json.Marshal(map[string]any{"env": env, "timeout_seconds": timeout.Seconds()})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+controlPrefix+"logins", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	l := &RemoteLogin{base: base, http: &http.Client{}}
	status, err := l.do(req, &l.ticket)
	var re *kinds.Error
	switch {
	case errors.As(err, &re), errors.Is(err, context.Canceled):
		return nil, err
	case err != nil:
		return nil, fmt.Errorf("%w: %s (%v)", ErrNotProxy, base, err)
	case status != http.StatusCreated || l.ticket.ID == "" || l.ticket.AuthURL == "":
		return nil, fmt.Errorf("%w: %s answered %d", ErrNotProxy, base, status)
	}
	return l, nil
}

// Wait returns once the log-in has succeeded, failed or ctx ends. A failure
// wraps the same sentinel error a login in this process would.
func (l *RemoteLogin) Wait(ctx context.Context) error {
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, l.base+controlPrefix+"logins/"+url.PathEscape(l.ticket.ID), nil)
		if err != nil {
			return err
		}
		var pr loginProgress
		status, err := l.do(req, &pr)
		var re *kinds.Error
		switch {
		case errors.As(err, &re), ctx.Err() != nil:
			return err
		case err != nil:
			return fmt.Errorf("%s: lost touch with the freshtoken proxy at %s (%v); run `freshtoken login -e %s` again", l.ticket.Env, l.base, err, l.ticket.Env)
		case status != http.StatusOK:
			return fmt.Errorf("%s: the freshtoken proxy at %s lost track of the log-in (it answered %d); run `freshtoken login -e %s` again", l.ticket.Env, l.base, status, l.ticket.Env)
		case pr.Status == "done":
			return nil
		case pr.Status == "failed":
			return kinds.FromCode(pr.Kind, pr.Error)
		case pr.Status == "expired":
			return fmt.Errorf("%s: %w: the freshtoken proxy at %s stopped waiting for the browser", l.ticket.Env, ErrLoginExpired, l.base)
		}
	}
}

// do sends req and decodes a JSON answer into v. A problem the proxy
// reports comes back as a *kinds.Error (internal/failure); no answer, or one that is not
// JSON, as a plain error.
func (l *RemoteLogin) do(req *http.Request, v any) (int, error) {
	resp, err := l.http.Do(req)
	if err != nil {
		if ctxErr := req.Context().Err(); ctxErr != nil {
			return 0, ctxErr
		}
		return 0, unwrapURLError(err)
	}
	defer resp.Body.Close()
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != "application/json" {
		return 0, fmt.Errorf("the answer was %s, not JSON", resp.Status)
	}
	if code := resp.Header.Get(errorHeader); code != "" {
		var pr problem
		if err := json.NewDecoder(resp.Body).Decode(&pr); err != nil {
			return 0, err
		}
		return 0, kinds.FromCode(code, pr.Message)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		return 0, err
	}
	return resp.StatusCode, nil
}
