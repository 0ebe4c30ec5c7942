package proxy

import (
	"errors"
	"io"
	"strings"
	"testing"
)

// TestUnsentBodyIsReadByItsNewestSendingAlone: of the sendings of an
// upload whose client waits to be asked for it, only the newest reads it,
// and none is made once one has read. Go's HTTP/2 transport reads a
// request's body once its ExpectContinueTimeout (a second) has passed, even
// after a 401 has ended the request, unless the API reset the stream: that
// late read of the first sending, made while the retry sends the upload,
// would take a part of it from the retry, which would reach the API cut
// short. The rule was described, and untested.
func TestUnsentBodyIsReadByItsNewestSendingAlone(t *testing.T) {
	u := &unsentBody{src: strings.NewReader("the upload")}
	first, err := u.send()
	if err != nil {
		t.Fatal(err)
	}
	retry, err := u.send()
	if err != nil {
		t.Fatalf("a second sending before any read: %v", err)
	}
	if n, err := first.Read(make([]byte, 4)); n != 0 || !errors.Is(err, errBodySent) {
		t.Errorf("the first sending, reading after the retry began, read %d bytes (%v); want none, errBodySent", n, err)
	}
	if got, err := io.ReadAll(retry); string(got) != "the upload" || err != nil {
		t.Errorf("the retry read %q (%v); want the whole upload", got, err)
	}
	if _, err := u.send(); !errors.Is(err, errBodySent) {
		t.Errorf("a sending after the retry read: %v; want errBodySent", err)
	}
}
