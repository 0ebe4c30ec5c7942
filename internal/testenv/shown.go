package testenv

import (
	"bytes"
	"fmt"
	"log/slog"
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

// Leaked is the part of one of secrets that s shows, or "" if it shows
// none: a secret whole, either half of it, or either in hexadecimal (as
// %x and %X print a string).
func Leaked(s string, secrets ...string) string {
	for _, secret := range secrets {
		for _, part := range []string{secret, secret[:len(secret)/2], secret[len(secret)/2:]} {
			for _, leak := range []string{part, fmt.Sprintf("%x", part), fmt.Sprintf("%X", part)} {
				if strings.Contains(s, leak) {
					return leak
				}
			}
		}
	}
	return ""
}
