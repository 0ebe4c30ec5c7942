package freshtoken

import (
	"context"
	"time"
)

// SetPause makes s wait between renewal tries by calling pause, such as a
// fake clock's Sleep, instead of sleeping.
func SetPause(s *Source, pause func(context.Context, time.Duration) error) { s.pause = pause }

// Slept makes s take the machine to have slept for d since its last token
// request and its last request through a Transport, as a laptop resumed
// does: the wall clock d ahead of the time the process ran.
func Slept(s *Source, d time.Duration) {
	for _, w := range []*wakeWatch{&s.tokenWake, &s.apiWake} {
		if m := w.last.Load(); m != nil {
			w.last.Store(&moment{wall: m.wall - int64(d), ran: m.ran})
		}
	}
}
