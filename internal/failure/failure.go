// Package failure sorts every failure freshtoken reports into one Kind, and
// holds the one table that gives each kind its exit code, the proxy's HTTP
// status and problem code, and the next step a person takes. The command
// line and the proxy both read it, the proxy for every answer of its own;
// each problem code names one kind, so a code can always be read back as
// its kind.
package failure

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"

	"github.com/freshtoken/freshtoken"
	"github.com/freshtoken/freshtoken/config"
	"github.com/freshtoken/freshtoken/internal/atomicfile"
	"github.com/freshtoken/freshtoken/internal/login"
	"github.com/freshtoken/freshtoken/internal/redact"
	"github.com/freshtoken/freshtoken/internal/shellrun"
	"github.com/freshtoken/freshtoken/internal/tokenerr"
	"github.com/freshtoken/freshtoken/store"
	"github.com/freshtoken/freshtoken/store/keyringstore"
)

// Kind is a sort of failure, with one row in the table.
type Kind int

// The kinds, one per way to fail that a person or a script acts on
// differently.
const (
	Unexpected          Kind = iota // a bug
	Usage                           // a command used wrongly
	Config                          // the configuration or the store's credentials are wrong, or the keychain it names does not exist
	UnknownEnv                      // no such environment is configured
	ClientRejected                  // the provider refused the client's credentials, or the request the configuration makes
	Refused                         // the provider refused a renewal with an error of its own, whose words say what to do
	LogoutRefused                   // the provider refused a log-out's revocation with an error of its own, whose words say what to do
	LoginNeeded                     // no usable tokens: never logged in, the grant ended, another client's tokens
	LoginRefused                    // the browser or device log-in was denied or timed out, or its code refused or expired
	HTTPError                       // the API answered with an error status
	ProviderUnreachable             // the provider or the API could not be reached, or kept failing
	RateLimited                     // the provider answered 429 and asks to wait
	UnusableToken                   // the provider issued an access token no HTTP header can carry
	StoreUnreachable                // the shared store could not be reached, the keychain is locked, the disk is full or read-only, or a file (the store's, the configuration) could not be opened as freshtoken has as many open as it may
	UnreadableAnswer                // the API answered with what cannot be read (headers past net/http's limit, what is not HTTP): reached, and failing
	APIUnreachable                  // the API itself could not be reached, or its answer read whole (network, TLS)
	APITimeout                      // the API had not begun to answer, or stopped sending its answer, within the environment's timeout
	// The proxy's own refusals, which no command meets: their exit codes
	// are their nearest kind's, a request made wrongly (2) or an API
	// failing (5).
	Forbidden        // a request the proxy does not serve: from another machine, a web page (Host, Origin) or another user's program
	MethodNotAllowed // a method the proxy does not take there: TRACE, TRACK or CONNECT (or a method override naming one), or other than GET at the status page
	TokenEndpoint    // a request through the proxy to the provider's token or revocation endpoint, which freshtoken alone uses
	ClientTimeout    // the client paused sending its request's body past the proxy's limit
	RedirectToProxy  // the API redirected back into the proxy, and so perhaps to another environment
	BadRedirect      // the API redirected to a URL freshtoken cannot read, and so cannot tell where it leads
	ConfigUnusable   // a proxy started with --wait-for-config (the service's) has no configuration it can start with yet, and waits for one
	Interrupted      // a signal ended the command, or stopped the proxy mid-request
)

// Row is what a kind means on each channel.
type Row struct {
	Exit   int    // the command's exit code
	Status int    // the proxy's HTTP status (0: the API's own status is passed on)
	Code   string // the proxy's problem code
	// Next is the next step for a person, in a sentence that follows the
	// message; %[1]s is the environment. Empty when the message says it.
	Next string
}

var table = map[Kind]Row{
	Unexpected:          {1, http.StatusInternalServerError, "failed", ""},
	Usage:               {2, http.StatusBadRequest, "bad_request", ""},
	Config:              {2, http.StatusInternalServerError, "invalid_configuration", ""},
	UnknownEnv:          {2, http.StatusNotFound, "unknown_environment", ""},
	ClientRejected:      {2, http.StatusBadGateway, "client_rejected", CheckClient("")},
	Refused:             {2, http.StatusBadGateway, "renewal_refused", ""},
	LogoutRefused:       {2, http.StatusBadGateway, "logout_refused", ""},
	LoginNeeded:         {3, http.StatusUnauthorized, "login_required", "run `freshtoken login -e %[1]s`"},
	LoginRefused:        {3, http.StatusUnauthorized, "login_refused", "run `freshtoken login -e %[1]s` again and approve access in the browser"},
	HTTPError:           {4, 0, "", ""},
	ProviderUnreachable: {5, http.StatusBadGateway, "provider_unreachable", ""},
	RateLimited:         {5, http.StatusServiceUnavailable, "rate_limited", ""},
	UnusableToken:       {5, http.StatusBadGateway, "unusable_token", "run `freshtoken token --force -e %[1]s` for another, and tell the provider if it happens again"},
	StoreUnreachable:    {5, http.StatusServiceUnavailable, "store_unreachable", ""},
	UnreadableAnswer:    {5, http.StatusBadGateway, "api_unreadable", ""},
	APIUnreachable:      {5, http.StatusBadGateway, "api_unreachable", ""},
	APITimeout:          {5, http.StatusGatewayTimeout, "api_timeout", ""},
	Forbidden:           {2, http.StatusForbidden, "forbidden", ""},
	MethodNotAllowed:    {2, http.StatusMethodNotAllowed, "method_not_allowed", ""},
	TokenEndpoint:       {2, http.StatusForbidden, "token_endpoint", ""},
	ClientTimeout:       {2, http.StatusRequestTimeout, "client_timeout", ""},
	RedirectToProxy:     {5, http.StatusBadGateway, "redirect_to_proxy", ""},
	BadRedirect:         {5, http.StatusBadGateway, "bad_redirect", ""},
	ConfigUnusable:      {2, http.StatusServiceUnavailable, "configuration_unusable", ""},
	Interrupted:         {130, http.StatusServiceUnavailable, "interrupted", ""},
}

// Row returns k's row of the table.
func (k Kind) Row() Row { return table[k] }

// OfCode reads a problem code back as its kind; ok is false for a code
// that names none.
func OfCode(code string) (k Kind, ok bool) {
	for k, row := range table {
		if code != "" && row.Code == code {
			return k, true
		}
	}
	return Unexpected, false
}

// ErrAPIUnreachable and ErrAPITimeout mark an API's failure, as the
// underlying error of a freshtoken.Error: the message says what happened,
// the sentinel which kind it is.
var (
	ErrAPIUnreachable = errors.New("the API could not be reached")
	ErrAPITimeout     = errors.New("the API did not answer in time")
)

// Kinded is an error that knows its kind.
type Kinded interface {
	error
	FailureKind() Kind
}

// Of sorts err. Errors from other packages are sorted by their sentinels;
// an error that knows its kind (Kinded) says it itself.
func Of(err error) Kind {
	var (
		kd Kinded
		xe *login.ExchangeError
		ae *login.AuthorizeError
		nm *login.NewerMeanwhileError
	)
	switch {
	case err == nil:
		return Unexpected
	case errors.As(err, &kd):
		return kd.FailureKind()
	case errors.As(err, &nm):
		return Config
	case errors.Is(err, context.Canceled):
		return Interrupted
	case errors.As(err, &ae) && ae.Misconfigured():
		return Config
	case errors.As(err, &ae) && ae.Unavailable():
		return ProviderUnreachable
	case atomicfile.OutOfFiles(err) && !errors.As(err, new(*net.OpError)):
		// Wherever a file was opened, the store's or the configuration's:
		// it passes, and raising the limit prevents it. A connection's
		// (the API's, the provider's) is sorted as whose it was, the step
		// the same (NextNaming): the store is not to blame.
		return StoreUnreachable
	case errors.As(err, new(*shellrun.Stopped)):
		// A command freshtoken ran (client_secret_cmd) ended by a signal:
		// where freshtoken got it too, the command line tells its own
		// interruption first; else it was sent to the command alone, the
		// system's doing or a person's, not a bug.
		return Config
	case errors.Is(err, config.ErrInvalid), errors.Is(err, store.ErrDenied), errors.Is(err, store.ErrInsecure), errors.Is(err, login.ErrPortBusy), errors.Is(err, login.ErrPortRefused), errors.Is(err, login.ErrCannotListen), errors.Is(err, login.ErrNotLoopback),
		errors.Is(err, keyringstore.ErrNoKeychain), errors.Is(err, store.ErrNewerFormat), errors.Is(err, freshtoken.ErrClearText), errors.Is(err, store.ErrReservedName):
		return Config
	case errors.Is(err, freshtoken.ErrUnusableToken):
		return UnusableToken
	case errors.Is(err, freshtoken.ErrRateLimited):
		return RateLimited
	case errors.Is(err, login.ErrBadPaste):
		return Usage
	case errors.Is(err, login.ErrNotApproved), errors.Is(err, login.ErrStateMismatch), errors.Is(err, login.ErrMixUp), errors.Is(err, freshtoken.ErrLoginRefused):
		return LoginRefused
	case errors.Is(err, tokenerr.ErrOwnRevocationRefusal):
		return LogoutRefused
	case errors.Is(err, tokenerr.ErrOwnRefusal):
		return Refused
	case errors.Is(err, freshtoken.ErrClientRejected):
		return ClientRejected
	case errors.Is(err, freshtoken.ErrLoginRequired), errors.Is(err, store.ErrCorrupt):
		return LoginNeeded
	case errors.Is(err, store.ErrUnreachable), errors.Is(err, store.ErrWriteFailed):
		return StoreUnreachable
	case errors.Is(err, ErrAPITimeout):
		return APITimeout
	case errors.Is(err, ErrAPIUnreachable):
		return APIUnreachable
	case errors.Is(err, freshtoken.ErrUnreachable):
		return ProviderUnreachable
	case errors.As(err, &xe):
		switch xe.Class {
		case tokenerr.BadClient:
			return ClientRejected
		case tokenerr.BadGrant:
			return LoginRefused
		case tokenerr.RateLimited:
			return RateLimited
		}
		return ProviderUnreachable
	}
	return Unexpected
}

// Next is the next step for err's kind in env, or "" if there is none or
// err's message already says it (or another log-in to run).
func Next(err error, env string) string { return NextNaming(err, env, nil) }

// NextNaming is Next, whose step after a refused client names where the
// environment's client secret comes from, as secretWhere says it for the
// environment (CheckClient); nil names none.
func NextNaming(err error, env string, secretWhere func(env string) string) string {
	next := Of(err).Row().Next
	var again interface{ LogInAgain() (before, after string) }
	if errors.As(err, &again) {
		if before, _ := again.LogInAgain(); before != "" {
			return "" // its step is logging in again, which its caller names
		}
	}
	if atomicfile.OutOfFiles(err) {
		next = atomicfile.OutOfFilesStep(err)
	}
	if next == "" {
		return ""
	}
	if e := envOf(err); e != "" {
		env = e
	}
	if Of(err) == ClientRejected && secretWhere != nil {
		next = CheckClient(secretWhere(env))
	}
	if Of(err) == LoginNeeded && KeptTokens(err.Error()) {
		return LoginStep(err.Error(), env)
	}
	if strings.Contains(next, "%[1]s") {
		next = fmt.Sprintf(next, env)
	}
	// A message that already says which log-in to run (a manual one, say)
	// is not followed by another. What a provider or an API wrote, which
	// is quoted, is not freshtoken saying it.
	const runLogin = "run `freshtoken login "
	if said := ownWords(err.Error()); strings.Contains(said, next) || strings.HasPrefix(next, runLogin) && strings.Contains(said, runLogin) {
		return ""
	}
	// A configuration error that says which setting to check or set (a
	// token URL where no endpoint is) is not the client's credentials to
	// check as well.
	if Of(err) == ClientRejected && NamesItsCheck(err.Error()) {
		return ""
	}
	return next
}

// CheckClient is the step after the provider refused the client: what to
// check in the config, naming where the client secret comes from when it
// is not the config file (secretWhere, as config's ClientSecretWhere says
// it: "$FREEAGENT_SECRET", never the secret); "" names nothing. A user
// whose secret comes from a variable was sent to look for it in the file.
func CheckClient(secretWhere string) string {
	secret := "the client secret"
	if secretWhere != "" && secretWhere != "the config file" {
		secret += " (" + secretWhere + ")"
	}
	return "check client_id, " + secret + " and client_auth in the config"
}

// FixClient is the step after msg, the words of a refused client that
// stays refused until it is fixed (status's problem, the proxy's page):
// "fix it" when msg says which setting to check or set (NamesItsCheck),
// else what CheckClient names to check (secretWhere: where the client
// secret comes from).
func FixClient(msg, secretWhere string) string {
	if NamesItsCheck(msg) {
		return "fix it"
	}
	return CheckClient(secretWhere)
}

// Steps splits msg, the words of a refused client that stays refused until
// it is fixed (status's problem, the proxy's page), into the words to show
// and the steps after them: what to fix (FixClient), then retry, the step
// that shows the fix works (a command, a button). A renewal refused with
// an error of the provider's own ends in the engine's "or log in again if
// they name…": its steps are checking what they name, then retry, or logIn
// if they name the refresh token or the log-in.
func Steps(msg, secretWhere, retry, logIn string) (said, steps string) {
	if said, ok := strings.CutSuffix(msg, ", or log in again"+tokenerr.LogInIfNamed); ok {
		return said, ", then " + retry + ", or " + logIn + tokenerr.LogInIfNamed
	}
	return msg, "; " + FixClient(msg, secretWhere) + ", then " + retry
}

// Scope says, as status and the proxy's page show it, the scope granted
// (rec.Scope) and those of asked, the configuration's scopes, it lacks:
// API calls that need them are refused (403). "" when no answer named a
// scope. The provider's words are made safe to print on one line.
func Scope(rec *store.Record, asked []string) string {
	if rec == nil || rec.Scope == "" {
		return ""
	}
	granted := redact.OneLine(rec.Scope, 1000) + " granted"
	if missing := rec.ScopesNotGranted(asked); len(missing) > 0 {
		return fmt.Sprintf("%s; not granted: %s, so API calls that need them are refused (403)", granted, strings.Join(missing, " "))
	}
	return granted
}

// KeptTokens reports whether msg, the engine's words on a grant that
// ended, says it kept tokens that a forced renewal tries (a renewal paused
// past the renewal lock received them): in its own words, not a
// provider's, quoted.
func KeptTokens(msg string) bool {
	return strings.Contains(ownWords(msg), tokenerr.KeptTokensTried)
}

// RevocationSent reports whether err, a revocation stopped as its context
// ended, had sent a request, which the provider may have carried out:
// stopped before (waiting for the renewal lock, or for the client secret),
// it sent nothing, and the tokens kept are the grant's as they were.
func RevocationSent(err error) bool {
	return errors.Is(err, tokenerr.ErrGivenUp)
}

// LoginStep is the step that follows msg, the engine's words on a grant
// that ended, in env: a log-in, or first `token --force` for tokens it
// says it kept, which the engine names in its own terms, not the command
// line's. A log-in, or a log-out to forget the tokens: the grant that
// ended may be one a log-out ended, which kept the tokens as the
// provider's answer was lost after it revoked the grant. Told unasked (a
// keeper's notice), "log in" alone told a person who had logged out to
// undo it, and never that the log-out was left to finish.
func LoginStep(msg, env string) string {
	if KeptTokens(msg) {
		return fmt.Sprintf("run `freshtoken token --force -e %[1]s` to try them, else `freshtoken login -e %[1]s`", env)
	}
	return fmt.Sprintf("run `freshtoken login -e %[1]s` to use it again, or `freshtoken logout -e %[1]s` to forget its tokens", env)
}

// NamesItsCheck reports whether msg, a configuration error such as a
// rejected client's, says in its own words (not a provider's, quoted)
// which setting to check or set: a token URL where no endpoint is. The
// client's credentials are then not to be checked as well.
func NamesItsCheck(msg string) bool {
	said := ownWords(msg)
	return strings.Contains(said, "; check ") || strings.Contains(said, "; set ")
}

// ownWords is msg without the quoted strings in it: the words of the
// providers and APIs it tells of, which tokenerr quotes.
func ownWords(msg string) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(msg, '"')
		if i < 0 {
			break
		}
		b.WriteString(msg[:i])
		q, err := strconv.QuotedPrefix(msg[i:])
		if err != nil {
			q = msg[i : i+1] // a quote mark of the words themselves
			b.WriteString(q)
		}
		msg = msg[i+len(q):]
	}
	b.WriteString(msg)
	return b.String()
}

// envOf is the environment err names, if it does.
func envOf(err error) string {
	var (
		fe *freshtoken.Error
		xe *login.ExchangeError
	)
	switch {
	case errors.As(err, &fe):
		return fe.Env
	case errors.As(err, &xe):
		return xe.Env
	}
	return ""
}

// Corruption is what err, a store's error wrapping store.ErrCorrupt, says
// is wrong with the record, without its words on what is done about it
// ("it was left as it is, and a log-in replaces it"), which follow its
// last "; ": the record's path before them may hold one too. For a
// command or a page that deleted the record, which says so itself.
func Corruption(err error) string {
	s := err.Error()
	if i := strings.Index(s, store.ErrCorrupt.Error()+": "); i >= 0 {
		s = s[i+len(store.ErrCorrupt.Error())+2:]
	}
	if i := strings.LastIndex(s, "; "); i >= 0 {
		s = s[:i]
	}
	return s
}
