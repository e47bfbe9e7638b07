//go:build !linux

package rtmpsrv

import (
	"net"
	"time"
)

// setUnsentBytes does nothing where TCP_NOTSENT_LOWAT is not known: the kernel's socket
// buffer then holds what the link does not take.
func setUnsentBytes(net.Conn, int) error { return nil }

// tcpInfoOf returns nil where TCP_INFO is not read: the link's delay is the send queue's.
func tcpInfoOf(net.Conn) func() (rtt, minRTT time.Duration, deliveryBps int, ok bool) { return nil }
