package freshtoken_test

import (
	"context"
	"crypto"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken/internal/devprovider"
)

// TestContextEndedBeforeTheCallBlamesNoSecret: a program whose context had
// already ended (a request cancelled by its client, a job's deadline
// passed) asks for a token that is due for renewal: it gets its context's
// error at once, nothing sent, and the message says it gave up before any
// token request, not that it gave up waiting for a client secret, which
// sent a program with a plain Settings.ClientSecret hunting for a secret
// command it never had. The next call renews as usual.
func TestContextEndedBeforeTheCallBlamesNoSecret(t *testing.T) {
	for _, c := range []struct {
		name string
		ctx  func() (context.Context, context.CancelFunc)
		want error
	}{
		{"cancelled", func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			return ctx, cancel
		}, context.Canceled},
		{"deadline passed", func() (context.Context, context.CancelFunc) {
			return context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
		}, context.DeadlineExceeded},
	} {
		t.Run(c.name, func(t *testing.T) {
			r, _ := loggedIn(t)
			r.clock.Advance(2 * time.Hour)
			src := r.source()
			ctx, cancel := c.ctx()
			defer cancel()
			for name, call := range map[string]func() error{
				"TokenContext": func() error { _, err := src.TokenContext(ctx); return err },
				"Renew":        func() error { _, err := src.Renew(ctx); return err },
			} {
				err := call()
				if !errors.Is(err, c.want) {
					t.Fatalf("%s: err = %v, want %v", name, err, c.want)
				}
				if msg := err.Error(); strings.Contains(msg, "secret") || !strings.HasPrefix(msg, r.settings.Env+": ") || !strings.Contains(msg, "before any token request was sent") {
					t.Errorf("%s: the message %q should name the environment and say the caller gave up before any token request, blaming no secret", name, msg)
				}
			}
			if st := r.provider.Stats(); st.Refreshes != 0 {
				t.Fatalf("%d refreshes sent for callers that had given up", st.Refreshes)
			}
			if _, err := src.Token(); err != nil {
				t.Fatal(err)
			}
			if st := r.provider.Stats(); st.Refreshes != 1 {
				t.Fatalf("%d refreshes, want 1", st.Refreshes)
			}
		})
	}
}

// TestGivingUpOnASlowKeyNamesTheKey: under private_key_jwt, a caller whose
// context ends while the client's key loads (a key service slow to answer)
// is told it gave up waiting for the client's key: it was told of a client
// secret, which the client does not have.
func TestGivingUpOnASlowKeyNamesTheKey(t *testing.T) {
	k := clientKeys(t)[2]
	r := newRig(t, devprovider.Options{AccessTTL: time.Hour, AuthStyle: "private_key_jwt", ClientPublicKey: k.key.Public(), ClientKeyID: "key-1"})
	privateKeyJWT(r, k.key, k.alg)
	r.login(r.source())
	r.clock.Advance(2 * time.Hour)
	loading, answer := make(chan struct{}), make(chan struct{})
	var once sync.Once
	r.settings.ClientKey.Load = func(context.Context) (crypto.Signer, error) {
		once.Do(func() { close(loading) })
		<-answer
		return k.key, nil
	}
	defer close(answer)
	src := r.source() // a new process: its renewal loads the key
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-loading
		cancel()
	}()
	_, err := src.TokenContext(ctx)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want the caller's context's", err)
	}
	if msg := err.Error(); strings.Contains(msg, "secret") || !strings.Contains(msg, "the client's key") {
		t.Fatalf("the message %q should say the caller gave up waiting for the client's key", msg)
	}
}
