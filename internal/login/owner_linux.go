package login

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
)

// ListenerUID returns the user id of a program listening for TCP
// connections at addr (host:port), read from the kernel's socket tables
// (/proc/net/tcp and tcp6), preferring one of another user if several
// listen there; ok is false when none is found or the tables cannot be read.
func ListenerUID(addr string) (uid int, ok bool) {
	host, portText, err := net.SplitHostPort(addr)
	if err != nil {
		return 0, false
	}
	ip, err := netip.ParseAddr(host)
	port, perr := strconv.ParseUint(portText, 10, 16)
	if err != nil || perr != nil {
		return 0, false
	}
	for _, table := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		for _, s := range listeners(table) {
			if s.port != uint16(port) || !(s.ip.IsUnspecified() || s.ip == ip.Unmap()) {
				continue
			}
			uid, ok = s.uid, true
			if uid != os.Getuid() {
				return uid, true
			}
		}
	}
	return uid, ok
}

// listener is a listening socket of the kernel's table.
type listener struct {
	ip   netip.Addr
	port uint16
	uid  int
}

// listeners reads the listening sockets of one of the kernel's TCP tables,
// whose lines read "sl local_address rem_address st … uid …", with the
// address in hexadecimal 32-bit words of the machine's byte order.
func listeners(table string) []listener {
	f, err := os.Open(table)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []listener
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 8 || fields[3] != "0A" { // 0A: LISTEN
			continue
		}
		hexIP, hexPort, _ := strings.Cut(fields[1], ":")
		raw, err := hex.DecodeString(hexIP)
		port, perr := strconv.ParseUint(hexPort, 16, 16)
		uid, uerr := strconv.Atoi(fields[7])
		if err != nil || perr != nil || uerr != nil || len(raw)%4 != 0 {
			continue
		}
		for i := 0; i < len(raw); i += 4 {
			binary.BigEndian.PutUint32(raw[i:], binary.NativeEndian.Uint32(raw[i:]))
		}
		ip, ok := netip.AddrFromSlice(raw)
		if !ok {
			continue
		}
		out = append(out, listener{ip: ip.Unmap(), port: uint16(port), uid: uid})
	}
	return out
}
