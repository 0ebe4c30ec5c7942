package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/freshtoken/freshtoken/internal/testenv"
	"github.com/freshtoken/freshtoken/store"
)

// StalledCall makes call, with a context listening for stalls
// (store.WithStalled), while pause keeps the store's server from
// answering; once the call tells its stall, resume lets the server answer,
// and t fails unless the call then tells its end: a caller told no end
// (the proxy) would go on taking the store for stalled, and blame it for
// what it waits for next. It returns the call's error.
func StalledCall(t *testing.T, pause, resume func(), call func(context.Context) error) error {
	t.Helper()
	told := make(chan bool, 10)
	ctx := store.WithStalled(context.Background(), func(_ string, stalled bool, _ time.Time) { told <- stalled })
	pause()
	done := make(chan error, 1)
	go func() { done <- call(ctx) }()
	if !testenv.Receive(t, "the stall", told) {
		t.Fatal("the call told its end before its stall")
	}
	resume()
	err := testenv.Receive(t, "the call", done)
	ToldItsEnd(t, "the listener of the answered call", told)
	return err
}

// ToldItsEnd fails t unless what told holds, the next thing a listener
// (store.WithStalled) was told after a stall, is the stall's end; who
// names the listener.
func ToldItsEnd(t testing.TB, who string, told <-chan bool) {
	t.Helper()
	select {
	case stalled := <-told:
		if stalled {
			t.Errorf("%s was told the stall twice; want its end", who)
		}
	default:
		t.Errorf("%s was told of the stall and not of its end", who)
	}
}
