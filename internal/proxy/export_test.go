package proxy

import "time"

// SetOwnUser makes p, before it serves, take uid for its own user: the
// one whose programs it serves.
func SetOwnUser(p *Proxy, uid int) { p.peers = newPeers(uid) }

// Holds reports whether p holds env's source, opened and not let go of.
func Holds(p *Proxy, env string) bool {
	_, ok := p.envs.Load(env)
	return ok
}

// LoggingIn reports whether a browser log-in started by p waits for its
// browser to come back.
func (p *Proxy) LoggingIn() bool {
	p.logins.mu.Lock()
	defer p.logins.mu.Unlock()
	return p.logins.waitingLocked(p.now())
}

// SetTimers makes p count how long its log-ins have waited on timers, such
// as a second fake clock that a clock set back leaves where it is, instead
// of on Options.Clock's own readings.
func SetTimers(p *Proxy, timers func() time.Time) { p.logins.timers = timers }
