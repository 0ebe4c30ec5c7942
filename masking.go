package freshtoken

import (
	"log/slog"

	"github.com/freshtoken/freshtoken/internal/redact"
)

// MaskingHandler returns a handler that writes what it is given on h with
// the secrets masked as in the engine's own lines (Options.Logger): the
// access and refresh tokens the process has seen, client secrets and keys
// in URLs, raw or in any encoding a provider may quote them in. A handler
// that masks already is returned as it is.
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
