package notify_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/freshtoken/freshtoken/config"
	"github.com/freshtoken/freshtoken/internal/notify"
	"github.com/freshtoken/freshtoken/internal/redact"
)

// TestOncePerChangeOfState: a notice goes out on every channel when an
// environment's state changes to one that needs a person, not again while
// it stays, and again after it was cleared; a secret in the message is
// masked.
func TestOncePerChangeOfState(t *testing.T) {
	var (
		mu    sync.Mutex
		posts []string
	)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct{ Text string }
		data, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(data, &body); err != nil || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("webhook got %q (%s)", data, r.Header.Get("Content-Type"))
		}
		mu.Lock()
		posts = append(posts, body.Text)
		mu.Unlock()
	}))
	defer hook.Close()
	out := filepath.Join(t.TempDir(), "told")
	n := &notify.Notifier{
		Config: config.Notify{Command: `printf '%s|%s|%s\n' "$FRESHTOKEN_EVENT" "$FRESHTOKEN_ENV" "$FRESHTOKEN_MESSAGE" >>` + out, Webhook: hook.URL},
		Logger: slog.New(slog.DiscardHandler),
	}
	secret := "a-secret-refresh-token-0123456789"
	redact.Register(secret)
	ctx := context.Background()
	n.Set(ctx, "sandbox", notify.GrantEnded, "sandbox: the grant ended while using "+secret)
	n.Set(ctx, "sandbox", notify.GrantEnded, "sandbox: the grant ended, said again")
	n.Set(ctx, "production", "", "")
	if got := n.Current(); len(got) != 1 || got[0].Env != "sandbox" {
		t.Errorf("current notices %+v", got)
	}
	n.Set(ctx, "sandbox", "", "")
	n.Set(ctx, "sandbox", notify.GrantEnded, "sandbox: the grant ended again")
	told, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(told)), "\n")
	mu.Lock()
	defer mu.Unlock()
	if len(lines) != 2 || len(posts) != 2 || !strings.HasPrefix(lines[0], "grant_ended|sandbox|sandbox: the grant ended while using ") ||
		!strings.HasSuffix(lines[1], "the grant ended again") {
		t.Fatalf("command told %q, webhook %q; want each notice once", lines, posts)
	}
	if strings.Contains(string(told), secret) || strings.Contains(strings.Join(posts, ""), secret) {
		t.Fatal("a secret was sent")
	}
}
