package redact

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"html/template"
	"math/rand/v2"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestRepetitiveSecretIsMatchedAsWholeStrings: a provider's access token
// of 16 KiB of one byte (or of a short run repeated) was matched by a
// regular expression that kept a partial match alive at each place of
// text holding it, read on with every byte: a minute to mask one log line.
// Such a value is matched as whole strings instead, as a value too long
// for an expression is (found raw, escaped, in JSON and in base64), and a
// secret of random characters as long still gets its expression. Checked
// by which matcher each value gets, not by time. A value of escapes beside
// the characters they stand for (`a%61%61a`) is read by the expression as
// one character repeated, and is matched as whole strings too.
func TestRepetitiveSecretIsMatchedAsWholeStrings(t *testing.T) {
	r := rand.New(rand.NewChaCha8([32]byte{2}))
	random := make([]byte, 12<<10)
	for i := range random {
		random[i] = byte(r.Uint32())
	}
	for name, c := range map[string]struct {
		v          string
		expression bool
	}{
		"one byte repeated":                  {strings.Repeat("a", maxPatterned), false},
		"a short run repeated":               {strings.Repeat("ab", maxPatterned/2), false},
		"runs between dots":                  {strings.Repeat("a.", maxPatterned/2), false},
		"a run then random":                  {strings.Repeat("A", 40) + base64.RawURLEncoding.EncodeToString(random[:90]), false},
		"escapes beside what they stand for": {mixed(r, "a", "%61"), false},
		"JSON escapes beside them":           {mixed(r, "a", `\u0061`), false},
		"random, as long":                    {base64.RawURLEncoding.EncodeToString(random)[:maxPatterned], true},
		"a client secret":                    {"s3cr3t-Client_Secret~value", true},
		"a secret with a space":              {"pass word with spaces", true},
	} {
		if p := compile(c.v); (p.re != nil) != c.expression {
			t.Fatalf("%s: compiled to an expression: %v; want %v", name, p.re != nil, c.expression)
		}
	}
	secret := strings.Repeat("a", maxPatterned)
	Set("repetitive", secret)
	t.Cleanup(func() { Set("repetitive"); Set("repetitive") })
	for name, text := range map[string]string{
		"raw":    secret,
		"query":  url.QueryEscape("x=" + secret),
		"base64": base64.StdEncoding.EncodeToString([]byte("id:" + secret)),
	} {
		if got := Scrub("token " + text + " end"); strings.Contains(got, strings.Repeat("a", 64)) || !strings.Contains(got, Mask(secret)) {
			t.Errorf("%s: Scrub left %d bytes unmasked: %.80q…", name, len(got), got)
		}
	}
}

// mixed is about 4 KiB of a and b, each picked at random.
func mixed(r *rand.Rand, a, b string) string {
	var s strings.Builder
	for s.Len() < 4<<10 {
		s.WriteString([]string{a, b}[r.IntN(2)])
	}
	return s.String()
}

// TestRepetitiveSecretIsFoundAsOtherEncodersQuoteIt: a secret matched as
// whole strings (repetitive, as a token of base64 of zero bytes, AAAA…,
// is, or too long for an expression) is found as JSON encoders other than
// Go's quote it, each escaping some characters as \u: Gson (`=`, `'`,
// `<>&`), .NET's System.Text.Json (`+`, `'`, `"`, `<>&` and every
// character not ASCII and DEL, in upper case), Python's json (every
// character not ASCII and DEL) and PHP's (every character not ASCII, DEL
// raw, `/` as `\/`; with Symfony's JSON_HEX_* flags `<>&'"` as well, in
// upper case beside lower: `\u003C\u00e9`). Only Go's two quotings were
// listed, and a provider's error answer or a log quoting such a token
// through one of the others showed it whole; then PHP's DEL was taken for
// Python's, and its upper-case `\u003C` beside lower-case escapes for
// neither case.
func TestRepetitiveSecretIsFoundAsOtherEncodersQuoteIt(t *testing.T) {
	run := strings.Repeat("A", 24)
	secret := run + `x+y=z'<"é/` + "\x7f"
	if compile(secret).re != nil {
		t.Fatalf("%q compiled to an expression; the test wants one matched as whole strings", secret)
	}
	Set("quoted", secret)
	t.Cleanup(func() { Set("quoted"); Set("quoted") })
	for name, quoted := range map[string]string{
		"Go":                    `x+y=z'\u003c\"é/` + "\x7f",
		"Gson":                  `x+y\u003dz\u0027\u003c\"é/` + "\x7f",
		"System.Text.Json":      `x\u002By=z\u0027\u003C\u0022\u00E9/\u007F`,
		"Python json.dumps":     `x+y=z'<\"\u00e9/\u007f`,
		"PHP json_encode":       `x+y=z'<\"\u00e9\/` + "\x7f",
		"PHP, Symfony's flags":  `x+y=z\u0027\u003C\u0022\u00e9\/` + "\x7f",
		"PHP, also raw Unicode": `x+y=z\u0027\u003C\u0022é\/` + "\x7f",
	} {
		text := `{"error":"invalid_token","token":"` + run + quoted + `"}`
		if got := Scrub(text); strings.Contains(got, run) || !strings.Contains(got, Mask(secret)) {
			t.Errorf("%s: Scrub(%s) = %s; want the token masked", name, text, got)
		}
	}
}

// TestDecodeQuotedReadsWhatEncodersWrite: decodeQuoted reads back the
// value that Go's json.Encoder, json.Marshal, strconv.Quote and
// strconv.QuoteToASCII, url.QueryEscape (lower-case hex too) and
// url.UserPassword wrote, a byte that is not UTF-8 as JSON's U+FFFD, and
// says where in the written text each byte of it came from.
func TestDecodeQuotedReadsWhatEncodersWrite(t *testing.T) {
	for _, v := range []string{
		"plain", "a\"b\\c/d'e", "\n\r\t\b\f\a\v\x00\x01\x1f\x7f", "<a & b>", "é密\u2028\u2029\U0001F600", "bad\xffbyte\xe2\x80", "\ufffd", "p@ss:w/rd?$&+,;=!*'() x",
	} {
		var b strings.Builder
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			t.Fatal(err)
		}
		html, _ := json.Marshal(v)
		valid := string([]rune(v))
		user := url.UserPassword("u", v).String()
		for _, c := range []struct{ written, want string }{
			{strings.TrimSuffix(b.String(), "\n"), valid},
			{string(html), valid},
			{strconv.Quote(v), v},
			{strconv.QuoteToASCII(v), v},
			{url.PathEscape(v), v},
			{lowerEscapes(url.QueryEscape(v)), strings.ReplaceAll(v, " ", "+")},
			{user[2:], v},
		} {
			if c.written[0] == '"' {
				c.written = c.written[1 : len(c.written)-1]
			}
			d := decodeQuoted(c.written)
			if d.text != c.want {
				t.Errorf("decodeQuoted(%s) = %q; want %q", c.written, d.text, c.want)
				continue
			}
			if start, end := d.written(0, len(d.text)); start != 0 || end != len(c.written) {
				t.Errorf("decodeQuoted(%s): the whole text read is at %d:%d; want 0:%d", c.written, start, end, len(c.written))
			}
		}
	}
	d := decodeQuoted(`x\u00e9%41\U0001f600y`)
	for _, c := range []struct{ start, end, wantStart, wantEnd int }{
		{1, 3, 1, 7}, {2, 3, 1, 7}, {3, 4, 7, 10}, {4, 5, 10, 20}, {1, 4, 1, 10}, {8, 9, 20, 21},
	} {
		if start, end := d.written(c.start, c.end); start != c.wantStart || end != c.wantEnd {
			t.Errorf("bytes %d:%d of %q come from %d:%d; want %d:%d", c.start, c.end, d.text, start, end, c.wantStart, c.wantEnd)
		}
	}
}

// lowerEscapes is s with the hex digits of its percent-escapes in lower
// case (%2F becomes %2f), as some encoders write them.
func lowerEscapes(s string) string {
	return regexp.MustCompile(`%[0-9A-F]{2}`).ReplaceAllStringFunc(s, strings.ToLower)
}

// TestRepetitiveSecretIsFoundInBase64Quoted: a secret matched as whole
// strings is found in base64 (a Basic header) whose `+` and `/` are
// quoted, in JSON as `\/` (PHP) or in a URL as %2B and %2F, as the
// expression of any other secret finds it: its base64 was looked for only
// as written raw.
func TestRepetitiveSecretIsFoundInBase64Quoted(t *testing.T) {
	secret := strings.Repeat("A", 24) + "~~~???~~~>>>"
	if compile(secret).re != nil {
		t.Fatalf("%q compiled to an expression; the test wants one matched as whole strings", secret)
	}
	basic := base64.StdEncoding.EncodeToString([]byte("client:" + secret))
	if !strings.ContainsAny(basic, "+/") {
		t.Fatalf("the test wants base64 with + and /: %s", basic)
	}
	Set("based", secret)
	t.Cleanup(func() { Set("based"); Set("based") })
	for name, text := range map[string]string{
		"raw":          `Basic ` + basic,
		"JSON, as PHP": `{"authorization":"Basic ` + strings.ReplaceAll(basic, "/", `\/`) + `"}`,
		"in a URL":     `header=Basic+` + url.QueryEscape(basic),
		"lower-case":   `header=Basic+` + lowerEscapes(url.QueryEscape(basic)),
	} {
		if got := Scrub(text); got == text || strings.Contains(got, basic[8:24]) {
			t.Errorf("%s: Scrub(%s) = %s; want the base64 masked", name, text, got)
		}
	}
}

// TestRepetitiveSecretIsFoundAsOtherURLEncodersEscapeIt: a secret matched
// as whole strings is found in a URL or form as encoders other than Go's
// escape it, each writing a different set of punctuation raw: Java's
// URLEncoder and PHP's urlencode escape `~` (%7E), JavaScript's
// encodeURIComponent leaves `~*'()!` raw and writes a space as %20, .NET's
// WebUtility leaves `*()!` raw. Only Go's escaping was listed, and a
// provider's error page or a log line quoting such a token in a URL
// showed it whole.
func TestRepetitiveSecretIsFoundAsOtherURLEncodersEscapeIt(t *testing.T) {
	run := strings.Repeat("A", 24)
	secret := run + "~*'(!) x"
	if compile(secret).re != nil {
		t.Fatalf("%q compiled to an expression; the test wants one matched as whole strings", secret)
	}
	Set("urled", secret)
	t.Cleanup(func() { Set("urled"); Set("urled") })
	for name, escaped := range map[string]string{
		"Go":                         url.QueryEscape(secret)[len(run):],
		"Java URLEncoder":            `%7E*%27%28%21%29+x`,
		"PHP urlencode":              `%7E%2A%27%28%21%29+x`,
		"JavaScript":                 `~*'(!)%20x`,
		".NET WebUtility.UrlEncode":  `%7E*%27(!)+x`,
		".NET HttpUtility.UrlEncode": `%7e*%27(!)+x`,
	} {
		text := `https://api.example.com/v2/contacts?access_token=` + run + escaped + `&page=2`
		if got := Scrub(text); strings.Contains(got, run) || !strings.Contains(got, Mask(secret)) {
			t.Errorf("%s: Scrub(%s) = %s; want the token masked", name, text, got)
		}
	}
}

// TestSecretIsFoundInBase64AsDotNetQuotesIt: a secret is found in base64
// (a Basic header of `client:secret`) whose `+` .NET's System.Text.Json
// writes as `\u002B` (and `=` as Gson writes it, `\u003d`), and the whole
// base64 run is masked, for a secret with an expression and one matched
// as whole strings: neither looked for `+` so quoted, and a .NET
// provider's error answer echoing the header showed it whole.
func TestSecretIsFoundInBase64AsDotNetQuotesIt(t *testing.T) {
	for _, start := range []string{"s3cr3t-", strings.Repeat("A", 24)} {
		var secret, basic string
		for i := 1; len(basic) < 8 || !strings.Contains(basic[len(basic)-8:], "+") || !strings.HasSuffix(basic, "="); i++ {
			if i > 12 {
				t.Fatalf("no secret %s~… has base64 ending in + and padding", start)
			}
			secret = start + strings.Repeat("~", i)
			basic = base64.StdEncoding.EncodeToString([]byte("client:" + secret))
		}
		Set("dotnet", secret)
		for name, quoted := range map[string]string{
			".NET":             strings.ReplaceAll(basic, "+", `\u002B`),
			".NET, lower case": strings.ReplaceAll(basic, "+", `\u002b`),
			"Gson's padding":   strings.ReplaceAll(basic, "=", `\u003d`),
		} {
			text := `{"error":"invalid_client","authorization":"Basic ` + quoted + `"}`
			want := `{"error":"invalid_client","authorization":"Basic ` + Mask(secret) + `"}`
			if got := Scrub(text); got != want {
				t.Errorf("%s, %q (expression %v): Scrub(%s) = %s; want %s", name, secret, compile(secret).re != nil, text, got, want)
			}
		}
		Set("dotnet")
		Set("dotnet")
	}
}

// TestRepetitiveSecretIsFoundAsEitherFamilyQuotesIt: a secret matched as
// whole strings, of random punctuation, hex digits and letters after a
// run (so it may hold what reads as an escape, %41 or \n), is found with
// its characters written as one family of encoders writes them, at
// random: percent-escaped or raw, % and \ always escaped (URL and form
// encoders); or JSON- or Go-escaped or raw, \ and " always escaped and %
// always raw (JSON, %q), in a text of escapes cut short around it. With %
// raw beside an escape, such a secret showed whole.
func TestRepetitiveSecretIsFoundAsEitherFamilyQuotesIt(t *testing.T) {
	t.Cleanup(func() { Set(t.Name()); Set(t.Name()) })
	r := rand.New(rand.NewPCG(1, 2))
	punctuation := []rune("%\\\"'<>&/+=:;,!*()~ \n\t\x01é😀")
	noise := func() string {
		var b strings.Builder
		for range r.IntN(12) {
			b.WriteString([]string{"%2", `\u00`, `\`, "%41", "x", " "}[r.IntN(6)])
		}
		return b.String()
	}
	for i := range 3000 {
		var b strings.Builder
		b.WriteString(strings.Repeat("Q", 20))
		for range 6 + r.IntN(6) {
			switch r.IntN(3) {
			case 0:
				b.WriteRune(punctuation[r.IntN(len(punctuation))])
			case 1:
				b.WriteByte("0123456789abcdef"[r.IntN(16)])
			default:
				b.WriteByte("qrstuvn"[r.IntN(7)])
			}
		}
		secret := b.String() + strconv.Itoa(i)
		Set(t.Name(), secret)
		var quoted strings.Builder
		percent := r.IntN(2) == 0
		for _, c := range []byte(secret) {
			n := r.IntN(3)
			switch {
			case isAlnum(c), c >= 0x80:
				quoted.WriteByte(c)
			case percent && (n == 0 || c == '%' || c == '\\' || c < ' '):
				fmt.Fprintf(&quoted, "%%%02x", c)
			case percent:
				quoted.WriteByte(c)
			case c == '\\' || c == '"' || n == 0 && c != '%':
				fmt.Fprintf(&quoted, `\u%04X`, c)
			case c < ' ' || n == 1 && c != '%':
				fmt.Fprintf(&quoted, `\x%02x`, c)
			default:
				quoted.WriteByte(c)
			}
		}
		text := noise() + " " + quoted.String() + " " + noise()
		if got := Scrub(text); strings.Contains(got, "QQQQQQQQQ") || !strings.Contains(got, Mask(secret)) {
			t.Fatalf("secret %q, quoted %s: Scrub gave %s", secret, text, got)
		}
	}
}

// TestBase64RunIsWidenedOnce: a run of base64 holding a secret's base64
// many times over (a hostile provider's error body quoting the token it
// issued, over and over) is masked whole, as one, reading the text a
// bounded number of times: each match was widened over the whole run, so
// masking a run of 32 KB took seconds and one of 128 KB a minute and a
// half (a line the engine may log holding the renewal lock), for a secret matched by its expression and for one matched as
// whole strings alike. Counted in characters read, not time.
func TestBase64RunIsWidenedOnce(t *testing.T) {
	for _, secret := range []string{"Xk9rT2mQ7vLp3sWz8yBn4cHd-widenedonce", strings.Repeat("W", 30) + "-widenedonce"} {
		Register(secret)
		run := base64.StdEncoding.EncodeToString([]byte(strings.Repeat(secret, 500)))
		text := "error: " + run + " and " + strings.ReplaceAll(run, "/", `\/`) + " end"
		var read int
		want := "error: " + Mask(secret) + " and " + Mask(secret) + " end"
		if got := scrub(text, &read); got != want || read > 4*len(text) {
			t.Errorf("%.4s…: scrub read %d characters of a text of %d, and gave %.80s; want at most %d, and %s", secret, read, len(text), got, 4*len(text), want)
		}
	}
}

// TestSecretIsFoundEncodedTwiceOrAsPythonQuotesIt: a secret holding `/`,
// `&` and a space or not is found, for a secret with an expression and one
// matched as whole strings, as Python's urllib.parse.quote writes it
// (`/` raw, a space as %20) inside base64 (a form body a client sent), in
// a URL percent-encoded once more as another URL's query value (a
// provider's error URL echoing a redirect_uri or state), in base64 of a
// JSON body escaping `/` as PHP does, JSON-escaped inside a query value
// (`%5Cu0026`: two encodings at once), and with some of its spaces as `+`
// and others not. Each showed the secret whole.
func TestSecretIsFoundEncodedTwiceOrAsPythonQuotesIt(t *testing.T) {
	pyQuote := func(v string) string {
		return strings.ReplaceAll(strings.ReplaceAll(url.QueryEscape(v), "+", "%20"), "%2F", "/")
	}
	b64 := base64.StdEncoding.EncodeToString
	for _, secret := range []string{"py/quote secret&01 23+xyzQRS9876", "py/quote+secret&0123+xyzQRS9876", strings.Repeat("ab/c d&", 20)} {
		t.Run(fmt.Sprint(compile(secret).re == nil), func(t *testing.T) {
			Set("twice", secret)
			t.Cleanup(func() { Set("twice"); Set("twice") })
			for name, text := range map[string]string{
				"Python quote in base64": b64([]byte("grant_type=refresh_token&refresh_token=" + pyQuote(secret))),
				"encoded twice in a query": "https://app.example/error?redirect_uri=" +
					url.QueryEscape("http://127.0.0.1:8787/callback?state="+url.QueryEscape(secret)) + "&error=access_denied",
				"path-escaped twice":         "https://app.example/error?next=" + url.QueryEscape("/x/"+url.PathEscape(secret)),
				"JSON with \\/ in base64":    b64([]byte(`{"refresh_token":"` + strings.ReplaceAll(secret, "/", `\/`) + `"}`)),
				"JSON of Go in base64":       b64([]byte(`{"refresh_token":"` + strings.ReplaceAll(secret, "&", `\u0026`) + `"}`)),
				"some spaces as +, some not": strings.Replace(url.PathEscape(secret), "%20", "+", 1),
				"JSON-escaped in a query":    "https://app.example/error?error_description=" + url.QueryEscape(`{"refresh_token":"`+strings.ReplaceAll(secret, "&", `\u0026`)+`"}`),
			} {
				if got := Scrub(text); strings.Contains(got, "ab/c d&ab") || strings.Contains(got, "xyzQRS") || !strings.Contains(got, Mask(secret)) {
					t.Errorf("%s: Scrub(%s) = %s; want the secret masked", name, text, got)
				}
			}
		})
	}
}

// TestSecretIsFoundHTMLEscaped: a secret is found, for a secret with an
// expression and one matched as whole strings, as web pages escape it: a
// provider's or a proxy's error page, a form it sends back, quoting a
// token or the request's URL. Go's html/template writes + as &#43; (a
// standard base64 token, a Basic header: the whole run is masked), its
// html.EscapeString & as &amp; and ' as &#39;, Python's html.escape ' as
// &#x27;, PHP's htmlspecialchars as &#039;, OWASP's encoder / as &#x2F;;
// a URL in an attribute has its & written &amp; beside its escapes. Each
// showed the secret whole, and of a Basic header or a secret's base64 so
// escaped the masking stopped at &#43;, showing what came before.
func TestSecretIsFoundHTMLEscaped(t *testing.T) {
	page := func(format string, v any) string {
		var b strings.Builder
		template.Must(template.New("page").Parse(format)).Execute(&b, v)
		return b.String()
	}
	for _, secret := range []string{"~~~html+secret&it's/xyzQRS9876=", "Zm9vYmFyYmF6+cXV4/eA1bG9uZ2VyK3Rva2Vu", strings.Repeat("ab+c/d&'", 20)} {
		t.Run(fmt.Sprint(compile(secret).re == nil), func(t *testing.T) {
			Set("html", secret)
			t.Cleanup(func() { Set("html"); Set("html") })
			basic := base64.StdEncoding.EncodeToString([]byte("~~~client:" + secret + "?")) // fn5+…
			for name, text := range map[string]string{
				"html/template":            page(`<p>invalid token {{.}}</p>`, secret),
				"html.EscapeString":        "<p>" + html.EscapeString(secret) + "</p>",
				"Python's html.escape":     "<p>" + strings.ReplaceAll(html.EscapeString(secret), "&#39;", "&#x27;") + "</p>",
				"PHP's htmlspecialchars":   "<p>" + strings.ReplaceAll(html.EscapeString(secret), "&#39;", "&#039;") + "</p>",
				"OWASP's encoder":          "<p>" + strings.ReplaceAll(strings.ReplaceAll(html.EscapeString(secret), "&#39;", "&#x27;"), "/", "&#x2F;") + "</p>",
				"a URL in an attribute":    page(`<a href="https://app.example/cb?state=x&{{.}}">again</a>`, template.URL("code="+url.QueryEscape(secret)+"&b=1")),
				"a Basic header in a page": page(`<pre>Authorization: Basic {{.}}</pre>`, basic),
				"base64 in a page":         page(`<p>{{.}}</p>`, base64.StdEncoding.EncodeToString([]byte(secret))), // fn5&#43;… of ~~~
			} {
				got := Scrub(text)
				if strings.Contains(got, "xyzQRS") || strings.Contains(got, "ab+c/d&amp;") || strings.Contains(got, "ab&#43;c") || strings.Contains(got, "YmF6") || !strings.Contains(got, Mask(secret)) {
					t.Errorf("%s: Scrub(%s) = %s; want the secret masked", name, text, got)
				}
				if want := "<pre>Authorization: Basic " + Mask(secret) + "</pre>"; name == "a Basic header in a page" && got != want {
					t.Errorf("%s: Scrub(%s) = %s; want the whole base64 run masked: %s", name, text, got, want)
				}
			}
		})
	}
}
