package testenv

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"expvar"
	"fmt"
	"log"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
)

// Printed is vs printed with each of fmt's verbs (%v %+v %#v %s %q %x
// %X), as a program may print what it holds.
func Printed(vs ...any) []string {
	var printed []string
	for _, v := range vs {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X"} {
			printed = append(printed, fmt.Sprintf(verb, v))
		}
	}
	return printed
}

// Logged is vs logged, each as an attribute, as a line by slog's text
// handler and one by its JSON handler.
func Logged(vs ...any) string {
	var logged bytes.Buffer
	var attrs []any
	for i, v := range vs {
		attrs = append(attrs, fmt.Sprint("v", i), v)
	}
	slog.New(slog.NewTextHandler(&logged, nil)).Info("logged", attrs...)
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("logged", attrs...)
	return logged.String()
}

// Encodings is v shown in every way a Go program shows what it holds, by
// the way: fmt's verbs (Printed) on v, on a struct, a map and a slice
// holding it, and on embedding, a struct of the program's own that embeds
// it (nil when there is none); slog's text and JSON handlers with each of
// those as an attribute, and v in a group; json.Marshal of each;
// an error that wraps v (with %w when it is an error) or names it, as
// Error and %+v show it; log.Printf; and expvar, which publishes a value
// as its JSON.
func Encodings(v, embedding any) map[string]string {
	type holding struct{ V any }
	shapes := map[string]any{"itself": v, "in a struct": holding{v}, "in a map": map[string]any{"v": v}, "in a slice": []any{v}}
	if embedding != nil {
		shapes["embedded"] = embedding
	}
	shown := map[string]string{}
	for shape, s := range shapes {
		for i, p := range Printed(s) {
			shown[fmt.Sprintf("fmt %d %s", i, shape)] = p
		}
		for name, h := range map[string]func(*bytes.Buffer) slog.Handler{
			"text": func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) },
			"JSON": func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) },
		} {
			var b bytes.Buffer
			slog.New(h(&b)).Info("logged", "v", s, slog.Group("g", "v", s))
			shown["slog "+name+" "+shape] = b.String()
		}
		b, err := json.Marshal(s)
		shown["json.Marshal "+shape] = fmt.Sprint(string(b), err)
		shown["expvar "+shape] = expvar.Func(func() any { return s }).String()
		var logged bytes.Buffer
		log.New(&logged, "", 0).Printf("%v %+v %s", s, s, s)
		shown["log.Printf "+shape] = logged.String()
	}
	errs := []error{fmt.Errorf("failed with %v", v), errors.Join(errors.New("failed"), fmt.Errorf("%+v", v))}
	if err, ok := v.(error); ok {
		errs = append(errs, fmt.Errorf("failed: %w", err), errors.Join(err))
	}
	for i, err := range errs {
		shown[fmt.Sprint("error ", i)] = err.Error() + "\n" + fmt.Sprintf("%+v", err)
	}
	return shown
}

// Marshalled reports whether how, a way of Encodings', shows the value as
// json.Marshal encodes it, its own methods for printing and logging not
// asked: json.Marshal and expvar of every shape, and slog's JSON handler
// of the value in a struct, a map or a slice (slog asks the value itself,
// and a struct embedding it, which has its methods, for its LogValue).
func Marshalled(how string) bool {
	return strings.HasPrefix(how, "json.Marshal ") || strings.HasPrefix(how, "expvar ") ||
		how == "slog JSON in a struct" || how == "slog JSON in a map" || how == "slog JSON in a slice"
}

// Leaked is the part of one of secrets that s shows, or "" if it shows
// none: a secret whole or either half of it, as it is or written as Go
// and JSON quote it, URL-escaped (in a query or a path), in base64 (as
// in a Basic header, standard or URL-safe, padded or not) or in
// hexadecimal (as %x and %X print a string).
func Leaked(s string, secrets ...string) string {
	for _, secret := range secrets {
		for _, part := range []string{secret, secret[:len(secret)/2], secret[len(secret)/2:]} {
			for _, leak := range encoded(part) {
				if strings.Contains(s, leak) {
					return leak
				}
			}
		}
	}
	return ""
}

// encoded is s in each of the forms Leaked looks for.
func encoded(s string) []string {
	goQuoted := strconv.Quote(s)
	jsonQuoted, _ := json.Marshal(s)
	forms := []string{s, goQuoted[1 : len(goQuoted)-1], string(jsonQuoted[1 : len(jsonQuoted)-1]),
		url.QueryEscape(s), url.PathEscape(s), fmt.Sprintf("%x", s), fmt.Sprintf("%X", s)}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		forms = append(forms, enc.EncodeToString([]byte(s)))
	}
	return forms
}
