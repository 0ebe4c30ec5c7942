package freshtoken

import (
	"log/slog"

	"github.com/freshtoken/freshtoken/internal/redact"
)

// MaskingHandler returns a handler that writes what it is given on h with
// the secrets masked as in the engine's own lines (Options.Logger): the
// access and refresh tokens that every Source of the process holds now,
// and those its last renewal replaced (an older one, expired in the
// ordinary course, is no longer looked for), the client secrets of the
// Settings given to New, and keys in URLs, raw or in any encoding a
// provider may quote them in. A token the program got by other means is
// not known to it. A handler that masks already is returned as it is; a
// nil h gives a handler that discards.
//
// net/http's transport writes on the standard log package's logger,
// quoting bytes an API sent after an answer that has none ("Unsolicited
// response received on idle HTTP channel starting with …"), which may echo
// the request's Authorization header, and, with GODEBUG=http2debug=2, each
// header it sends over HTTP/2, authorization included. freshtoken leaves
// the program's global loggers alone; to have those lines masked too, route
// the log package through this handler:
//
//	log.SetFlags(0)
//	log.SetOutput(slog.NewLogLogger(freshtoken.MaskingHandler(h), slog.LevelWarn).Writer())
//
// h writes somewhere of its own (slog.NewTextHandler(os.Stderr, nil)): the
// handler of slog.Default before a program sets one writes through the log
// package, so routed so, each line would come back to it, and hang.
func MaskingHandler(h slog.Handler) slog.Handler {
	if h == nil {
		return slog.DiscardHandler
	}
	return redact.Logger(slog.New(h)).Handler()
}
