package login

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"golang.org/x/oauth2"
)

// TestAnswerAfterTheWaitEndedIsNotExchanged: a browser's answer that
// reaches the callback after the wait for it ended (a signal, the time
// limit) is refused, its code never sent: nobody would store the tokens
// the provider gave for it, and the code would be spent. One that came in
// time is exchanged, and a second is told the log-in was answered.
func TestAnswerAfterTheWaitEndedIsNotExchanged(t *testing.T) {
	var exchanges atomic.Int32
	token := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		exchanges.Add(1)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"access_token":"at-0123456789","token_type":"Bearer","expires_in":3600}`)
	}))
	t.Cleanup(token.Close)
	conf := &oauth2.Config{ClientID: "id", RedirectURL: "http://127.0.0.1/callback", Endpoint: oauth2.Endpoint{AuthURL: token.URL + "/auth", TokenURL: token.URL + "/token", AuthStyle: oauth2.AuthStyleInParams}}
	answer := func(t *testing.T, turn *answerTurn) (int, string) {
		t.Helper()
		req := NewRequest(conf)
		srv := httptest.NewServer((&Flow{Env: "dev", Config: conf}).callbackHandler(req, make(chan callback, 1), turn))
		defer srv.Close()
		resp, err := http.Get(srv.URL + "/callback?" + url.Values{"state": {req.State}, "code": {"code-0123456789"}}.Encode())
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	t.Run("after the wait ended", func(t *testing.T) {
		turn := new(answerTurn)
		if !turn.close() {
			t.Fatal("the wait ended with an answer taken before any came")
		}
		if code, body := answer(t, turn); code != http.StatusBadRequest || !strings.Contains(body, "took no code") || exchanges.Load() != 0 {
			t.Errorf("the answer got %d %q, and %d codes were exchanged; want 400, no code sent", code, body, exchanges.Load())
		}
	})
	t.Run("in time", func(t *testing.T) {
		turn := new(answerTurn)
		if code, body := answer(t, turn); code != http.StatusOK || exchanges.Load() != 1 {
			t.Fatalf("the answer got %d %q, and %d codes were exchanged; want 200, one", code, body, exchanges.Load())
		}
		if turn.close() {
			t.Error("the wait ended as if no answer had been taken")
		}
	})
}
