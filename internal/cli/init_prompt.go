package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"golang.org/x/term"

	"github.com/freshtoken/freshtoken/internal/httpx"
	"github.com/freshtoken/freshtoken/internal/paste"
)

// prompter asks a person at a terminal for what a command is missing. It
// writes its questions to stderr, so stdout keeps only the result, and reads
// secrets with echo off. Every question gives up when ctx ends (Ctrl-C),
// leaving the terminal as it found it.
type prompter struct {
	in    *bufio.Reader
	out   io.Writer
	fd    int  // stdin's descriptor when it is a terminal, for secrets
	isTTY bool // whether fd is usable
	asked bool // whether anything was asked
}

// errNoAnswer is what a prompt returns when input ends (Ctrl-D): a person
// who stopped answering, a usage error rather than a bug.
var errNoAnswer error = &usageError{msg: "no answer (input ended), so nothing was changed; run `freshtoken init` again and answer each question, or give the answers as flags (see `freshtoken init --help`)"}

func newPrompter(ios *IOStreams) *prompter {
	p := &prompter{in: bufio.NewReader(ios.In), out: ios.ErrOut}
	if f, ok := ios.In.(interface{ Fd() uintptr }); ok && term.IsTerminal(int(f.Fd())) {
		p.fd, p.isTTY = int(f.Fd()), true
	}
	return p
}

// readLine reads one line, without its end, or gives up when ctx ends.
func (p *prompter) readLine(ctx context.Context) (string, error) {
	type result struct {
		line string
		err  error
	}
	ch := make(chan result, 1)
	go func() {
		line, err := p.in.ReadString('\n')
		ch <- result{line, err}
	}()
	select {
	case r := <-ch:
		switch {
		case r.err == nil, errors.Is(r.err, io.EOF) && r.line != "":
			return paste.Trim(r.line), nil
		case errors.Is(r.err, io.EOF):
			fmt.Fprintln(p.out)
			return "", errNoAnswer
		}
		fmt.Fprintln(p.out) // the last word, why, goes on a line of its own
		return "", r.err
	case <-ctx.Done():
		fmt.Fprintln(p.out)
		return "", ctx.Err()
	}
}

// ask asks a question, offering def (if any) for an empty answer, until
// check accepts the answer. check may be nil.
func (p *prompter) ask(ctx context.Context, question, def string, check func(string) error) (string, error) {
	p.asked = true
	for {
		if def != "" {
			fmt.Fprintf(p.out, "%s [%s]: ", question, def)
		} else {
			fmt.Fprintf(p.out, "%s: ", question)
		}
		answer, err := p.readLine(ctx)
		if err != nil {
			return "", err
		}
		if answer == "" {
			answer = def
		}
		if answer == "" {
			fmt.Fprintln(p.out, "  An answer is needed.")
			continue
		}
		if check != nil {
			if err := check(answer); err != nil {
				fmt.Fprintf(p.out, "  %v\n", err)
				continue
			}
		}
		return answer, nil
	}
}

// choice is one answer to choose: value, shown as label.
type choice struct{ value, label string }

// choose offers numbered choices and returns the value chosen; def is the
// number (from 1) an empty answer picks.
func (p *prompter) choose(ctx context.Context, question string, choices []choice, def int) (string, error) {
	fmt.Fprintln(p.out, question)
	for i, c := range choices {
		fmt.Fprintf(p.out, "  %d) %s\n", i+1, c.label)
	}
	// A list that shows each choice's name (the providers') takes the name
	// typed as well as its number: a person copies what the list shows.
	named := func(a string) (string, bool) {
		for _, c := range choices {
			if strings.HasPrefix(c.label, c.value+" ") && strings.EqualFold(a, c.value) {
				return c.value, true
			}
		}
		return "", false
	}
	hint := fmt.Sprintf("type a number from 1 to %d", len(choices))
	if len(choices) > 0 && strings.HasPrefix(choices[0].label, choices[0].value+" ") {
		hint += ", or a name from the list"
	}
	answer, err := p.ask(ctx, fmt.Sprintf("Choose 1-%d", len(choices)), strconv.Itoa(def), func(a string) error {
		if _, ok := named(a); ok {
			return nil
		}
		if n, err := strconv.Atoi(a); err != nil || n < 1 || n > len(choices) {
			return errors.New(hint)
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	// A number is the list's, before a name: of environments named 2 and
	// a, listed 1) 2 and 2) a, the answer 2 is a.
	if n, err := strconv.Atoi(answer); err == nil && n >= 1 && n <= len(choices) {
		return choices[n-1].value, nil
	}
	v, _ := named(answer)
	return v, nil
}

// confirm asks a yes-or-no question until it gets y, yes, n or no; an
// empty answer is def.
func (p *prompter) confirm(ctx context.Context, question string, def bool) (bool, error) {
	p.asked = true
	hint := "y/N"
	if def {
		hint = "Y/n"
	}
	for {
		fmt.Fprintf(p.out, "%s [%s]: ", question, hint)
		answer, err := p.readLine(ctx)
		if err != nil {
			return false, err
		}
		switch strings.ToLower(answer) {
		case "":
			return def, nil
		case "y", "yes":
			return true, nil
		case "n", "no":
			return false, nil
		}
		fmt.Fprintln(p.out, "  Answer y or n.")
	}
}

// secret asks for a client secret without showing what is typed, until
// it gets one that could be one; why another is refused never shows it.
// A secret in a pair of quotes or angle brackets (a JSON file's value, its
// comma after it too) is refused, as a client ID is: the provider would
// take the marks as part of it. A mark at one end alone may be the
// secret's own, and is kept.
func (p *prompter) secret(ctx context.Context, question string) (string, error) {
	p.asked = true
	for {
		ask := func() { fmt.Fprintf(p.out, "%s (typing is not shown): ", question) }
		ask()
		answer, err := p.readSecret(ctx, ask)
		if err != nil {
			return "", err
		}
		switch label, _ := paste.Labelled(answer); {
		case answer == "":
			fmt.Fprintln(p.out, "  An answer is needed.")
		case label != "" && strings.Contains(strings.ToLower(label), "secret"):
			fmt.Fprintf(p.out, "  That begins with the label %q; paste the secret alone, without it.\n", label)
		case paste.Unwrapped(strings.TrimSuffix(answer, ",")) != strings.TrimSuffix(answer, ","):
			fmt.Fprintln(p.out, "  The quote marks or brackets around that are not part of the secret; paste the secret alone, without them.")
		case !httpx.PrintableASCII(answer):
			fmt.Fprintln(p.out, "  That holds a character no client secret has (printable ASCII only); copy the secret again from the provider.")
		default:
			return answer, nil
		}
	}
}

// clientIDCheck refuses, at the question, what was pasted where the
// client ID of provider goes but is not one: the line the provider's page
// shows with its label, an address (the redirect URI, the app's page) where
// the provider's client IDs are none (a generic provider's may be a URL, as
// OAuth client ID metadata documents make them), a character no client ID
// has. A label is told by its words (Client ID, client_id, OAuth
// identifier), not by letters within them: a generic provider's
// did:web:… or android:… is its own. The secret so labelled, or shaped as
// the provider's secrets are (paste.SecretForAnID), is refused without
// repeating it, and so is a line holding more than the client ID, which
// may be the secret (paste.Alone). Refused only once every question was answered, it lost every answer.
func clientIDCheck(provider string) func(string) error {
	return func(a string) error {
		label, value := paste.Labelled(a)
		switch {
		case paste.SecretLabel(label): // what follows is never repeated
			return errors.New("that is labelled as the client secret, not the client ID: give the app's OAuth identifier (client ID) instead")
		case paste.SecretForAnID(provider, a):
			return errors.New("that is shaped as the client secret (not shown), not the client ID: give the app's OAuth identifier (client ID) instead")
		case strings.Contains(a, "://") && provider != "" && provider != "generic":
			return errors.New("that is a web address, not the client ID, which the app's page at the provider shows as its OAuth identifier (client ID)")
		case paste.IDLabel(label) && !paste.Alone(value):
			return fmt.Errorf("that begins with the label %q, and holds more after the client ID (not shown, as it may be the secret): give the client ID alone", label)
		case paste.IDLabel(label):
			return fmt.Errorf("that begins with the label %q; the client ID is what follows it: %s", label, paste.Unmarked(value))
		case paste.Unmarked(a) != a && !paste.Alone(a):
			return errors.New("that holds quote marks or brackets, and more than the client ID (not shown, as it may be the secret): give the client ID alone")
		case paste.Unmarked(a) != a:
			return fmt.Errorf("the quote marks or brackets at the ends of %s are not part of the client ID; give it without them: %s", a, paste.Unmarked(a))
		case !httpx.PrintableASCII(a):
			return fmt.Errorf("that holds %q, which no client ID has (printable ASCII only); copy the identifier again from the provider", []rune(a[strings.IndexFunc(a, httpx.NotPrintableASCII):])[0])
		}
		return nil
	}
}

// readSecret reads a secret with echo off, calling ask again when the
// process, stopped (Ctrl-Z), is continued.
func (p *prompter) readSecret(ctx context.Context, ask func()) (string, error) {
	if !p.isTTY {
		return p.readLine(ctx)
	}
	restore, err := hush(p.fd, ask)
	if err != nil {
		return "", terminalReadErr(p.fd, err) // the terminal closed since the question, or is another job's
	}
	defer restore()
	type result struct {
		secret []byte
		err    error
	}
	ch := make(chan result, 1)
	go func() {
		b, err := readHushed(p.fd)
		ch <- result{b, err}
	}()
	select {
	case r := <-ch:
		fmt.Fprintln(p.out)
		if errors.Is(r.err, io.EOF) {
			return "", errNoAnswer
		}
		if r.err != nil {
			return "", terminalReadErr(p.fd, r.err)
		}
		return paste.Trim(string(r.secret)), nil
	case <-ctx.Done():
		fmt.Fprintln(p.out)
		return "", ctx.Err()
	}
}
