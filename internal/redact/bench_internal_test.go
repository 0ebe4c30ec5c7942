package redact

import (
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"runtime"
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
	setManySecrets(b, n, "")
	benchLogLine(b)
}

// BenchmarkLogLineOfManyJWTs is BenchmarkLogLineOfManySecrets for a proxy
// of 2000 environments whose provider issues JWTs of about 1.25 KB, two
// generations of an access and a refresh token each (8000 secrets held):
// the fragments of each are indexed, some 140 pieces a token.
func BenchmarkLogLineOfManyJWTs(b *testing.B) {
	setJWTs(b, 2000)
	benchLogLine(b)
}

// benchLogLine times a plain line scrubbed, and a plain debug line and one
// holding escapes logged with the secrets registered, to slog's JSON and
// text handlers.
func benchLogLine(b *testing.B) {
	Scrub("compile what is pending")
	b.Run("scrub", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			Scrub(`time=2026-12-06T21:10:00Z level=DEBUG msg="API request" component=proxy env=e1234 method=GET url=https://api.sandbox.freeagent.com/v2/contacts?page=2&per_page=100 status=200 duration=183ms`)
		}
	})
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

// BenchmarkSetManyJWTs is the cost of a proxy of 2000 environments setting
// two generations of their JWTs (see BenchmarkLogLineOfManyJWTs) and
// indexing them at the next line: the time, and the heap the registry
// holds for each secret after a collection (B/secret, the token's own
// 1.25 KB included). Run by hand with -benchtime 1x, and apart from
// BenchmarkLogLineOfManyJWTs: the maps it grew keep their size once its
// tokens are forgotten, and the heap here would not count them (2.2 KB a
// secret, not 7.6).
func BenchmarkSetManyJWTs(b *testing.B) {
	for b.Loop() {
		b.StopTimer()
		held := heapHeld(func() {
			b.StartTimer()
			setJWTs(b, 2000)
			Scrub("compile what is pending")
			b.StopTimer()
		})
		b.ReportMetric(float64(held)/8000, "B/secret")
		forgetJWTs(2000)
		b.StartTimer()
	}
}

// BenchmarkSetHugeToken is the heap one token of 1 MiB holds in the
// registry (a hostile provider's), after a collection, the token's own
// bytes included. Run by hand with -benchtime 1x.
func BenchmarkSetHugeToken(b *testing.B) {
	token := randomToken(rand.New(rand.NewChaCha8([32]byte{3})), 3<<18)
	for b.Loop() {
		b.StopTimer()
		held := heapHeld(func() {
			b.StartTimer()
			Set("huge", token)
			Scrub("compile what is pending")
			b.StopTimer()
		})
		b.ReportMetric(float64(held)/(1<<20), "MiB")
		Set("huge")
		Set("huge")
		b.StartTimer()
	}
}

// heapHeld runs do and returns the heap it left held, after a collection
// before and after.
func heapHeld(do func()) int64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	do()
	runtime.GC()
	runtime.ReadMemStats(&after)
	return int64(after.HeapAlloc) - int64(before.HeapAlloc)
}

// setJWTs sets, for n owners, two generations of an access and a refresh
// token, JWTs of one issuer of about 1.25 KB, forgotten when t ends.
func setJWTs(t testing.TB, n int) {
	const header = "eyJhbGciOiJSUzI1NiIsImtpZCI6IkZsZWV0MSIsInR5cCI6IkpXVCJ9."
	r := rand.New(rand.NewChaCha8([32]byte{2}))
	jwt := func() string { return header + randomToken(r, 630) + "." + randomToken(r, 256) }
	for range 2 {
		for i := range n {
			Set(fmt.Sprintf("jwt-%d", i), jwt(), jwt())
		}
	}
	t.Cleanup(func() { forgetJWTs(n) })
}

// forgetJWTs forgets what setJWTs set for n owners.
func forgetJWTs(n int) {
	for i := range n {
		owner := fmt.Sprintf("jwt-%d", i)
		Set(owner)
		Set(owner)
	}
}
