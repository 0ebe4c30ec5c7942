package await_test

import (
	"context"
	"errors"
	"testing"

	"github.com/freshtoken/freshtoken/internal/await"
)

func TestResult(t *testing.T) {
	v, err := await.Result(context.Background(), func() (int, error) { return 7, errors.New("seven") })
	if v != 7 || err == nil || err.Error() != "seven" {
		t.Errorf("a call that returns: %d, %v; want its own result", v, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	release := make(chan struct{})
	defer close(release)
	cancel()
	v, err = await.Result(ctx, func() (int, error) { <-release; return 7, nil })
	if v != 0 || !errors.Is(err, context.Canceled) {
		t.Errorf("a call that never returns, its context ended: %d, %v; want 0 and the context's error", v, err)
	}
}

// A panic in f reaches the caller, which recovers it; it ended the process.
func TestResultPanicIsTheCallers(t *testing.T) {
	var got any
	func() {
		defer func() { got = recover() }()
		await.Result(context.Background(), func() (int, error) { panic("the program's function panicked") })
	}()
	if got != "the program's function panicked" {
		t.Fatalf("recovered %v; want the function's panic", got)
	}
}
