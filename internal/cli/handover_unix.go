//go:build unix

package cli

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// restart runs the freshtoken at path in this process's place, with the
// same arguments and environment, handing it ln (the proxy's listening
// socket, kept open so that clients meanwhile wait in its backlog rather
// than being refused) when not nil; it returns only if that fails.
func restart(path string, ln *os.File) error {
	env := os.Environ()
	if ln != nil {
		// No program is started between the socket's ceasing to be
		// closed on exec and this process's exec, to inherit it.
		syscall.ForkLock.RLock()
		defer syscall.ForkLock.RUnlock()
		fd := ln.Fd()
		if _, err := unix.FcntlInt(fd, unix.F_SETFD, 0); err != nil {
			return fmt.Errorf("cannot hand the listening socket over: %w", err)
		}
		env = append(env, fmt.Sprintf("%s=%d:%d", handOverVar, os.Getpid(), fd))
	}
	err := syscall.Exec(path, os.Args, env)
	runtime.KeepAlive(ln) // its descriptor open until the exec
	return err
}

// handedListener is the listening socket that the proxy this process
// replaced handed over (see restart), when it listens on addr; nil for
// none, and the proxy listens afresh. The variable is taken out of the
// environment whatever it holds, so that no program started from here
// sees it, and a socket is taken only when it is plainly the one handed:
// named for this process, and a listening TCP socket on addr. Anything
// else (a variable left over, or made up) is left alone, as is whatever
// its descriptor is.
func handedListener(addr string, log *slog.Logger) net.Listener {
	v, ok := os.LookupEnv(handOverVar)
	if !ok {
		return nil
	}
	os.Unsetenv(handOverVar)
	ln, why := takeListener(v, addr)
	if ln == nil {
		log.Debug("listening afresh: the listening socket named as handed over is not this proxy's", "reason", why)
	}
	return ln
}

// takeListener is the listener on descriptor fd of v ("PID:FD"), or why
// it is not taken.
func takeListener(v, addr string) (net.Listener, string) {
	pidText, fdText, _ := strings.Cut(v, ":")
	pid, perr := strconv.Atoi(pidText)
	fd, ferr := strconv.Atoi(fdText)
	switch {
	case perr != nil || ferr != nil:
		return nil, "not PID:FD"
	case pid != os.Getpid():
		return nil, "named for another process"
	case fd <= 2:
		return nil, "a standard stream"
	}
	if n, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TYPE); err != nil || n != unix.SOCK_STREAM {
		return nil, "not a stream socket"
	}
	if n, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ACCEPTCONN); err != nil || n == 0 {
		return nil, "not listening"
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		return nil, "no address"
	}
	var at netip.AddrPort
	switch sa := sa.(type) {
	case *unix.SockaddrInet4:
		at = netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), uint16(sa.Port))
	case *unix.SockaddrInet6:
		at = netip.AddrPortFrom(netip.AddrFrom16(sa.Addr), uint16(sa.Port))
	default:
		return nil, "not a TCP socket"
	}
	if !listensOn(at, addr) {
		return nil, "listening on " + at.String()
	}
	file := os.NewFile(uintptr(fd), "listener")
	defer file.Close() // the listener holds a copy
	ln, err := net.FileListener(file)
	if err != nil {
		return nil, err.Error()
	}
	return ln, ""
}

// listensOn reports whether a socket bound to at is one that
// net.Listen("tcp", addr) would have made: on addr's port (any, for port
// 0) and on its address, or one its name stands for. Taking it for
// another, the proxy could not listen on addr, which it holds itself.
func listensOn(at netip.AddrPort, addr string) bool {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if p, err := net.LookupPort("tcp", port); err != nil || (p != 0 && p != int(at.Port())) {
		return false
	}
	ip := at.Addr().Unmap()
	want, err := netip.ParseAddr(host)
	if host == "" || err == nil && want.IsUnspecified() {
		// Every address: where the system has IPv6, net.Listen binds
		// 0.0.0.0, as "" and ::, to [::], one socket for both.
		return ip.IsUnspecified()
	}
	if err == nil {
		return want.WithZone("").Unmap() == ip // a socket's address names no zone
	}
	ips, err := net.DefaultResolver.LookupNetIP(context.Background(), "ip", host)
	return err == nil && slices.ContainsFunc(ips, func(a netip.Addr) bool { return a.Unmap() == ip })
}
