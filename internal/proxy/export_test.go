package proxy

// SetOwnUser makes p, before it serves, take uid for its own user: the
// one whose programs it serves.
func SetOwnUser(p *Proxy, uid int) { p.peers = newPeers(uid) }
