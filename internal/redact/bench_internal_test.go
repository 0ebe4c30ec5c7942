package redact

import (
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"
)

// BenchmarkLogLineOfManySecrets is the cost of one debug line of a proxy
// of 2000 environments (6000 secrets held), through a logger made With
// attributes as the engine's is, to slog's JSON and text handlers: the
// line is read once for the secrets it may hold, whatever their number.
// Run by hand (go test -bench LogLine ./internal/redact/), as the other
// benchmarks are.
func BenchmarkLogLineOfManySecrets(b *testing.B) {
	const n = 6000
	values := manySecrets(b, n)
	for i := 0; i < n; i += 2 {
		Set(fmt.Sprintf("many-%d", i), values[i], values[i+1])
	}
	Scrub("compile what is pending")
	for _, format := range []string{"json", "text"} {
		b.Run(format, func(b *testing.B) {
			var h slog.Handler = slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelDebug})
			if format == "text" {
				h = slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelDebug})
			}
			log := slog.New(NewHandler(h)).With("component", "proxy").With("env", "e1234")
			b.ReportAllocs()
			for b.Loop() {
				log.Debug("API request", "method", "GET", "url", "https://api.sandbox.freeagent.com/v2/contacts?page=2&per_page=100", "status", 200, "duration", 183*time.Millisecond)
			}
		})
	}
}
