package proxy

import "testing"

// TestFramingScanAcrossReads: a header with both Content-Length and
// Transfer-Encoding is seen however the connection's reads split it (one
// byte at a time, a \r apart from its \n), after a body of lines of its
// own, in any case; one with either alone, or a Transfer-Encoding only in a
// continuation line, is not.
func TestFramingScanAcrossReads(t *testing.T) {
	body := "POST /a HTTP/1.1\r\nContent-Length: 19\r\n\r\nx\r\ny\r\n\r\nHost: z\r\n\r\n"
	for _, tt := range []struct {
		stream string
		faulty bool
	}{
		{"POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", true},
		{"POST /a HTTP/1.1\nTRANSFER-ENCODING:chunked\ncontent-LENGTH:5\n\n", true},
		{body + "POST /b HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", true},
		{"POST /a HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", true},
		{"POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", false},
		{"POST /a HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello", false},
		{"POST /a HTTP/1.1\r\nContent-Length: 5\r\nX-A: b\r\n Transfer-Encoding: chunked\r\n\r\n", false},
		{"GET /a/HTTP/1.0x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", false},
	} {
		for _, step := range []int{1, 2, 7, len(tt.stream)} {
			var s framingScan
			faulty := false
			for i := 0; i < len(tt.stream); i += step {
				faulty = s.feed([]byte(tt.stream[i:min(i+step, len(tt.stream))])) || faulty
			}
			if faulty != tt.faulty {
				t.Errorf("%q read %d bytes at a time: faulty %v, want %v", tt.stream, step, faulty, tt.faulty)
			}
		}
	}
}
