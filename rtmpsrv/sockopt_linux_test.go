package rtmpsrv

import (
	"net"
	"testing"

	"golang.org/x/sys/unix"
)

// The server bounds the unsent bytes of the connections it accepts (TCP_NOTSENT_LOWAT), and
// reads their round-trip times.
func TestAcceptedConnectionsBoundUnsentBytes(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	nc, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if err := setUnsentBytes(nc, 16<<10); err != nil {
		t.Fatal(err)
	}
	rc, _ := nc.(*net.TCPConn).SyscallConn()
	var got int
	var gerr error
	rc.Control(func(fd uintptr) { got, gerr = unix.GetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_NOTSENT_LOWAT) })
	if gerr != nil || got != 16<<10 {
		t.Errorf("TCP_NOTSENT_LOWAT %d (%v), want %d", got, gerr, 16<<10)
	}
	info := tcpInfoOf(nc)
	if info == nil {
		t.Fatal("no TCP_INFO reader for a TCP connection")
	}
	if rtt, minRTT, _, ok := info(); !ok || rtt <= 0 || minRTT > rtt {
		t.Errorf("TCP_INFO: rtt %v, min %v, ok %v", rtt, minRTT, ok)
	}
	if setUnsentBytes(fakeConn{}, 1) == nil || tcpInfoOf(fakeConn{}) != nil {
		t.Error("a connection that is not TCP was taken as one")
	}
}

type fakeConn struct{ net.Conn }
