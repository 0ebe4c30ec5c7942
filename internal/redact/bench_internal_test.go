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
// line is read once for the secrets it may hold, whatever their number,
// and once more with its escapes read when it holds any.
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
			b.Run("plain", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					log.Debug("API request", "method", "GET", "url", "https://api.sandbox.freeagent.com/v2/contacts?page=2&per_page=100", "status", 200, "duration", 183*time.Millisecond)
				}
			})
			// A line holding escapes is also read with them read, once
			// and twice, for the fragments of secrets they may write.
			b.Run("escaped", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					log.Debug("refresh answer", "url", "https://api.sandbox.freeagent.com/v2/token_endpoint?redirect_uri=http%3A%2F%2F127.0.0.1%3A8787%2Fcallback", "status", 400,
						"body", `{"error":"invalid_request","error_description":"the \"code\" parameter is missing \u0026 the grant is unknown"}`)
				}
			})
		})
	}
}
