package freshtoken

import (
	"context"
	"time"
)

// SetPause makes s wait between renewal tries by calling pause, such as a
// fake clock's Sleep, instead of sleeping.
func SetPause(s *Source, pause func(context.Context, time.Duration) error) { s.pause = pause }
