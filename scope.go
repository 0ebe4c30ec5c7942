package freshtoken

import (
	"slices"
	"strings"
	"sync"

	"github.com/freshtoken/freshtoken/internal/redact"
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
//
// A renewal granted as much as before may still lack scopes the
// environment asks for (added to the configuration since the log-in, or
// refused then), which no renewal can bring (RFC 6749 §6): that is
// warned of once by each process, whichever of its Sources renews, and
// again only for a scope it has not told of.
func (s *Source) warnNarrowed(n, before *store.Record) {
	asked := s.set.Scopes
	cc := s.set.Grant == GrantClientCredentials
	if cc {
		if before != nil {
			told := before.ScopesNotGranted(asked)
			asked = slices.DeleteFunc(slices.Clone(asked), func(a string) bool { return slices.Contains(told, a) })
		}
		before = nil
	} else if before != nil && before.Scope != "" {
		asked = store.ScopeWords(before.Scope)
	}
	missing := n.ScopesNotGranted(asked)
	lacking := !cc && s.lackingNewly(n)
	// The provider's words, which may run to a megabyte, as status shows
	// them: on one line, and bounded.
	granted := redact.OneLine(n.Scope, 1000)
	switch {
	case len(missing) > 0 && before != nil:
		s.log.Warn("a renewal was granted fewer scopes than the tokens before it; API calls that need the others will be refused (403): log in again to ask for them",
			"not_granted", strings.Join(missing, " "), "granted", granted)
	case len(missing) > 0:
		s.log.Warn("the provider granted fewer scopes than asked for; API calls that need the others will be refused (403): check the scopes the app may ask for at the provider, then log in again",
			"not_granted", strings.Join(missing, " "), "granted", granted)
	case lacking && before != nil:
		s.log.Warn("the tokens lack scopes the environment asks for, which no renewal can add (added to its scopes since the log-in, or refused at it); API calls that need them will be refused (403): log in again to ask for them, or take those the provider refuses out of the environment's scopes",
			"not_granted", strings.Join(n.ScopesNotGranted(s.set.Scopes), " "), "granted", granted)
	}
}

// scopesTold holds, for each environment's tokens where they are stored,
// the scopes the environment asks for that they lack and a warning has
// named in this process. Told by each Source, they were told again at
// every renewal of a proxy's keeper, which opens a Source anew for each
// (to fetch the client secret afresh), and once more by the proxy's own.
var scopesTold struct {
	sync.Mutex
	m map[string][]string
}

// lackingNewly reports whether n lacks a scope the environment asks for
// that this process has not told of since its tokens' scopes were last
// compared, and takes those n lacks as told: each warning above names
// them, or the scopes narrowed, and says to log in again.
func (s *Source) lackingNewly(n *store.Record) bool {
	lacking := n.ScopesNotGranted(s.set.Scopes)
	key := s.set.Env + "\x00" + s.Location()
	scopesTold.Lock()
	defer scopesTold.Unlock()
	told := scopesTold.m[key]
	newly := slices.ContainsFunc(lacking, func(sc string) bool { return !slices.Contains(told, sc) })
	if len(lacking) == 0 {
		delete(scopesTold.m, key)
	} else {
		if scopesTold.m == nil {
			scopesTold.m = map[string][]string{}
		}
		scopesTold.m[key] = lacking
	}
	return newly
}
