package devprovider

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// post sends form to path on tp with the client's Basic credentials and
// returns the status and the JSON answer.
func (tp *testProvider) post(t *testing.T, path string, form url.Values) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, tp.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(tp.opts.ClientID, tp.opts.ClientSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body
}

func TestDeviceGrant(t *testing.T) {
	tp := start(t, Options{DeviceInterval: time.Second, DeviceCodeTTL: time.Minute})
	status, da := tp.post(t, "/v2/device_authorization", url.Values{"client_id": {"dev-client-id"}})
	user, _ := da["user_code"].(string)
	if status != 200 || da["interval"] != 1.0 || da["expires_in"] != 60.0 || da["verification_uri"] != tp.srv.URL+"/v2/device" || len(user) != 9 {
		t.Fatalf("device authorization: %d %v", status, da)
	}
	page, err := http.Get(da["verification_uri_complete"].(string))
	if err != nil {
		t.Fatal(err)
	}
	html, _ := io.ReadAll(page.Body)
	page.Body.Close()
	if !strings.Contains(string(html), `value="`+user+`"`) {
		t.Fatalf("the verification page does not fill in the code:\n%s", html)
	}
	poll := url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"}, "device_code": {da["device_code"].(string)}}
	answer := func(want string) map[string]any {
		t.Helper()
		status, body := tp.post(t, "/v2/token_endpoint", poll)
		if got, _ := body["error"].(string); got != want || (want == "") != (status == 200) {
			t.Fatalf("poll answered %d %v; want %q", status, body, want)
		}
		return body
	}
	answer("authorization_pending")
	answer("slow_down") // no time passed: too soon
	tp.clock.Advance(5 * time.Second)
	answer("slow_down") // the interval is 6 s now
	tp.clock.Advance(11 * time.Second)
	answer("authorization_pending")

	resp, err := http.PostForm(tp.srv.URL+"/v2/device", url.Values{"user_code": {"BBBB-BBBB"}, "decision": {"approve"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("approving an unknown code: %d", resp.StatusCode)
	}
	resp, err = http.PostForm(tp.srv.URL+"/v2/device", url.Values{"user_code": {strings.ToLower(strings.ReplaceAll(user, "-", ""))}, "decision": {"approve"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("approving the code as typed loosely: %d", resp.StatusCode)
	}
	tp.clock.Advance(11 * time.Second)
	if tok := answer(""); tok["refresh_token"] == "" || tok["access_token"] == "" {
		t.Fatalf("approved poll answered %v", tok)
	}
	answer("invalid_grant") // spent
	if err := tp.DecideDevice(user, true); err == nil {
		t.Fatal("a spent code could be approved again")
	}

	_, da = tp.post(t, "/v2/device_authorization", url.Values{"client_id": {"dev-client-id"}})
	poll.Set("device_code", da["device_code"].(string))
	if err := tp.DecideDevice(da["user_code"].(string), false); err != nil {
		t.Fatal(err)
	}
	answer("access_denied")

	_, da = tp.post(t, "/v2/device_authorization", url.Values{"client_id": {"dev-client-id"}})
	poll.Set("device_code", da["device_code"].(string))
	tp.ExpireDevices()
	answer("expired_token")
	if err := tp.DecideDevice(da["user_code"].(string), true); err == nil || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("approving an expired code: %v", err)
	}
	if st := tp.Stats(); st.DeviceAuthorizations != 3 || st.DeviceLogins != 1 || st.SlowDowns != 2 {
		t.Fatalf("stats %+v", st)
	}
}

func TestClientCredentialsGrant(t *testing.T) {
	tp := start(t, Options{AccessTTL: time.Minute})
	status, tok := tp.post(t, "/v2/token_endpoint", url.Values{"grant_type": {"client_credentials"}})
	if _, has := tok["refresh_token"]; status != 200 || has || tok["expires_in"] != 60.0 {
		t.Fatalf("client credentials answered %d %v; want an access token alone", status, tok)
	}
	req, _ := http.NewRequest(http.MethodGet, tp.srv.URL+"/v2/company", nil)
	req.Header.Set("Authorization", "Bearer "+tok["access_token"].(string))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || tp.Stats().ClientCredentials != 1 {
		t.Fatalf("the API answered %d to the token; stats %+v", resp.StatusCode, tp.Stats())
	}
}
