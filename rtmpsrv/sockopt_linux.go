package rtmpsrv

import (
	"errors"
	"net"
	"time"

	"golang.org/x/sys/unix"
)

// setUnsentBytes sets TCP_NOTSENT_LOWAT on a TCP connection: writes block (and the writer
// sees the link's pace) once n bytes wait unsent in the kernel.
func setUnsentBytes(nc net.Conn, n int) error {
	tc, ok := nc.(*net.TCPConn)
	if !ok {
		return errors.New("not a TCP connection")
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_NOTSENT_LOWAT, n)
	}); err != nil {
		return err
	}
	return serr
}

// tcpInfoOf returns a reader of the connection's TCP_INFO figures: the smoothed and the
// minimum round-trip time and the kernel's delivery rate (bits/s); nil for other
// connections.
func tcpInfoOf(nc net.Conn) func() (rtt, minRTT time.Duration, deliveryBps int, ok bool) {
	tc, ok := nc.(*net.TCPConn)
	if !ok {
		return nil
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return nil
	}
	return func() (time.Duration, time.Duration, int, bool) {
		var info *unix.TCPInfo
		var ierr error
		if err := rc.Control(func(fd uintptr) { info, ierr = unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO) }); err != nil || ierr != nil {
			return 0, 0, 0, false
		}
		return time.Duration(info.Rtt) * time.Microsecond, time.Duration(info.Min_rtt) * time.Microsecond,
			int(min(info.Delivery_rate*8, 1<<40)), true
	}
}
