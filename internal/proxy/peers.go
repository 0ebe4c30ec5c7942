package proxy

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os/user"
	"strconv"
	"sync"

	"github.com/freshtoken/freshtoken/internal/httpx"
	"github.com/freshtoken/freshtoken/internal/sockowner"
)

// peers decides whose programs on this machine the proxy serves: on a
// shared machine, every user may connect to 127.0.0.1, and the proxy
// would act with this user's tokens for any of them. Where the kernel
// names the owner of a loopback connection's other end (Linux), only
// programs of the proxy's own user and of root (who may read the token
// store anyway) are served; each connection is looked up once, at its
// first request. Connections from other machines (--allow-remote) have
// no owner to look up and are served as before.
type peers struct {
	uid  int    // the proxy's own user
	name string // how the refusal names that user
	// known is whether the kernel's tables name owners here: read as
	// Serve starts, by finding the proxy's own listener in them.
	known bool

	mu     sync.Mutex
	logged map[int]string // users whose programs were refused, by name
}

func newPeers(uid int) *peers {
	return &peers{uid: uid, name: userName(uid), logged: map[int]string{}}
}

// userName names uid as a person knows it: "alice (uid 1000)".
func userName(uid int) string {
	if u, err := user.LookupId(strconv.Itoa(uid)); err == nil && u.Username != "" {
		return fmt.Sprintf("%s (uid %d)", u.Username, uid)
	}
	return fmt.Sprintf("uid %d", uid)
}

// watchPeers finds ln in the kernel's tables: where it is not found, the
// owners of connections cannot be known, and the proxy serves every
// program of this machine, as outside Linux, saying so once in its log.
// A proxy cannot be made to miss itself there by another user (the
// tables are its network namespace's, hidepid hides processes, not
// sockets), so a table that cannot be read at all is the machine's
// make-up (no /proc, or one that leaves the tables empty), and refusing
// every request there would leave the proxy no use.
func (p *Proxy) watchPeers(ln net.Listener) {
	if !sockowner.Known {
		return
	}
	if _, ok := sockowner.Listener(ln.Addr().String()); ok {
		p.peers.known = true
		sockowner.Prepare() // a lookup then needs no file of its own
		return
	}
	p.log.Warn("the kernel's socket tables (/proc/net/tcp) cannot be read here, so the proxy cannot tell which user's program sends a request: any user of this computer can use it", "listen", ln.Addr().String())
}

// ofThisMachine is whether a connection from ip was made on this machine,
// by a program the kernel's tables name: from a loopback address, or from
// one of its network addresses (a proxy listening on every address, with
// --allow-remote, is reached at those too). Where its addresses cannot be
// read, it is taken to be, and refused unless the tables name it.
func ofThisMachine(ip netip.Addr) bool {
	if ip.IsLoopback() {
		return true
	}
	ips, err := httpx.MachineAddrs()
	return err != nil || ips[ip.WithZone("")]
}

// connPeer is the verdict on one connection's program, reached at its
// first request.
type connPeer struct {
	once sync.Once
	conn net.Conn
	why  string // why its requests are refused, or ""
}

type connPeerKey struct{}

// withConnPeer is Serve's ConnContext: it notes the connection, looked up
// at its first request, not in the loop accepting connections; the
// connection as accepted, whose socket the lookup asks about.
func withConnPeer(ctx context.Context, c net.Conn) context.Context {
	if s, ok := c.(*sendLimitedConn); ok {
		c = s.Conn
	}
	return context.WithValue(ctx, connPeerKey{}, &connPeer{conn: c})
}

// peerRefusal says why r's connection is not served, or returns "".
func (p *Proxy) peerRefusal(r *http.Request) string {
	cp, ok := r.Context().Value(connPeerKey{}).(*connPeer)
	if !ok || !p.peers.known {
		return ""
	}
	cp.once.Do(func() { cp.why = p.judgePeer(cp.conn) })
	return cp.why
}

// judgePeer looks up the owner of c's other end, when it is on this
// machine. One the kernel does not name (its program closed it already,
// the connection ended before the lookup, or the table failed to read) is
// refused: what it sent may not be sent on for it.
func (p *Proxy) judgePeer(c net.Conn) string {
	remote, ok := c.RemoteAddr().(*net.TCPAddr)
	if !ok || !ofThisMachine(remote.AddrPort().Addr().Unmap()) {
		return ""
	}
	uid, err := sockowner.Peer(c)
	pp := p.peers
	switch {
	case err == nil && (uid == pp.uid || uid == 0):
		return ""
	case err != nil:
		why := fmt.Sprintf("freshtoken could not tell which user's program sent this request, and serves only programs of user %s: send it again", pp.name)
		p.warnOutsider("request refused", "remote", remote.String(), "reason", why+" ("+err.Error()+")")
		return why
	}
	pp.mu.Lock()
	name, logged := pp.logged[uid]
	if !logged {
		name = userName(uid)
		pp.logged[uid] = name
	}
	pp.mu.Unlock()
	why := fmt.Sprintf("this freshtoken proxy serves only programs of user %s, and this request came from a program of user %s: run a freshtoken proxy of your own, on another port (freshtoken proxy --listen 127.0.0.1:PORT)", pp.name, name)
	if !logged {
		p.log.Warn("requests from another user's programs refused", "user", name, "reason", why)
	}
	return why
}
