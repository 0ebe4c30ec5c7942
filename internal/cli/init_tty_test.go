//go:build linux

package cli_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"

	"github.com/freshtoken/freshtoken/config"
	"github.com/freshtoken/freshtoken/internal/cli"
	"github.com/freshtoken/freshtoken/internal/devprovider"
	"github.com/freshtoken/freshtoken/internal/testenv"
)

// screen is what a terminal shows: everything written to the pty, which
// includes the echo of what is typed while echo is on.
type screen struct {
	mu     sync.Mutex
	text   bytes.Buffer
	cursor int // how far expect has read
	ptmx   *os.File
	tty    *os.File
}

func newScreen(t *testing.T) *screen {
	t.Helper()
	ptmx, tty, err := pty.Open()
	if err != nil {
		testenv.Missing(t, "no pseudo-terminal here: %v", err)
	}
	s := &screen{ptmx: ptmx, tty: tty}
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := ptmx.Read(buf)
			s.mu.Lock()
			s.text.Write(buf[:n])
			s.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() { tty.Close(); ptmx.Close() })
	return s
}

func (s *screen) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.text.String()
}

// expect waits for text to appear after what was already expected.
func (s *screen) expect(t *testing.T, text string) {
	t.Helper()
	testenv.WaitFor(t, "the terminal to show "+strconv.Quote(text), func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		i := strings.Index(s.text.String()[s.cursor:], text)
		if i >= 0 {
			s.cursor += i + len(text)
		}
		return i >= 0
	})
}

// answer waits for a question and types a line.
func (s *screen) answer(t *testing.T, question, line string) {
	t.Helper()
	s.expect(t, question)
	if _, err := s.ptmx.Write([]byte(line + "\n")); err != nil {
		t.Fatal(err)
	}
}

// answered waits for question from the command whose outcome done will
// send, types line, and waits for the command to end, which must end well.
func (s *screen) answered(t *testing.T, done <-chan error, question, line string) {
	t.Helper()
	s.answer(t, question, line)
	if err := finished(t, done); err != nil {
		t.Fatalf("answered %q to %q: %v; want exit 0\nscreen:\n%s", line, question, err, s)
	}
}

// start runs freshtoken with args in the background on s's terminal, its
// standard output going to out and its browser approving, and returns
// where its outcome will be sent.
func (s *screen) start(t *testing.T, out io.Writer, args ...string) <-chan error {
	return s.startWithin(t.Context(), out, args...)
}

// startWithin is start with the command's context ctx, which the first
// signal cancels in freshtoken (see cli.Main).
func (s *screen) startWithin(ctx context.Context, out io.Writer, args ...string) <-chan error {
	root := cli.NewRootCmd(&cli.Factory{
		IO:          &cli.IOStreams{In: s.tty, Out: out, ErrOut: s.tty, InTTY: true, ErrTTY: true},
		OpenBrowser: approveAt,
	})
	root.SetArgs(args)
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()
	return done
}

// interruptAt runs freshtoken with args on s's terminal and, once it asks
// question, cancels its context, as a Ctrl-C does (see startWithin): the
// command must then end, interrupted, without an answer, saying that
// nothing was changed (it said only "interrupted").
func (s *screen) interruptAt(t *testing.T, question string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	done := s.startWithin(ctx, io.Discard, args...)
	s.expect(t, question)
	cancel()
	if err := finished(t, done); !errors.Is(err, context.Canceled) || !strings.HasSuffix(err.Error(), "; nothing was changed") {
		t.Fatalf("%s: %v; want it interrupted, saying nothing was changed\nscreen:\n%s", strings.Join(args, " "), err, s)
	}
}

// acceptLogin says yes to init's offer to log in to env, and waits for init
// to finish, having logged in.
func (s *screen) acceptLogin(t *testing.T, env string, done <-chan error) {
	t.Helper()
	s.answered(t, done, "Log in to "+env+" now? [Y/n]: ", "")
	s.expect(t, "Logged in to "+env)
}

// typeClient answers init's questions for the client: its id, and its
// secret kept in the file, typed while the terminal does not show it.
func (s *screen) typeClient(t *testing.T, id, secret string) {
	t.Helper()
	s.answer(t, "OAuth identifier (client ID): ", id)
	s.expect(t, "How should freshtoken get the client secret?")
	s.answer(t, "Choose 1-3 [1]: ", "3")
	s.typeSecret(t, secret)
}

// atTheSecret runs init for environment later of e on s's terminal, to be
// given the client secret in the configuration file, and waits for its
// question with echo off; it returns where init's outcome will be sent.
func (s *screen) atTheSecret(t *testing.T, e *devEnv) <-chan error {
	t.Helper()
	done := s.start(t, io.Discard, "--config", e.config, "init", "-e", "later", "--provider", "freeagent", "--client-id", "dev-client-id")
	s.answer(t, "Choose 1-3 [1]: ", "3")
	s.expect(t, "Client secret (typing is not shown): ")
	testenv.WaitFor(t, "echo to be off", s.echoOff)
	return done
}

// typeSecret waits for init's client secret question, and for the terminal
// to stop showing what is typed, and types secret.
func (s *screen) typeSecret(t *testing.T, secret string) {
	t.Helper()
	s.expect(t, "Client secret (typing is not shown): ")
	testenv.WaitFor(t, "echo to be off", s.echoOff)
	if _, err := s.ptmx.Write([]byte(secret + "\n")); err != nil {
		t.Fatal(err)
	}
}

// declineLogin says no to init's offer to log in to env, and waits for
// init to finish.
func (s *screen) declineLogin(t *testing.T, env string, done <-chan error) {
	t.Helper()
	s.answered(t, done, "Log in to "+env+" now? [Y/n]: ", "n")
}

// leftClean checks that the terminal never showed secret, and shows what
// is typed again.
func (s *screen) leftClean(t *testing.T, secret string) {
	t.Helper()
	if strings.Contains(s.String(), secret) {
		t.Errorf("the terminal showed the client secret:\n%s", s)
	}
	if s.echoOff() {
		t.Error("echo was left off")
	}
}

// echoOff reports whether the terminal has stopped echoing what is typed.
func (s *screen) echoOff() bool {
	tio, err := unix.IoctlGetTermios(int(s.tty.Fd()), unix.TCGETS)
	return err == nil && tio.Lflag&unix.ECHO == 0
}

// endInput presses Ctrl-D at the question the screen shows, ending the
// terminal's input, and returns the outcome the command then sends on done.
func (s *screen) endInput(t *testing.T, done <-chan error) error {
	t.Helper()
	if _, err := s.ptmx.Write([]byte{4}); err != nil {
		t.Fatal(err)
	}
	return finished(t, done)
}

// initEnded presses Ctrl-D at the question init, run on done to set up
// environment "later", shows: init ends, exit 2, saying says, with echo
// on and the configuration not written.
func (s *screen) initEnded(t *testing.T, e *devEnv, done <-chan error, says string) {
	t.Helper()
	err := s.endInput(t, done)
	if code := cli.ExitCode(err); code != 2 || err == nil || !strings.Contains(err.Error(), says) {
		t.Errorf("init exited %d (%v); want 2, saying %q", code, err, says)
	}
	if s.echoOff() {
		t.Error("echo was left off")
	}
	if conf, _ := os.ReadFile(e.config); strings.Contains(string(conf), "later") {
		t.Errorf("the configuration was written:\n%s", conf)
	}
}

// finished waits for a command running in the background to send its
// outcome on done.
func finished(t *testing.T, done <-chan error) error {
	t.Helper()
	return testenv.Receive(t, "the command to finish", done)
}

// TestInitAsksOnATerminal plays a person at a terminal: init asks for the
// provider, a name (refusing a bad one, and one that starts with a '-'),
// the client id and the secret, which the terminal does not show, then
// logs in when offered.
func TestInitAsksOnATerminal(t *testing.T) {
	e := newDevEnv(t)
	s := newScreen(t)
	redirect := freeRedirectURI(t)

	var stdout bytes.Buffer
	done := s.start(t, &stdout, "--config", e.config, "init", "--api-url", e.api, "--redirect-uri", redirect)

	s.expect(t, "Which provider?")
	s.answer(t, "Choose 1-8 [1]: ", "2")
	s.answer(t, "Name for this environment [production]: ", "my env")
	s.expect(t, `environment name "my env" may only use letters, digits, '-' and '_'`)
	s.answer(t, "Name for this environment [production]: ", "-dev")
	s.expect(t, `environment name "-dev" must start with a letter or a digit`)
	s.answer(t, "Name for this environment [production]: ", "dev")
	s.expect(t, "developer dashboard (https://dev.freeagent.com)")
	s.typeClient(t, "dev-client-id", "dev-client-secret")
	s.expect(t, "Register this redirect URI")
	s.acceptLogin(t, "dev", done)
	s.leftClean(t, "dev-client-secret")
	if stdout.String() != redirect+"\n" {
		t.Errorf("stdout = %q, want the redirect URI alone", stdout.String())
	}
	conf, _ := os.ReadFile(e.config)
	for _, want := range []string{`default_env = "dev"`, `provider = "freeagent"`, `client_id = "dev-client-id"`, `client_secret = "dev-client-secret"`} {
		if !strings.Contains(string(conf), want) {
			t.Errorf("config lacks %s:\n%s", want, conf)
		}
	}
	ios, out, errOut := testStreams(false, false)
	if code := e.run(ios, "get", "/v2/company"); code != 0 || !strings.Contains(out.String(), "Dev Ltd") {
		t.Errorf("get after init exited %d: %s%s", code, out, errOut)
	}
}

// TestInitTakesAProviderByItsName: the provider typed by the name the list
// shows (freeagent-sandbox, as the README's commands spell it) is taken, as
// its number is. It was refused with "type a number from 1 to 8", and the
// answers typed after it went to the wrong questions.
func TestInitTakesAProviderByItsName(t *testing.T) {
	e := newDevEnv(t)
	s := newScreen(t)
	done := s.start(t, io.Discard, "--config", e.config, "init", "-e", "dev", "--api-url", e.api,
		"--client-id", "dev-client-id", "--client-secret-env", "FT_TEST_UNSET_SECRET", "--redirect-uri", freeRedirectURI(t))
	s.answer(t, "Choose 1-8 [1]: ", "sandbox")
	s.expect(t, "type a number from 1 to 8, or a name from the list")
	s.answered(t, done, "Choose 1-8 [1]: ", "FreeAgent")
	if conf, _ := os.ReadFile(e.config); !strings.Contains(string(conf), `provider = "freeagent"`) {
		t.Errorf("the configuration holds:\n%s", conf)
	}
}

// TestInitTakesWhatWasPastedAsMeant: what a person pastes at init's
// questions is taken as meant, or asked for again at once: the client ID
// pasted with the label the provider's page shows ("Client ID: …"), or the
// redirect URI pasted in its place, is refused saying what to paste; one
// and the secret wrapped in a terminal's bracketed-paste marks, a
// byte-order mark and spaces are taken without them; the secret pasted with
// its label, or in quotes or angle brackets, is refused without being
// shown (in quotes, it was written with them, and refused by the provider). They were written as pasted,
// the label kept, or refused only after every question, "nothing was
// written", in words about TOML's escapes.
func TestInitTakesWhatWasPastedAsMeant(t *testing.T) {
	e := newDevEnv(t)
	s := newScreen(t)
	redirect := freeRedirectURI(t)
	done := s.start(t, io.Discard, "--config", e.config, "init", "-e", "dev", "--provider", "freeagent", "--api-url", e.api, "--redirect-uri", redirect)

	s.answer(t, "OAuth identifier (client ID): ", redirect)
	s.expect(t, "that is a web address, not the client ID")
	s.answer(t, "OAuth identifier (client ID): ", "Client ID: dev-client-id")
	s.expect(t, `that begins with the label "Client ID:"; the client ID is what follows it: dev-client-id`)
	s.answer(t, "OAuth identifier (client ID): ", "OAuth secret: Zx81hQ2mP0wLk7sT3vB9")
	s.expect(t, "that is labelled as the client secret, not the client ID")
	if n := strings.Count(s.String(), "Zx81hQ2mP0wLk7sT3vB9"); n != 1 {
		t.Errorf("the secret pasted at the client ID question was shown %d times, not only as it was typed:\n%s", n, s)
	}
	s.typeClient(t, "\x1b[200~\ufeffdev-client-id \x1b[201~", "OAuth secret: dev-client-secret")
	s.expect(t, `That begins with the label "OAuth secret:"; paste the secret alone`)
	s.typeSecret(t, `"dev-client-secret",`)
	s.expect(t, "The quote marks or brackets around that are not part of the secret; paste the secret alone, without them.")
	s.typeSecret(t, "<dev-client-secret>")
	s.expect(t, "The quote marks or brackets around that are not part of the secret")
	s.typeSecret(t, "\x1b[200~ dev-client-secret\u00a0\x1b[201~")
	s.acceptLogin(t, "dev", done)
	if strings.Contains(s.String(), "dev-client-secret") {
		t.Errorf("the terminal showed the client secret:\n%s", s)
	}
	conf, _ := os.ReadFile(e.config)
	for _, want := range []string{"client_id = \"dev-client-id\"\n", "client_secret = \"dev-client-secret\"\n"} {
		if !strings.Contains(string(conf), want) {
			t.Errorf("config lacks %q:\n%s", want, conf)
		}
	}
}

// TestInitAsksForTheKeyFile: with --client-auth private_key_jwt, init on a
// terminal asks for the key file instead of a secret, refusing one it
// cannot use, and the log-in it offers signs with that key.
func TestInitAsksForTheKeyFile(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	e := newDevEnvWith(t, devprovider.Options{AuthStyle: "private_key_jwt", ClientPublicKey: key.Public()})
	der, _ := x509.MarshalECPrivateKey(key)
	keyFile := filepath.Join(t.TempDir(), "key.pem")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	s := newScreen(t)
	redirect := freeRedirectURI(t)
	done := s.start(t, io.Discard, "--config", e.config, "init", "-e", "idp", "--provider", "freeagent", "--api-url", e.api, "--redirect-uri", redirect, "--client-auth", "private_key_jwt")

	s.answer(t, "OAuth identifier (client ID): ", "dev-client-id")
	s.answer(t, "Private key file (PEM; its public half is registered with the provider): ", keyFile)
	s.expect(t, "who could sign as your client; run `chmod 600 "+keyFile+"`")
	if err := os.Chmod(keyFile, 0o600); err != nil {
		t.Fatal(err)
	}
	s.answer(t, "Private key file (PEM; its public half is registered with the provider): ", keyFile)
	s.acceptLogin(t, "idp", done)
	if strings.Contains(s.String(), "client secret") {
		t.Errorf("init asked about a client secret:\n%s", s)
	}
	if st := e.provider.Stats(); st.Exchanges != 1 || st.ClientAssertions != 1 {
		t.Errorf("stats %+v; want one exchange, authenticated by one assertion", st)
	}
}

// TestInitInputEndedIsAUsageError: Ctrl-D at a question is no bug (exit
// 1) but a person who stopped answering: exit 2, saying how to go on, and
// the configuration is not written.
func TestInitInputEndedIsAUsageError(t *testing.T) {
	e := newDevEnv(t)
	s := newScreen(t)
	done := s.start(t, io.Discard, "--config", e.config, "init", "-e", "later", "--provider", "freeagent")
	s.expect(t, "OAuth identifier (client ID): ")
	s.initEnded(t, e, done, "run `freshtoken init` again")
}

// TestInitInputEndedAtTheSecret: Ctrl-D where init asks for the client
// secret (echo off) ends init as at every other question, exit 2, nothing
// written: the read without echo took the input's end for an empty read,
// again and again, and init hung there at full speed until killed.
func TestInitInputEndedAtTheSecret(t *testing.T) {
	e := newDevEnv(t)
	s := newScreen(t)
	done := s.atTheSecret(t, e)
	s.initEnded(t, e, done, "no answer (input ended)")
}

// TestInitSecretStaysHiddenAfterASuspend: Ctrl-Z at the client secret
// question, then fg, keeps what is typed off the screen and asks again. A
// shell puts its own settings back on the terminal while the job is
// stopped (bash: echo on), and freshtoken, continued, read the secret with
// echo on, showing it, under a question that had scrolled away.
func TestInitSecretStaysHiddenAfterASuspend(t *testing.T) {
	e := newDevEnv(t)
	s := newScreen(t)
	done := s.atTheSecret(t, e)
	shells, err := unix.IoctlGetTermios(int(s.tty.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	shells.Lflag |= unix.ECHO // the shell's own settings, while the job is stopped
	if err := unix.IoctlSetTermios(int(s.tty.Fd()), unix.TCSETS, shells); err != nil {
		t.Fatal(err)
	}
	if err := unix.Kill(os.Getpid(), unix.SIGCONT); err != nil { // fg
		t.Fatal(err)
	}
	s.typeSecret(t, "dev-client-secret")
	s.declineLogin(t, "later", done)
	s.leftClean(t, "dev-client-secret")
}

// TestInitSecretAskedOnceForAContinuationToldTwice: a continuation of init
// at the client secret question that leaves the terminal as freshtoken set
// it (echo off) asks nothing again: after Ctrl-Z, bg, fg, the
// continuations of bg and fg were both acted on in the foreground, and
// the question was printed twice in a row. One that finds the shell's
// settings back (echo on) asks again, as fg after a Ctrl-Z does.
func TestInitSecretAskedOnceForAContinuationToldTwice(t *testing.T) {
	e := newDevEnv(t)
	s := newScreen(t)
	done := s.atTheSecret(t, e)
	const question = "Client secret (typing is not shown): "
	continued := func(echoOn bool) {
		t.Helper()
		if echoOn {
			shells, err := unix.IoctlGetTermios(int(s.tty.Fd()), unix.TCGETS)
			if err != nil {
				t.Fatal(err)
			}
			shells.Lflag |= unix.ECHO
			if err := unix.IoctlSetTermios(int(s.tty.Fd()), unix.TCSETS, shells); err != nil {
				t.Fatal(err)
			}
		}
		if err := unix.Kill(os.Getpid(), unix.SIGCONT); err != nil {
			t.Fatal(err)
		}
	}
	const stops = 10 // a continuation told twice may reach freshtoken as one
	for range stops {
		continued(true)
		s.expect(t, question) // asked again, echo off again
		testenv.WaitFor(t, "echo to be off", s.echoOff)
		continued(false) // the same stop's continuation, told again
	}
	continued(true) // a last stop's, acted on after the one told twice
	s.typeSecret(t, "dev-client-secret")
	s.declineLogin(t, "later", done)
	if n := strings.Count(s.String(), question); n != stops+2 {
		t.Errorf("the question was asked %d times; want %d, once more for each stop:\n%s", n, stops+2, s)
	}
	s.leftClean(t, "dev-client-secret")
}

// TestInitAsksAgainForANameTakenByAnotherProvider: the name of an
// environment configured for another provider, typed at init's name
// question, is said to be taken and another asked for; init ended there
// (exit 2), and the person ran it again from the first question.
func TestInitAsksAgainForANameTakenByAnotherProvider(t *testing.T) {
	e := newDevEnv(t)
	e.configure(t) // dev, a FreeAgent environment
	before, _ := os.ReadFile(e.config)
	s := newScreen(t)
	done := s.start(t, io.Discard, "--config", e.config, "init")
	s.answer(t, "Choose 1-8 [1]: ", "xero")
	s.answer(t, "Name for this environment: ", "dev")
	s.expect(t, `environment "dev" is already configured for provider freeagent (client dev-client-id): give this one another name, or take that one out first with `+"`freshtoken --config ")
	s.answer(t, "Name for this environment: ", "books")
	s.expect(t, "OAuth identifier (client ID): ")
	if err := s.endInput(t, done); cli.ExitCode(err) != 2 {
		t.Errorf("init: %v; want exit 2, the input ended", err)
	}
	if after, _ := os.ReadFile(e.config); !bytes.Equal(after, before) {
		t.Errorf("the configuration changed:\n%s", after)
	}
}

// TestInitInputEndedAtTheOfferToLogIn: input ended (Ctrl-D) at the offer to
// log in, once the environment is written, is no answer to that offer alone:
// init says how to log in later and succeeds. It said that nothing was
// changed and to run init again, exit 2, over the environment it had written.
func TestInitInputEndedAtTheOfferToLogIn(t *testing.T) {
	e := newDevEnv(t)
	t.Setenv("FT_TEST_DEV_SECRET", "dev-client-secret")
	s := newScreen(t)
	done := s.start(t, io.Discard, "--config", e.config, "init", "-e", "later", "--provider", "freeagent", "--api-url", e.api,
		"--client-secret-env", "FT_TEST_DEV_SECRET", "--redirect-uri", freeRedirectURI(t))
	s.answer(t, "OAuth identifier (client ID): ", "dev-client-id")
	s.expect(t, "Log in to later now? [Y/n]: ")
	if err := s.endInput(t, done); err != nil {
		t.Fatalf("init: %v (exit %d); want success, the environment written\nscreen:\n%s", err, cli.ExitCode(err), s)
	}
	s.expect(t, "When you are ready, run: freshtoken")
	if conf, _ := os.ReadFile(e.config); !strings.Contains(string(conf), "[env.later]") {
		t.Errorf("the configuration was not written:\n%s", conf)
	}
}

// TestInitStoppedWhileItsLogInWaits: Ctrl-C while the log-in init offered
// waits for the browser ends it saying the environment stays configured and
// how to log in later: it said only "login cancelled; nothing was
// stored", as if init had written nothing. A browser that cannot open is
// said with the log-in to run for that, `freshtoken --config FILE login
// --manual -e later` (init lacks --manual).
func TestInitStoppedWhileItsLogInWaits(t *testing.T) {
	e := newDevEnv(t)
	t.Setenv("FT_TEST_DEV_SECRET", "dev-client-secret")
	s := newScreen(t)
	ctx, cancel := context.WithCancel(t.Context())
	root := cli.NewRootCmd(&cli.Factory{
		IO:          &cli.IOStreams{In: s.tty, Out: io.Discard, ErrOut: s.tty, InTTY: true, ErrTTY: true},
		OpenBrowser: func(string) error { cancel(); return errors.New("no browser here") }, // Ctrl-C as the browser fails
	})
	root.SetArgs([]string{"--config", e.config, "init", "-e", "later", "--provider", "freeagent", "--api-url", e.api,
		"--client-secret-env", "FT_TEST_DEV_SECRET", "--redirect-uri", freeRedirectURI(t)})
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()
	s.answer(t, "OAuth identifier (client ID): ", "dev-client-id")
	s.answer(t, "Log in to later now? [Y/n]: ", "")
	s.expect(t, " login --manual -e later`.") // not --manual alone, which init does not have
	err := finished(t, done)
	if want := "later stays configured: when you are ready, run: freshtoken --config "; err == nil || !strings.Contains(err.Error(), want) || !strings.HasSuffix(err.Error(), " login -e later") {
		t.Errorf("init: %v; want it to say %q and the log-in to run", err, want)
	}
	if conf, _ := os.ReadFile(e.config); !strings.Contains(string(conf), "[env.later]") {
		t.Errorf("the configuration was not written:\n%s", conf)
	}
}

// TestInitRefusesASecretAsAVariableName: the secret itself, typed where
// init asks for the name of the variable holding it, is asked for again,
// and is never written into the configuration as a name status prints; a
// name typed as the shell reads it ($NAME) is asked for without the $ (it
// was said to be no variable name, as if the name were wrong).
func TestInitRefusesASecretAsAVariableName(t *testing.T) {
	e := newDevEnv(t)
	s := newScreen(t)
	done := s.start(t, io.Discard, "--config", e.config, "init", "-e", "dev", "--provider", "freeagent", "--api-url", e.api, "--client-id", "dev-client-id", "--redirect-uri", freeRedirectURI(t))
	s.answer(t, "Choose 1-3 [1]: ", "1")
	s.answer(t, "Variable name [FREEAGENT_SECRET]: ", "Zx81hQ2mP0wLk7sT3vB9")
	s.expect(t, "that looks like the secret itself")
	s.answer(t, "Variable name [FREEAGENT_SECRET]: ", "$FT_TEST_SECRET")
	s.expect(t, "write the name without the $: FT_TEST_SECRET")
	s.answered(t, done, "Variable name [FREEAGENT_SECRET]: ", "")
	if conf, _ := os.ReadFile(e.config); strings.Contains(string(conf), "Zx81hQ2mP0wLk7sT3vB9") || !strings.Contains(string(conf), `client_secret_env = "FREEAGENT_SECRET"`) {
		t.Errorf("the configuration holds:\n%s", conf)
	}
}

// TestRemoveEndsAtCtrlCWhileAsking: Ctrl-C at remove's question (the first
// signal cancels the command's context) ends remove, removing nothing: the
// question went on waiting for a line, so Ctrl-C did nothing until Enter,
// or a second Ctrl-C.
func TestRemoveEndsAtCtrlCWhileAsking(t *testing.T) {
	e := newDevEnv(t)
	e.login(t)
	newScreen(t).interruptAt(t, "delete its stored tokens? [y/N] ", "--config", e.config, "remove", "-e", "dev")
	if e.record(t, "dev") == nil {
		t.Error("the tokens were deleted")
	}
	if conf, _ := os.ReadFile(e.config); !strings.Contains(string(conf), "[env.dev]") {
		t.Errorf("the environment was removed:\n%s", conf)
	}
}

// TestInitDefaultOfANewEnvironmentAsksForIt: `init -e NAME --default` on a
// terminal, NAME not configured, asks for what the environment needs, as
// init does, then writes it and makes it the default: it was refused,
// saying to give init its other flags, where init alone asks for them.
// `init --default` of a file with no environment does the same.
func TestInitDefaultOfANewEnvironmentAsksForIt(t *testing.T) {
	e := newDevEnv(t)
	// Without -e, of a file with no environment, likewise: it said to
	// name one with -e, then refused the one named as not configured.
	s := newScreen(t)
	done := s.start(t, io.Discard, "--config", e.config, "init", "--default")
	s.expect(t, "Which provider?")
	s.answer(t, "Choose 1-8 [1]: ", "1")
	s.answer(t, "Name for this environment [sandbox]: ", "dev")
	s.typeClient(t, "dev-client-id", "dev-client-secret")
	s.declineLogin(t, "dev", done)
	e.configureAs(t, "live", "dev-client-id", config.EnvSettings{ClientSecret: "s"})

	s = newScreen(t)
	done = s.start(t, io.Discard, "--config", e.config, "init", "-e", "staging", "--default")
	s.expect(t, "Which provider?")
	s.answer(t, "Choose 1-8 [1]: ", "1")
	s.typeClient(t, "dev-client-id", "dev-client-secret")
	s.expect(t, "staging is now the default environment")
	s.declineLogin(t, "staging", done)
	if conf, err := config.Load(e.config); err != nil || conf.DefaultEnv != "staging" || conf.Envs["staging"] == nil {
		t.Fatalf("after init -e staging --default on a terminal: %v, %+v", err, conf)
	}
}

// TestInitDefaultAsksWhichOnATerminal: `init --default` without -e, on a
// terminal, offers the configured environments (the default one marked,
// and chosen by an empty answer) and makes the one chosen the default: it
// stopped asking for -e NAME, as it must without a terminal. A number is
// the list's before a name: of environments named 2 and a, listed "1) 2"
// and "2) a", the answer 2 is a; it was the environment named 2, the one
// not chosen.
func TestInitDefaultAsksWhichOnATerminal(t *testing.T) {
	for _, tt := range []struct {
		name         string
		envs         []string // the first is the default
		list, answer string
		want         string
	}{
		{"by its name", []string{"dev", "live"}, "Which environment should commands without -e use?\r\n  1) dev  (the default now)\r\n  2) live \r\n", "live", "live"},
		{"a number before a name", []string{"2", "a"}, "  1) 2  (the default now)\r\n  2) a \r\n", "2", "a"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newDevEnv(t)
			for _, name := range tt.envs {
				e.configureAs(t, name, "dev-client-id", config.EnvSettings{ClientSecret: "s"})
			}
			s := newScreen(t)
			done := s.start(t, io.Discard, "--config", e.config, "init", "--default")
			s.expect(t, tt.list)
			s.answered(t, done, "Choose 1-2 [1]: ", tt.answer)
			s.expect(t, tt.want+" is now the default environment")
			if conf, err := config.Load(e.config); err != nil || conf.DefaultEnv != tt.want {
				t.Fatalf("after answering %s: %v, default_env %q\nscreen:\n%s", tt.answer, err, conf.DefaultEnv, s)
			}
		})
	}
	t.Run("Ctrl-C at the question", func(t *testing.T) {
		e := newDevEnv(t)
		for _, name := range []string{"dev", "live"} {
			e.configureAs(t, name, "dev-client-id", config.EnvSettings{ClientSecret: "s"})
		}
		keep := e.configKept(t)
		newScreen(t).interruptAt(t, "Choose 1-2 [1]: ", "--config", e.config, "init", "--default")
		keep("Ctrl-C at init --default's question")
	})
}

// TestInitCtrlCAtAQuestionSaysNothingChanged: Ctrl-C at any of init's
// questions before it writes (the provider, the name, the client ID, the
// client secret's source, the secret for the keychain) ends it saying
// nothing was changed, as input that ends (Ctrl-D) does, and writes
// nothing: it said only "interrupted", leaving the person to wonder whether
// half an environment was written.
func TestInitCtrlCAtAQuestionSaysNothingChanged(t *testing.T) {
	for _, tt := range []struct {
		question string
		answers  []string
		flags    []string
	}{
		{"Choose 1-8 [1]: ", nil, nil},
		{"Name for this environment [sandbox]: ", []string{"1"}, nil},
		{"OAuth identifier (client ID): ", []string{"1", ""}, nil},
		{"Choose 1-3 [1]: ", []string{"1", "", "my-client-id"}, nil},
		{"Client secret (kept in the system keychain)", []string{"1", "", "my-client-id"}, []string{"--client-secret-keyring"}},
	} {
		t.Run(tt.question, func(t *testing.T) {
			config := filepath.Join(t.TempDir(), "config.toml")
			s := newScreen(t)
			ctx, cancel := context.WithCancel(t.Context())
			done := s.startWithin(ctx, io.Discard, append([]string{"--config", config, "init"}, tt.flags...)...)
			for _, a := range tt.answers {
				s.expect(t, ": ")
				if _, err := s.ptmx.Write([]byte(a + "\n")); err != nil {
					t.Fatal(err)
				}
			}
			s.expect(t, tt.question)
			cancel()
			err := finished(t, done)
			if !errors.Is(err, context.Canceled) || !strings.HasSuffix(err.Error(), "; nothing was changed") {
				t.Fatalf("Ctrl-C at %q: %v; want it interrupted, saying nothing was changed\nscreen:\n%s", tt.question, err, s)
			}
			if _, err := os.Stat(config); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("Ctrl-C at %q: the configuration file was written (%v)", tt.question, err)
			}
		})
	}
}

// TestInitAsksAgainForAClientIDRefused: an environment whose client id
// the configuration refuses (the secret pasted in its place) is mended by
// init -e on a terminal, which says what was wrong without showing it
// and asks for the client id again. init refused the whole file, and the
// person had to edit it by hand. A client id missing is asked for as any
// missing setting is: it was said to be "refused: it missing".
func TestInitAsksAgainForAClientIDRefused(t *testing.T) {
	for _, tc := range []struct{ name, clientID, said string }{
		{"pasted secret", "client_id = \"OAuth secret: Zx81hQ2mP0wLk7sT3vB9\"\n", `The client id written for dev is refused: it is labelled "OAuth secret:": it holds the client secret (not shown)`},
		{"missing", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newDevEnv(t)
			broken := fmt.Sprintf("[env.dev]\nprovider = \"freeagent\"\napi_url = %q\n%sclient_secret_env = \"FT_TEST_UNSET_SECRET\"\n", e.api, tc.clientID)
			before, _ := os.ReadFile(e.config)
			if err := os.WriteFile(e.config, append(before, broken...), 0o600); err != nil {
				t.Fatal(err)
			}
			s := newScreen(t)
			done := s.start(t, io.Discard, "--config", e.config, "init", "-e", "dev", "--redirect-uri", freeRedirectURI(t))
			if tc.said != "" {
				s.expect(t, tc.said)
			}
			s.answered(t, done, "OAuth identifier (client ID): ", "dev-client-id")
			if strings.Contains(s.String(), "Zx81hQ2mP0wLk7sT3vB9") || tc.said == "" && strings.Contains(s.String(), "refused") {
				t.Errorf("the terminal showed the secret written as the client id, or called a missing one refused:\n%s", s)
			}
			conf, _ := os.ReadFile(e.config)
			if !strings.Contains(string(conf), "client_id = \"dev-client-id\"\n") || strings.Contains(string(conf), "Zx81hQ2mP0wLk7sT3vB9") {
				t.Errorf("the configuration holds:\n%s", conf)
			}
		})
	}
}
