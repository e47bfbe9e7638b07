package whep

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pion/sdp/v3"
	"go.uber.org/goleak"
)

// freeUDPPort returns a UDP port of 127.0.0.1 nothing listens on now.
func freeUDPPort(t *testing.T) uint16 {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	port := c.LocalAddr().(*net.UDPAddr).Port
	c.Close()
	return uint16(port)
}

// iceCandidates returns the address and port of every candidate of an SDP.
func iceCandidates(t *testing.T, desc string) (addrs []string, ports []int) {
	t.Helper()
	var d sdp.SessionDescription
	if err := d.UnmarshalString(desc); err != nil {
		t.Fatal(err)
	}
	for _, m := range d.MediaDescriptions {
		for _, a := range m.Attributes {
			if a.Key != "candidate" {
				continue
			}
			// foundation component transport priority address port typ type ...
			f := strings.Fields(a.Value)
			if len(f) < 8 {
				t.Fatalf("candidate %q", a.Value)
			}
			port, err := strconv.Atoi(f[5])
			if err != nil {
				t.Fatalf("candidate %q: port %v", a.Value, err)
			}
			addrs, ports = append(addrs, f[4]), append(ports, port)
		}
	}
	return addrs, ports
}

// With Config.UDPPort every session's ICE runs on that one port: two peers connect and
// decode video, every candidate of both answers carries the port (the public IP's too),
// and the pair each peer selected reaches the server on it. Shutdown frees the port.
func TestOneUDPPortCarriesEverySession(t *testing.T) {
	running := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, running) })
	port := freeUDPPort(t)
	// A port range as well (the image sets one): host candidates still all use UDPPort.
	fx := newFixture(t, Config{UDPPort: port, PortMin: 40000, PortMax: 40100, PublicIPs: []string{"127.0.0.2"}}, true)
	addrs := fx.srv.UDPAddrs()
	if len(addrs) != 1 || addrs[0].(*net.UDPAddr).Port != int(port) || !addrs[0].(*net.UDPAddr).IP.Equal(net.IPv4(127, 0, 0, 1)) {
		t.Fatalf("UDPAddrs() = %v, want 127.0.0.1:%d alone (LocalIPs)", addrs, port)
	}
	clients := []*client{newClient(t), newClient(t)}
	for _, c := range clients {
		c.connect(t, fx, "demo", nil)
	}
	for i, c := range clients {
		var stream []byte
		const decoded = 8
		for n := 0; n < decoded; {
			au := c.nextAU(t, fx)
			if n == 0 && !hasIDRWithParameterSets(au) {
				continue
			}
			stream = append(stream, au.annexB...)
			n++
		}
		if pix := decodeGray(t, stream); len(pix) != decoded*testWidth*testHeight {
			t.Fatalf("client %d: ffmpeg decoded %d bytes, want %d frames of %dx%d", i, len(pix), decoded, testWidth, testHeight)
		}
		cands, ports := iceCandidates(t, c.pc.RemoteDescription().SDP)
		if len(cands) == 0 {
			t.Fatalf("client %d: the answer has no candidates", i)
		}
		for j := range cands {
			if ports[j] != int(port) {
				t.Errorf("client %d: server candidate %s:%d, want port %d", i, cands[j], ports[j], port)
			}
		}
		if !strings.Contains(strings.Join(cands, " "), "127.0.0.2") || !strings.Contains(strings.Join(cands, " "), "127.0.0.1") {
			t.Errorf("client %d: server candidates %v, want the local 127.0.0.1 and the public 127.0.0.2", i, cands)
		}
		pair, err := c.pc.SCTP().Transport().ICETransport().GetSelectedCandidatePair()
		if err != nil || pair == nil {
			t.Fatalf("client %d: no selected candidate pair: %v", i, err)
		}
		if pair.Remote.Port != port || pair.Remote.Address != "127.0.0.1" {
			t.Errorf("client %d: selected remote candidate %s:%d, want 127.0.0.1:%d", i, pair.Remote.Address, pair.Remote.Port, port)
		}
	}
	if p0, _ := clients[0].pc.SCTP().Transport().ICETransport().GetSelectedCandidatePair(); p0 != nil {
		p1, _ := clients[1].pc.SCTP().Transport().ICETransport().GetSelectedCandidatePair()
		if p1 != nil && p0.Local.Port == p1.Local.Port {
			t.Errorf("both clients on local port %d: the test does not tell two peers apart", p0.Local.Port)
		}
	}

	// The port is in use while the server runs: a second server on it is refused, naming it.
	_, err := NewServer(Config{Viewers: fx.srv.cfg.Viewers, UDPPort: port, LocalIPs: []net.IP{net.IPv4(127, 0, 0, 1)}})
	if !errors.Is(err, syscall.EADDRINUSE) || !strings.Contains(err.Error(), strconv.Itoa(int(port))) {
		t.Errorf("a second server on UDP port %d: %v, want EADDRINUSE naming the port", port, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := fx.srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: int(port)})
	if err != nil {
		t.Fatalf("UDP port %d still held after Shutdown: %v", port, err)
	}
	c.Close()
}

// Without Config.UDPPort, sessions use ports of their own, as before.
func TestWithoutUDPPortSessionsUseTheirOwnPorts(t *testing.T) {
	fx := newFixture(t, Config{}, true)
	if a := fx.srv.UDPAddrs(); a != nil {
		t.Fatalf("UDPAddrs() = %v without UDPPort", a)
	}
	seen := map[int]bool{}
	for range 2 {
		c := newClient(t)
		c.connect(t, fx, "demo", nil)
		_, ports := iceCandidates(t, c.pc.RemoteDescription().SDP)
		for _, p := range ports {
			seen[p] = true
		}
	}
	if len(seen) < 2 {
		t.Errorf("two sessions' candidates share ports %v, want a port each", seen)
	}
}
