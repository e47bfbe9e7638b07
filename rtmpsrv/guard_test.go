package rtmpsrv

import (
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/rendercast/rendercast/internal/access"
)

// dialRawFrom is dialRaw from a local address (127.0.0.x aliases are local on Linux).
func dialRawFrom(t *testing.T, from, addr string) *rawConn {
	t.Helper()
	d := net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
	nc, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial %s from %s: %v", addr, from, err)
	}
	t.Cleanup(func() { nc.Close() })
	lim := chunkLimits{maxMessage: 0xffffff, maxStreams: 1 << 16, maxBuffered: 64 << 20, maxChunkSize: 1 << 24}
	return &rawConn{t: t, nc: nc, r: newChunkReader(nc, lim, nil, nil), outChunk: defaultInChunkSize}
}

// answered reports whether the server sent S0 within d.
func (c *rawConn) answered(d time.Duration) bool {
	c.nc.SetReadDeadline(time.Now().Add(d))
	_, err := io.ReadFull(c.nc, make([]byte, 1))
	return err == nil
}

// With a Guard, connections stalled in their handshake hold their address's budget and
// none of MaxConns's places: one address's stalled handshakes leave others served at once,
// the address's further connections wait for a place (and get none while the first stall),
// and MaxConns counts connected clients only.
func TestGuardStalledHandshakes(t *testing.T) {
	g, err := access.NewGuard(access.GuardConfig{Transport: "rtmp", Budgets: access.Budgets{PerAddress: 2, Total: 8}})
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{MaxConns: 1, HandshakeTimeout: 2 * time.Second, Guard: g}
	srv, addr := startServerAddr(t, cfg, newRecorder("r", true))

	var stalled []*rawConn
	for range 4 {
		c := dialRawFrom(t, "127.0.0.2", addr)
		c.mustWrite(c0c1())
		stalled = append(stalled, c)
	}
	waitFor(t, 5*time.Second, "two pending and two waiting", func() bool {
		st := g.Stats()
		return st.Pending == 2 && st.Waiting == 2
	})
	answered := 0
	for _, c := range stalled {
		if c.answered(300 * time.Millisecond) {
			answered++
		}
	}
	if answered != 2 {
		t.Fatalf("%d of 4 stalled handshakes from one address answered, want its budget of 2", answered)
	}

	viewer := dialRawFrom(t, "127.0.0.3", addr)
	late := dialRawFrom(t, "127.0.0.4", addr)
	viewer.handshake()
	late.handshake()
	viewer.mustCommand(0, "connect", 1, connectObject(addr))
	if name, info := viewer.reply(1); name != "_result" { // MaxConns is 1: the stalled hold none of it
		t.Fatalf("connect: %s %v", name, info)
	}
	viewer.requireOpen(10)
	late.mustCommand(0, "connect", 1, connectObject(addr))
	name, info := late.reply(1)
	if name != "_error" || replyCode(info) != codeConnectRejected || !strings.Contains(replyDescription(info), "server full") {
		t.Fatalf("connect beyond MaxConns: %s %v, want NetConnection.Connect.Rejected, server full", name, info)
	}
	late.requireClosed(5 * time.Second)
	if st := g.Stats(); st.Promoted != 1 || st.Pending != 2 {
		t.Fatalf("guard stats %+v, want the viewer promoted and the two stalled pending", st)
	}
	// With MaxConns taken by a connected client, a new connection is closed at once.
	dialRawFrom(t, "127.0.0.5", addr).requireClosed(2 * time.Second)

	for _, c := range stalled { // the handshake deadline (2 s) closes the stalled and the waiting
		c.requireClosed(10 * time.Second)
	}
	// The two that waited were refused, or placed as the first two timed out (then with no
	// time left for their handshake).
	if st := g.Stats(); st.Pending != 0 || st.Waiting != 0 || st.Admitted+st.Refused.Address != 6 || st.Refused.Full != 2 {
		t.Fatalf("guard stats %+v, want nothing held, 6 admitted or refused for the address, 2 full", st)
	}
	viewer.requireOpen(11)
	// A connection closed from the client's side may still be leaving the server's count.
	waitFor(t, 5*time.Second, "only the viewer's connection open", func() bool { return srv.NumConns() == 1 })
	viewer.nc.Close()
	waitFor(t, 5*time.Second, "the viewer's place freed", func() bool { return srv.NumConns() == 0 })
	dialRawFrom(t, "127.0.0.4", addr).connect() // its MaxConns place was given back
}

// A connection evicted by the Guard while in its handshake is closed at once.
func TestGuardEvictsHandshake(t *testing.T) {
	g, err := access.NewGuard(access.GuardConfig{Budgets: access.Budgets{PerAddress: 2, Total: 2, Queue: -1}})
	if err != nil {
		t.Fatal(err)
	}
	_, addr := startServerAddr(t, Config{HandshakeTimeout: 30 * time.Second, Guard: g}, newRecorder("r", true))
	// b is admitted after a (each connection is admitted on its own goroutine: dialled
	// together, a loaded machine may admit them in either order).
	a := dialRawFrom(t, "127.0.0.2", addr)
	waitFor(t, 5*time.Second, "one pending", func() bool { return g.Stats().Pending == 1 })
	b := dialRawFrom(t, "127.0.0.2", addr)
	waitFor(t, 5*time.Second, "two pending", func() bool { return g.Stats().Pending == 2 })
	a.mustWrite(c0c1())
	a.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(a.nc, make([]byte, 1+2*handshakeSize)); err != nil {
		t.Fatalf("the first handshake was not answered: %v", err)
	}
	dialRawFrom(t, "127.0.0.3", addr).connect() // takes b's place: the newest of the heaviest
	if d := b.requireClosed(5 * time.Second); d > 5*time.Second {
		t.Fatalf("evicted after %v", d)
	}
	a.nc.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if _, err := a.nc.Read(make([]byte, 1)); err == nil || !isTimeout(err) {
		t.Fatalf("the older handshake ended too (%v); only the newest goes", err)
	}
	if st := g.Stats(); st.Refused.Evicted != 1 {
		t.Fatalf("guard stats %+v, want 1 evicted", st)
	}
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

// videoFrames reads until n video messages have come, or fails after 20 s.
func (c *rawConn) videoFrames(n int) {
	c.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	got := 0
	for got < n {
		m, err := c.next(time.Until(deadline))
		if err != nil {
			c.t.Fatalf("after %d of %d video frames: %v", got, n, err)
		}
		if m.typ == msgVideo && len(m.body) > 5 {
			got++
		}
	}
}

// Connected clients that never play hold at most their address's idle budget once the
// grace has passed: 40 connections from one address that connect and do nothing fill
// MaxConns (40), yet a viewer from another address plays at once (it takes the place of
// the longest idle), the address is then brought down to its 16, and a client of another
// address that only makes calls, within its budget, keeps its connection.
func TestGuardIdleConnections(t *testing.T) {
	const grace = 2 * time.Second
	g, err := access.NewGuard(access.GuardConfig{Transport: "rtmp", Budgets: access.Budgets{IdleGrace: grace}})
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{MaxConns: 40, Guard: g}
	srv, _, addr := startHostileServer(t, cfg)

	steer := dialRawFrom(t, "127.0.0.4", addr)
	steer.connect()
	var idle []*rawConn
	for range 39 {
		c := dialRawFrom(t, "127.0.0.2", addr)
		c.connect()
		idle = append(idle, c)
	}
	if n := srv.NumConns(); n != 40 {
		t.Fatalf("%d connections open, want MaxConns (40)", n)
	}

	viewer := dialRawFrom(t, "127.0.0.3", addr)
	viewer.connect()
	viewer.createAndPlay(2, "clip")
	viewer.videoFrames(30)
	if st := g.Stats(); st.Refused.Idle != 1 {
		t.Fatalf("guard stats %+v, want one idle connection closed for the viewer", st)
	}

	txid := 10.0
	start := time.Now()
	for time.Since(start) < 3*grace { // steering: a call every 100 ms, no play
		txid++
		if name, v := steer.call(txid, "ping"); name != "_result" || v != "pong" {
			t.Fatalf("steering call: %s %v", name, v)
		}
		time.Sleep(100 * time.Millisecond)
	}
	waitFor(t, 10*time.Second, "the idle address down to its budget", func() bool { return g.Stats().Refused.Idle == 39-16 })
	open := 0
	for i, c := range idle {
		c.nc.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		_, err := c.nc.Read(make([]byte, 1))
		switch {
		case isTimeout(err):
			c.requireOpen(float64(100 + i))
			open++
		case err == nil:
			t.Fatalf("idle connection %d was sent something", i)
		}
	}
	if open != 16 {
		t.Fatalf("%d of the idle address's connections open after the grace, want its budget of 16", open)
	}
	viewer.videoFrames(30) // still playing
	steer.requireOpen(txid + 1)
	if st := g.Stats(); st.Idle != 17 {
		t.Fatalf("guard stats %+v, want 17 idle (16 and the steering client)", st)
	}
}

// Viewers are not idle: many viewers from one address keep playing past the grace, and a
// viewer that stops is idle again and closed once its address is over budget.
func TestGuardIdleViewersKept(t *testing.T) {
	const grace = 500 * time.Millisecond
	g, err := access.NewGuard(access.GuardConfig{Transport: "rtmp", Budgets: access.Budgets{IdlePerAddress: 2, IdleGrace: grace}})
	if err != nil {
		t.Fatal(err)
	}
	_, _, addr := startHostileServer(t, Config{Guard: g})
	var viewers []*rawConn
	var ids []uint32
	for range 6 {
		c := dialRawFrom(t, "127.0.0.5", addr)
		c.connect()
		ids = append(ids, c.createAndPlay(2, "clip"))
		viewers = append(viewers, c)
	}
	time.Sleep(3 * grace)
	for _, c := range viewers {
		c.videoFrames(10)
	}
	if st := g.Stats(); st.Idle != 0 || st.Refused.Idle != 0 {
		t.Fatalf("guard stats %+v, want no idle and none closed", st)
	}
	for i, c := range viewers[:3] { // three stop: the address holds 3 idle, one over budget
		c.mustCommand(ids[i], "closeStream", 0, nil)
	}
	waitFor(t, 10*time.Second, "one stopped viewer closed", func() bool { return g.Stats().Refused.Idle == 1 })
	for _, c := range viewers[3:] {
		c.videoFrames(10)
	}
}
