package httpx

import (
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"sync"
	"time"
)

// CertPool is the system's trusted roots with the PEM certificates in
// caFile added, for a private certificate authority; the system's alone
// when caFile is "".
func CertPool(caFile string) (*x509.CertPool, error) {
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if caFile == "" {
		return pool, nil
	}
	if err := AppendPEMFile(pool, caFile); err != nil {
		return nil, err
	}
	return pool, nil
}

// AppendPEMFile adds the certificates in the PEM file to pool, and says
// which file failed and why when it holds none.
func AppendPEMFile(pool *x509.CertPool, caFile string) error {
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return fmt.Errorf("cannot read %s (%v)", caFile, errors.Unwrap(err))
	}
	// A byte-order mark (Notepad's) would hide the first certificate.
	if !pool.AppendCertsFromPEM(bytes.TrimPrefix(pem, []byte("\ufeff"))) {
		return fmt.Errorf("%s holds no PEM certificate (-----BEGIN CERTIFICATE-----)", caFile)
	}
	return nil
}

// NewTransport is a copy of http.DefaultTransport, which honours
// HTTPS_PROXY, HTTP_PROXY and NO_PROXY, that also trusts the certificates
// in caFile ("" for the system's roots alone). Every outbound client of
// freshtoken is built on it, or on http.DefaultTransport itself. Its
// HTTP/2 connections are pinged when silent (PingHTTP2). It dials as
// http.DefaultTransport does, with a dialer of freshtoken's own, which
// AwayFromHere's copies do not let connect to this machine at all.
// A proxy variable Go cannot read is a *ProxyEnvError: Go would ignore
// it and send every request around the proxy.
func NewTransport(caFile string) (*http.Transport, error) {
	if err := checkProxyEnv(); err != nil {
		return nil, err
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = dialer.DialContext
	PingHTTP2(t)
	if caFile != "" {
		pool, err := CertPool(caFile)
		if err != nil {
			return nil, err
		}
		t.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return t, nil
}

// PingHTTP2 has t ask a server by an HTTP/2 PING whether it is still
// there once nothing came on a connection for 10 seconds, and close the
// connection, failing its requests, when no answer comes within 5 more.
// A connection with a request in flight when the machine slept is not
// idle, so the closing of idle connections on waking (see internal/wake)
// leaves it, and requests made after the wake are multiplexed onto it: to
// a network left behind, they waited out their whole timeout. Now they
// fail within 15 seconds of the wake (the timers count only the time the
// machine ran), and a retry goes over a new connection. A server that is
// there answers a PING however slow its answer to a request is.
func PingHTTP2(t *http.Transport) {
	t.HTTP2 = &http.HTTP2Config{SendPingTimeout: 10 * time.Second, PingTimeout: 5 * time.Second}
}

// SharedTransport is NewTransport's transport for caFile, made once in the
// process for each content of caFile and shared by every caller, which must
// not change it: the connections one caller leaves idle serve the next,
// where a transport each would keep its own open (a socket and two
// goroutines) for 90 seconds. An edited caFile gets a transport of its own.
func SharedTransport(caFile string) (*http.Transport, error) {
	if err := checkProxyEnv(); err != nil {
		return nil, err
	}
	key := caFile
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return NewTransport(caFile) // which says what is wrong with it
		}
		sum := sha256.Sum256(pem)
		key += "\x00" + string(sum[:])
	}
	shared.Lock()
	defer shared.Unlock()
	if t := shared.m[key]; t != nil {
		return t, nil
	}
	t, err := NewTransport(caFile)
	if err == nil {
		shared.m[key] = t
	}
	return t, err
}

// CloseSharedIdle closes the idle connections of every transport
// SharedTransport has made, as after the machine slept: a Source opened
// once another has seen the sleep closes none itself.
func CloseSharedIdle() {
	shared.Lock()
	defer shared.Unlock()
	for _, t := range shared.m {
		t.CloseIdleConnections()
	}
}

// shared holds SharedTransport's transports.
var shared = struct {
	sync.Mutex
	m map[string]*http.Transport
}{m: map[string]*http.Transport{}}

// ProxyEnvError is a proxy variable that holds no URL Go can read.
type ProxyEnvError struct{ Name string }

func (e *ProxyEnvError) Error() string {
	return e.Name + " is set but is not a URL that can be read, so the proxy would be bypassed; percent-encode the special characters of its user and password (% as %25, # as %23, @ as %40, / as %2F), as in http://user:p%40ss@proxy.example.com:3128"
}

// checkProxyEnv reads the proxy variables as Go's ProxyFromEnvironment
// does (the upper-case name first), and refuses one it would ignore.
func checkProxyEnv() error {
	for _, names := range [][2]string{{"HTTPS_PROXY", "https_proxy"}, {"HTTP_PROXY", "http_proxy"}} {
		name := names[0]
		v := os.Getenv(name)
		if v == "" {
			name, v = names[1], os.Getenv(names[1])
		}
		if v == "" {
			continue
		}
		if u, err := url.Parse(v); err == nil && u.Scheme != "" && u.Host != "" {
			continue
		}
		if _, err := url.Parse("http://" + v); err != nil {
			return &ProxyEnvError{Name: name}
		}
	}
	return nil
}

// OneUse is rt for requests that each need a connection of their own,
// closed once answered: a request written into a kept-alive connection the
// server had just closed fails as one sent and never answered, which a
// token request that spends a refresh token cannot tell from one the
// provider acted on. It is a copy of rt with keep-alives off (its proxy,
// trusted authorities and HTTP/2 kept) when rt is an *http.Transport (nil:
// http.DefaultTransport) or ExplainTLS's around one; any other rt, whose
// connections it cannot reach, is returned as it is. HTTP/2 that rt's
// owner installed (golang.org/x/net/http2's ConfigureTransport) is net/http's
// own in the copy: the one installed hands every connection to rt's pool,
// where the copy's requests went over the connections rt keeps alive.
func OneUse(rt http.RoundTripper) http.RoundTripper {
	switch t := rt.(type) {
	case nil:
		return OneUse(http.DefaultTransport)
	case *http.Transport:
		c := t.Clone()
		c.DisableKeepAlives = true
		if c.TLSNextProto["h2"] != nil { // Clone copies only an owner's, not net/http's own
			delete(c.TLSNextProto, "h2")
			if c.Protocols == nil {
				c.Protocols = new(http.Protocols)
				c.Protocols.SetHTTP1(true)
			}
			c.Protocols.SetHTTP2(true)
		}
		return c
	case explainTLS:
		return explainTLS{OneUse(t.base)}
	}
	return rt
}

// ExplainTLS wraps a RoundTripper so that a certificate its server showed
// and this machine does not trust fails with one line saying whose
// certificate, what is wrong with it, and what to do.
func ExplainTLS(base http.RoundTripper) http.RoundTripper { return explainTLS{base} }

type explainTLS struct{ base http.RoundTripper }

func (t explainTLS) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		err = ExplainCertificate(err, t.certificateOf(req, err), "set ca_file")
	}
	return resp, err
}

// CloseIdleConnections closes base's idle connections, as
// http.Client.CloseIdleConnections asks of a transport.
func (t explainTLS) CloseIdleConnections() { CloseIdle(t.base) }

// certificateOf names whose certificate a failed request's err is about:
// an https proxy's when the connection to the proxy failed (Go marks that
// "proxyconnect"), else the request's host.
func (t explainTLS) certificateOf(req *http.Request, err error) string {
	var op *net.OpError
	if !errors.As(err, &op) || op.Op != "proxyconnect" {
		return req.URL.Hostname()
	}
	if tr, ok := t.base.(*http.Transport); ok && tr.Proxy != nil {
		if u, perr := tr.Proxy(req); perr == nil && u != nil {
			return "the proxy " + u.Hostname()
		}
	}
	return "the proxy"
}

// CertificateError is a server certificate this machine does not trust.
type CertificateError struct {
	Host string
	Why  string // "is signed by an unknown authority; set ca_file", and the like
	Err  error
}

func (e *CertificateError) Error() string { return "the certificate of " + e.Host + " " + e.Why }

func (e *CertificateError) Unwrap() error { return e.Err }

// ExplainCertificate returns err, from a TLS connection to host, as a
// *CertificateError when it is one of the certificate failures people can
// act on, and unchanged otherwise. trust is what to do about a certificate
// signed by an authority this machine does not know ("set ca_file").
func ExplainCertificate(err error, host, trust string) error {
	var (
		unknown  x509.UnknownAuthorityError
		hostname x509.HostnameError
		invalid  x509.CertificateInvalidError
	)
	switch {
	case errors.As(err, &unknown):
		return &CertificateError{Host: host, Why: "is signed by an unknown authority; " + trust, Err: err}
	case errors.As(err, &hostname):
		return &CertificateError{Host: host, Why: fmt.Sprintf("is for another host (%s); check the URL, or the proxy or firewall that answered", certNames(hostname.Certificate)), Err: err}
	case errors.As(err, &invalid) && invalid.Reason == x509.Expired:
		c := invalid.Cert
		return &CertificateError{Host: host, Why: fmt.Sprintf("has expired or is not yet valid (valid %s to %s); check this machine's clock, or tell the server's owner",
			c.NotBefore.UTC().Format(time.DateOnly), c.NotAfter.UTC().Format(time.DateOnly)), Err: err}
	case errors.As(err, &invalid):
		return &CertificateError{Host: host, Why: "is not valid (" + invalid.Error() + "); tell the server's owner", Err: err}
	}
	return err
}

// certNames says whom c is for. Its names are the server's, anyone's who
// answered: one holding a control character (an escape sequence that sets
// a terminal's clipboard) is shown quoted, escaped, as no host name holds
// one.
func certNames(c *x509.Certificate) string {
	switch {
	case c == nil:
		return "unknown names"
	case len(c.DNSNames) > 0:
		return "valid for " + certName(c.DNSNames[0]) + moreNames(len(c.DNSNames)-1)
	case c.Subject.CommonName != "":
		return "valid for " + certName(c.Subject.CommonName)
	}
	return "valid for no host name"
}

func certName(name string) string {
	if PrintableASCII(name) {
		return name
	}
	return strconv.QuoteToASCII(name)
}

func moreNames(n int) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf(" and %d more", n)
}
