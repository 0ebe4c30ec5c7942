package sockowner

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/freshtoken/freshtoken/internal/httpx"
)

// Known is true: Linux's tables name the owner of each socket.
const Known = true

// The kernel's TCP tables, IPv4 and IPv6, of this process's network
// namespace: the one its loopback connections are made in. /proc/net is a
// link to these, missing where /proc shows only the processes' folders
// (systemd's ProcSubset=pid).
const (
	table4 = "/proc/self/net/tcp"
	table6 = "/proc/self/net/tcp6"
)

// Listener returns the user id of a program listening for TCP connections
// at addr (host:port), preferring one of another user if several listen
// there; ok is false when none is found or the tables cannot be read.
func Listener(addr string) (uid int, ok bool) {
	host, portText, err := net.SplitHostPort(addr)
	if err != nil {
		return 0, false
	}
	ip, err := netip.ParseAddr(host)
	port, perr := strconv.ParseUint(portText, 10, 16)
	if err != nil || perr != nil {
		return 0, false
	}
	want := netip.AddrPortFrom(ip.Unmap(), uint16(port))
	for _, table := range []string{table4, table6} {
		scan(table, func(s socket) bool {
			if !bytes.Equal(s.state, stateListen) {
				return false
			}
			local, good := parseAddr(s.local)
			if !good || local.Port() != want.Port() || !(local.Addr().IsUnspecified() || local.Addr() == want.Addr()) {
				return false
			}
			uid, ok = s.owner()
			return ok && uid != os.Getuid()
		})
		if ok && uid != os.Getuid() {
			return uid, true
		}
	}
	return uid, ok
}

// Peer returns the user id of the program holding the other end of c, a
// TCP connection this machine accepted from a program of its own. It asks
// the kernel for that one socket (see diagPeer), or, where it cannot,
// reads the tables once and stops at the match. A socket no program holds
// any more (closed, waiting out its last packets) has no owner: that is
// ErrUnknown, as is a table that cannot be read (wrapping its error). So
// is a connection that has ended by the time it is looked up (its client
// reset it right after sending): its client's address may be another
// program's by then, found in its place.
func Peer(c net.Conn) (uid int, err error) {
	local, lok := c.LocalAddr().(*net.TCPAddr)
	remote, rok := c.RemoteAddr().(*net.TCPAddr)
	if !lok || !rok {
		return 0, ErrUnknown
	}
	if !connected(c) { // ended already: not worth a lookup
		return 0, ErrUnknown
	}
	uid, err = lookup(local.AddrPort(), remote.AddrPort())
	if err == nil && !connected(c) {
		return 0, ErrUnknown
	}
	return uid, err
}

// lookup finds the owner of the socket whose own end is remote and whose
// other end is local: asked of the kernel, or read from the tables where
// the kernel cannot be asked. The kernel saying it has no such socket is
// believed if it finds the other (local's own): otherwise it has no
// diagnostics for TCP.
func lookup(local, remote netip.AddrPort) (uid int, err error) {
	uid, err = diagPeer(remote, local)
	if errors.Is(err, errNoSocket) {
		if _, ownErr := diagPeer(local, remote); !errors.Is(ownErr, errNoSocket) {
			return 0, err
		}
		err = errNoDiag
	}
	if errors.Is(err, errNoDiag) {
		return scanPeer(local, remote)
	}
	return uid, err
}

// scanPeer finds in the tables the owner of the socket whose own end is
// remote and whose other end is local.
func scanPeer(local, remote netip.AddrPort) (uid int, err error) {
	local, remote = unmap(local), unmap(remote)
	tables := []string{table6} // an IPv6 socket's, v4-mapped or not
	if remote.Addr().Is4() {
		tables = []string{table4, table6}
	}
	for _, table := range tables {
		six := table == table6
		wantLocal, wantRemote := format(remote, six), format(local, six)
		found, closed := false, false
		err := scan(table, func(s socket) bool {
			if !bytes.Equal(s.local, wantLocal) || !bytes.Equal(s.remote, wantRemote) {
				return false
			}
			uid, found = s.owner()
			closed = bytes.Equal(s.inode, []byte("0"))
			return true
		})
		switch {
		case err != nil:
			return 0, fmt.Errorf("%w: %w", ErrUnknown, err)
		case found && !closed:
			return uid, nil
		case found: // a closed socket's remains, shown as root's
			return 0, ErrUnknown
		}
	}
	return 0, ErrUnknown
}

// connected is whether c's socket still has its peer: while it does, no
// other socket can hold the peer's address and port towards it. Its
// client may have closed its side (CLOSE_WAIT), not reset it.
func connected(c net.Conn) bool {
	var state uint8
	if !httpx.Control(c, func(fd uintptr) {
		if info, err := unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO); err == nil {
			state = info.State
		}
	}) {
		return false
	}
	return state == tcpEstablished || state == tcpCloseWait
}

// A socket's states, as TCP_INFO gives them (include/net/tcp_states.h).
const (
	tcpEstablished = 1
	tcpCloseWait   = 8
)

// stateListen is a listening socket's state in the tables.
var stateListen = []byte("0A")

// socket is a line of a table: "sl local_address rem_address st tx:rx tr
// retrnsmt uid timeout inode …", its addresses as the kernel writes them
// (see format).
type socket struct {
	local, remote, state, uid, inode []byte
}

// owner is the user id of the socket's owner.
func (s socket) owner() (uid int, ok bool) {
	uid, err := strconv.Atoi(string(s.uid))
	return uid, err == nil
}

// scan reads table line by line, calling match for each socket until it
// returns true. The fields are valid only during the call.
func scan(table string, match func(socket) bool) error {
	f, err := os.Open(table)
	if err != nil {
		return err
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 64<<10)
	if _, err := r.ReadSlice('\n'); err != nil { // the heading
		return eofIsEnd(err)
	}
	var fields [10][]byte
	for {
		line, err := r.ReadSlice('\n')
		if err != nil && err != io.EOF || len(line) == 0 {
			return eofIsEnd(err)
		}
		if split(line, fields[:]) == len(fields) && match(socket{local: fields[1], remote: fields[2], state: fields[3], uid: fields[7], inode: fields[9]}) {
			return nil
		}
		if err == io.EOF {
			return nil
		}
	}
}

func eofIsEnd(err error) error {
	if err == io.EOF {
		return nil
	}
	return err
}

// split puts the first len(fields) fields of line, separated by spaces, in
// fields, without allocating, and returns how many there were.
func split(line []byte, fields [][]byte) int {
	n, start := 0, -1
	for i, c := range line {
		switch {
		case c != ' ' && c != '\n':
			if start < 0 {
				start = i
			}
		case start >= 0:
			fields[n], start = line[start:i], -1
			if n++; n == len(fields) {
				return n
			}
		}
	}
	if start >= 0 {
		fields[n] = line[start:]
		n++
	}
	return n
}

// format writes a as the kernel's tables do: the address in hexadecimal
// 32-bit words of the machine's byte order (an IPv4 address in the IPv6
// table v4-mapped), a colon, and the port in hexadecimal, in capitals.
func format(a netip.AddrPort, six bool) []byte {
	var raw []byte
	if six {
		b := a.Addr().As16()
		raw = b[:]
	} else {
		b := a.Addr().As4()
		raw = b[:]
	}
	for i := 0; i < len(raw); i += 4 {
		binary.NativeEndian.PutUint32(raw[i:], binary.BigEndian.Uint32(raw[i:]))
	}
	return fmt.Appendf(nil, "%X:%04X", raw, a.Port())
}

// parseAddr reads an address that format writes.
func parseAddr(field []byte) (netip.AddrPort, bool) {
	hexIP, hexPort, _ := bytes.Cut(field, []byte(":"))
	raw := make([]byte, hex.DecodedLen(len(hexIP)))
	_, err := hex.Decode(raw, hexIP)
	port, perr := strconv.ParseUint(string(hexPort), 16, 16)
	if err != nil || perr != nil || len(raw)%4 != 0 {
		return netip.AddrPort{}, false
	}
	for i := 0; i < len(raw); i += 4 {
		binary.BigEndian.PutUint32(raw[i:], binary.NativeEndian.Uint32(raw[i:]))
	}
	ip, ok := netip.AddrFromSlice(raw)
	if !ok {
		return netip.AddrPort{}, false
	}
	return netip.AddrPortFrom(ip.Unmap(), uint16(port)), true
}

func unmap(a netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(a.Addr().Unmap(), a.Port())
}
