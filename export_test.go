package freshtoken

import (
	"context"
	"time"
)

// SetPause makes s wait between renewal tries by calling pause, such as a
// fake clock's Sleep, instead of sleeping.
func SetPause(s *Source, pause func(context.Context, time.Duration) error) { s.pause = pause }

// SetTimers makes s measure how long ago it first saw a token on timers,
// such as a second fake clock that a clock set back leaves where it is,
// instead of on Options.Clock's own readings.
func SetTimers(s *Source, timers func() time.Time) { s.timers = timers }
