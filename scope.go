package freshtoken

import (
	"slices"
	"strings"

	"github.com/freshtoken/freshtoken/store"
	"golang.org/x/oauth2"
)

// grantedScope is the scope tok's answer names, its words separated by
// one space (see store.ScopeWords); "" when it names none, which means the
// scope asked for (at a log-in) or the one granted before (at a renewal).
func grantedScope(tok *oauth2.Token) string {
	s, _ := tok.Extra("scope").(string)
	return strings.Join(store.ScopeWords(s), " ")
}

// warnNarrowed warns, naming the scopes, when n, the record of a token
// answer just stored, holds fewer scopes than before: than the
// environment asks for after a log-in (before nil), than before's after a
// renewal (or than those asked for, when before's answer named none). The
// person's API calls that need them would otherwise fail with 403 and no
// clue. Told once: the next renewal compares with n. Under client
// credentials, each token is asked for the environment's scopes afresh:
// n is compared with them, and told of only for a scope before's lacked
// not (a scope taken out of the configuration is no narrowing).
func (s *Source) warnNarrowed(n, before *store.Record) {
	asked := s.set.Scopes
	if s.set.Grant == GrantClientCredentials {
		if before != nil {
			told := before.ScopesNotGranted(asked)
			asked = slices.DeleteFunc(slices.Clone(asked), func(a string) bool { return slices.Contains(told, a) })
		}
		before = nil
	} else if before != nil && before.Scope != "" {
		asked = store.ScopeWords(before.Scope)
	}
	missing := n.ScopesNotGranted(asked)
	if len(missing) == 0 {
		return
	}
	msg := "the provider granted fewer scopes than asked for; API calls that need the others will be refused (403): check the scopes the app may ask for at the provider, then log in again"
	if before != nil {
		msg = "a renewal was granted fewer scopes than the tokens before it; API calls that need the others will be refused (403): log in again to ask for them"
	}
	s.log.Warn(msg, "not_granted", strings.Join(missing, " "), "granted", n.Scope)
}
