//go:build !unix

package cli

import (
	"errors"
	"log/slog"
	"net"
	"os"
)

func restart(string, *os.File) error { return errors.ErrUnsupported }

// handedListener: no proxy hands its socket over here (see canRestart).
func handedListener(string, *slog.Logger) net.Listener { return nil }
