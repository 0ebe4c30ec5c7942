package sockowner

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// errNoDiag is returned by diagPeer where the kernel's socket diagnostics
// (netlink's NETLINK_SOCK_DIAG) cannot be asked: a sandbox that allows no
// netlink sockets, a kernel without them.
var errNoDiag = errors.New("the kernel's socket diagnostics cannot be asked here")

// errNoSocket is returned by diagPeer where the kernel has no such socket,
// or no diagnostics for TCP sockets (a kernel without its tcp_diag
// module answers alike).
var errNoSocket = fmt.Errorf("%w: no such socket", ErrUnknown)

// asker is the netlink socket diagPeer asks on, opened once and kept, so
// that a lookup needs no file of its own: a process that has run out of
// them (and accepts a connection as a few are freed) can still tell whose
// the connection is. Its lookups take turns.
var asker struct {
	mu   sync.Mutex
	fd   int
	open bool
	seq  uint32
}

// Prepare opens, while files are to be had, the socket on which Peer asks
// the kernel, kept for the process's life; the first Peer opens it
// otherwise.
func Prepare() {
	asker.mu.Lock()
	defer asker.mu.Unlock()
	askerReady()
}

// askerReady opens the asker if it is not open; asker.mu is held.
func askerReady() error {
	if asker.open {
		return nil
	}
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, unix.NETLINK_SOCK_DIAG)
	if err != nil {
		return fmt.Errorf("%w: %w", errNoDiag, err)
	}
	// The kernel answers while the request is sent; the limit is for a
	// kernel that would not.
	limit := unix.NsecToTimeval(int64(5 * time.Second))
	unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &limit)
	asker.fd, asker.open = fd, true
	return nil
}

// askerBroken closes the asker after a failure, to be opened again by the
// next lookup; asker.mu is held.
func askerBroken() {
	unix.Close(asker.fd)
	asker.open = false
}

// diagPeer asks the kernel, by netlink's sock_diag as ss(8) does, for the
// one socket whose own end is own and whose other end is other: a lookup
// in the kernel's hash of connections, whose cost does not grow with the
// sockets this machine has (reading /proc/net/tcp does: another user
// holding 100,000 sockets made each connection's lookup take 0.1 s).
// A socket found only in the remains a closed socket leaves (no inode), or
// a listener that the kernel gives instead of a connection it lacks, is
// ErrUnknown.
func diagPeer(own, other netip.AddrPort) (uid int, err error) {
	asker.mu.Lock()
	defer asker.mu.Unlock()
	if err := askerReady(); err != nil {
		return 0, err
	}
	asker.seq++
	req := diagRequest(own, other, asker.seq)
	if err := unix.Sendto(asker.fd, req, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		askerBroken()
		return 0, fmt.Errorf("%w: %w", errNoDiag, err)
	}
	var m syscall.NetlinkMessage
	for m.Header.Seq != asker.seq || m.Data == nil { // an answer to an earlier request, given up on, is passed over
		if m, err = receive(); err != nil {
			return 0, err
		}
	}
	switch {
	case m.Header.Type == unix.NLMSG_ERROR && len(m.Data) >= 4:
		switch errno := syscall.Errno(-int32(binary.NativeEndian.Uint32(m.Data))); errno {
		case unix.ENOENT:
			return 0, errNoSocket
		case unix.EINVAL, unix.EOPNOTSUPP, unix.EPROTONOSUPPORT:
			return 0, fmt.Errorf("%w: %w", errNoDiag, errno)
		default:
			return 0, fmt.Errorf("%w: %w", ErrUnknown, errno)
		}
	case m.Header.Type != unix.SOCK_DIAG_BY_FAMILY || len(m.Data) < diagMsgLen:
		return 0, fmt.Errorf("%w: an answer of the kernel's socket diagnostics that cannot be read", ErrUnknown)
	}
	// inet_diag_msg: family, state, timer, retrans (1 byte each), the
	// socket's id as asked (48 bytes), expires, rqueue, wqueue, uid, inode.
	msg := m.Data
	family, state, id := msg[0], msg[1], msg[4:4+diagIDLen]
	uid32, inode := binary.NativeEndian.Uint32(msg[64:]), binary.NativeEndian.Uint32(msg[68:])
	gotOwn, gotOther := idEnds(family, id)
	if state == stateListenNum || gotOwn != unmap(own) || gotOther != unmap(other) || inode == 0 {
		return 0, ErrUnknown
	}
	return int(uid32), nil
}

// idEnds reads the ends of an inet_diag_sockid of a socket of family, as
// the kernel writes them: an IPv6 socket's addresses whole, v4-mapped for
// an IPv4 connection.
func idEnds(family byte, id []byte) (own, other netip.AddrPort) {
	addr := func(b []byte) netip.Addr {
		if family == unix.AF_INET {
			return netip.AddrFrom4([4]byte(b[:4]))
		}
		return netip.AddrFrom16([16]byte(b[:16])).Unmap()
	}
	return netip.AddrPortFrom(addr(id[4:20]), binary.BigEndian.Uint16(id[0:])),
		netip.AddrPortFrom(addr(id[20:36]), binary.BigEndian.Uint16(id[2:]))
}

// receive reads the asker's next answer; asker.mu is held.
func receive() (syscall.NetlinkMessage, error) {
	var buf [4096]byte
	n, _, err := unix.Recvfrom(asker.fd, buf[:], 0)
	if err != nil {
		askerBroken()
		return syscall.NetlinkMessage{}, fmt.Errorf("%w: %w", ErrUnknown, err)
	}
	msgs, err := syscall.ParseNetlinkMessage(buf[:n])
	if err != nil || len(msgs) == 0 {
		return syscall.NetlinkMessage{}, fmt.Errorf("%w: an answer of the kernel's socket diagnostics that cannot be read", ErrUnknown)
	}
	return msgs[0], nil
}

// The sizes of inet_diag_sockid and inet_diag_msg, and a listening
// socket's state (include/uapi/linux/inet_diag.h, net/tcp_states.h).
const (
	diagIDLen      = 48
	diagMsgLen     = 72
	stateListenNum = 10
)

// diagRequest is a netlink message, numbered seq, asking for the TCP socket
// whose own end is own and whose other end is other: an nlmsghdr and an
// inet_diag_req_v2 (family, protocol, extensions, padding, states, and the
// socket's id: its ports and addresses in network order, no interface, and
// no cookie to compare).
func diagRequest(own, other netip.AddrPort, seq uint32) []byte {
	own, other = unmap(own), unmap(other)
	family := byte(unix.AF_INET6)
	if own.Addr().Is4() && other.Addr().Is4() { // an IPv6 socket with v4-mapped ends is found too
		family = unix.AF_INET
	}
	const reqLen = 8 + diagIDLen
	b := make([]byte, unix.NLMSG_HDRLEN+reqLen)
	binary.NativeEndian.PutUint32(b[0:], uint32(len(b)))
	binary.NativeEndian.PutUint16(b[4:], unix.SOCK_DIAG_BY_FAMILY)
	binary.NativeEndian.PutUint16(b[6:], unix.NLM_F_REQUEST)
	binary.NativeEndian.PutUint32(b[8:], seq)
	r := b[unix.NLMSG_HDRLEN:]
	r[0], r[1] = family, unix.IPPROTO_TCP
	binary.NativeEndian.PutUint32(r[4:], ^uint32(0)) // every state
	id := r[8:]
	binary.BigEndian.PutUint16(id[0:], own.Port())
	binary.BigEndian.PutUint16(id[2:], other.Port())
	putAddr(id[4:20], own.Addr())
	putAddr(id[20:36], other.Addr())
	binary.NativeEndian.PutUint32(id[40:], ^uint32(0)) // INET_DIAG_NOCOOKIE
	binary.NativeEndian.PutUint32(id[44:], ^uint32(0))
	return b
}

// putAddr writes a in network order: an IPv4 address in the first four
// bytes, as inet_diag_sockid holds it.
func putAddr(dst []byte, a netip.Addr) {
	if a.Is4() {
		b := a.As4()
		copy(dst, b[:])
		return
	}
	b := a.As16()
	copy(dst, b[:])
}
