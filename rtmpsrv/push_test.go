package rtmpsrv

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rendercast/rendercast/avc"
	"github.com/rendercast/rendercast/rtmpclient"
)

// pushBase is where the frames' timestamps start: a shared session running for ten
// minutes before the player joined.
const pushBase = 10 * time.Minute

// pushFrameInterval is the frames' spacing: whole milliseconds, so rebased RTMP timestamps
// are exact.
const pushFrameInterval = 33 * time.Millisecond

// pushApp feeds its streams from elsewhere, as a shared session does: it is their only
// handler (no render, no frame handler, so they run no loops), and once a play has started
// (HandlePlayStarted) a goroutine writes the clip to the stream with WriteFrame, at 30 fps,
// skipping to the next keyframe whenever WriteFrame asks for one. With manual set, it only
// hands the started stream to the test, which writes itself.
type pushApp struct {
	clip   *testClip
	manual bool

	started chan *Stream // streams whose play started
	plays   chan bool    // HandlePlay's play argument, each call

	mu    sync.Mutex
	stops map[*Stream]chan struct{}
	wg    sync.WaitGroup // feeding goroutines
}

func newPushApp(t *testing.T, manual bool) *pushApp {
	a := &pushApp{clip: loadClip(t), manual: manual, started: make(chan *Stream, 8), plays: make(chan bool, 64),
		stops: map[*Stream]chan struct{}{}}
	t.Cleanup(a.wg.Wait)
	return a
}

func (a *pushApp) HandlePlay(s *Stream, play bool) (*VideoData, error) {
	select {
	case a.plays <- play:
	default:
	}
	if !play {
		a.mu.Lock()
		if stop := a.stops[s]; stop != nil {
			close(stop)
			delete(a.stops, s)
		}
		a.mu.Unlock()
	}
	return nil, nil
}

func (a *pushApp) HandlePlayStarted(s *Stream) {
	a.started <- s
	if a.manual {
		return
	}
	stop := make(chan struct{})
	a.mu.Lock()
	a.stops[s] = stop
	a.mu.Unlock()
	a.wg.Add(1)
	go a.feed(s, stop)
}

// frame returns clip frame i (of a looped clip) stamped at pushBase + i intervals; every
// keyframe carries the configuration record.
func (a *pushApp) frame(i int) *avc.Frame {
	cf := a.clip.frames[i%len(a.clip.frames)]
	d := pushBase + time.Duration(i)*pushFrameInterval
	f := &avc.Frame{NALUs: cf.nalus, Keyframe: cf.key, PTS: d, DTS: d}
	if cf.key {
		f.Config = a.clip.config
	}
	return f
}

func (a *pushApp) feed(s *Stream, stop chan struct{}) {
	defer a.wg.Done()
	tick := time.NewTicker(pushFrameInterval)
	defer tick.Stop()
	want := true
	for i := 1; ; i++ { // frame 0 is a keyframe: start on a P-frame, which is dropped
		select {
		case <-stop:
			return
		case <-s.Conn().Context().Done():
			return
		case <-tick.C:
		}
		f := a.frame(i)
		if want && !f.Keyframe && i > 1 {
			continue // a session would force a keyframe; the clip has one every 15 frames
		}
		want = s.WriteFrame(f)
	}
}

// pushServer starts a server whose streams have app as their only handler; connect refuses
// with Refuse's description when the app name is "closed".
func pushServer(t *testing.T, cfg Config, app *pushApp) string {
	t.Helper()
	h := ConnectHandlerFunc(func(c *Conn, created bool, cmd Object, args []any) bool {
		if !created {
			return true
		}
		if c.App() == "closed" {
			c.Refuse("why: this application is closed")
			return false
		}
		c.RegisterStreamHandler(StreamHandlerFunc(func(s *Stream, created bool, cmd any) bool {
			if created {
				s.RegisterPlayHandler(app)
			}
			return true
		}))
		return true
	})
	_, url := startServer(t, cfg, h)
	return url
}

func (a *pushApp) nextStarted(t *testing.T) *Stream {
	t.Helper()
	select {
	case s := <-a.started:
		return s
	case <-time.After(10 * time.Second):
		t.Fatal("HandlePlayStarted not called within 10 s")
	}
	return nil
}

func (a *pushApp) nextPlay(t *testing.T) bool {
	t.Helper()
	select {
	case p := <-a.plays:
		return p
	case <-time.After(10 * time.Second):
		t.Fatal("HandlePlay not called within 10 s")
	}
	return false
}

// readFrame returns the next video message that is a frame (not a sequence header).
func readFrame(t *testing.T, c *rtmpclient.Client) *rtmpclient.VideoMessage {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for {
		m, err := c.ReadVideo(ctx)
		if err != nil {
			t.Fatalf("reading video: %v", err)
		}
		if m.AVCPacketType == rtmpclient.AVCNALU {
			return m
		}
	}
}

// statusOf waits for an onStatus with code on the stream and returns it.
func statusOf(t *testing.T, c *rtmpclient.Client, stream uint32, code string) rtmpclient.Status {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var seen []string
	for {
		e, err := c.ReadEvent(ctx)
		if err != nil {
			t.Fatalf("waiting for %s (saw %v): %v", code, seen, err)
		}
		if e.Kind == rtmpclient.EventStatus && e.StreamID == stream {
			seen = append(seen, e.Status.Code)
			if e.Status.Code == code {
				return e.Status
			}
		}
	}
}

// Frames written from elsewhere reach the project's client and ffprobe, which decodes
// them; their timestamps start near 0 though the frames' start at 10 minutes; the stream
// runs no loops.
func TestPushedFramesReachPlayers(t *testing.T) {
	needTool(t, "ffprobe")
	app := newPushApp(t, false)
	url := pushServer(t, Config{}, app)

	c := dial(t, url+"/app", rtmpclient.Options{})
	ctx := testCtx(t)
	id, err := c.CreateStream(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Play(ctx, id, "shared"); err != nil {
		t.Fatal(err)
	}
	s := app.nextStarted(t)
	m, err := c.ReadVideo(ctx)
	if err != nil || m.AVCPacketType != rtmpclient.AVCSequenceHeader || m.Timestamp != 0 {
		t.Fatalf("first video message: %+v %v, want the sequence header at 0", m, err)
	}
	first := readFrame(t, c)
	if md := c.Metadata(); md == nil { // sent between the sequence header and the first frame
		t.Error("no onMetaData")
	} else if w, _ := md.GetFloat64("width"); w != clipWidth {
		t.Errorf("onMetaData width %v, want %d", w, clipWidth)
	}
	if !first.Keyframe || first.Timestamp != 0 {
		t.Fatalf("first frame: keyframe %v at %v, want a keyframe at 0 (frames start at %v)", first.Keyframe, first.Timestamp, pushBase)
	}
	prev := first.Timestamp
	for range 30 {
		m := readFrame(t, c)
		if m.Timestamp <= prev || m.Timestamp-prev > time.Second {
			t.Fatalf("timestamp %v after %v: want 33 ms steps from 0", m.Timestamp, prev)
		}
		prev = m.Timestamp
	}
	if prev != 30*pushFrameInterval {
		t.Fatalf("31st frame at %v, want %v (every frame sent, rebased)", prev, 30*pushFrameInterval)
	}
	st := s.Stats()
	for deadline := time.Now().Add(5 * time.Second); st.FramesSent < 31 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond) // counted once written, a moment after the player may read it
		st = s.Stats()
	}
	if st.Renders != 0 || st.FramesSent < 31 || !st.Playing || s.kicks.Load() != nil {
		t.Fatalf("stream stats %+v (loops %v): want frames sent by WriteFrame and no loops", st, s.kicks.Load() != nil)
	}

	// ffprobe (FFmpeg's RTMP client) decodes what is written.
	ctx2, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx2, "ffprobe", "-v", "error", "-rw_timeout", "20000000", "-read_intervals", "%+#40",
		"-select_streams", "v", "-show_frames", "-show_entries", "frame=pts,key_frame,width,height", "-of", "json", url+"/app/shared")
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("ffprobe: %v\n%s", err, stderr.String())
	}
	var v struct {
		Frames []struct {
			PTS      int64 `json:"pts"`
			KeyFrame int   `json:"key_frame"`
			Width    int   `json:"width"`
			Height   int   `json:"height"`
		} `json:"frames"`
	}
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatalf("ffprobe json: %v\n%s", err, out)
	}
	if len(v.Frames) < 30 {
		t.Fatalf("ffprobe decoded %d frames, want >= 30\n%s", len(v.Frames), stderr.String())
	}
	if f := v.Frames[0]; f.KeyFrame != 1 || f.PTS < 0 || f.PTS > 1000 {
		t.Fatalf("ffprobe's first frame %+v: want a keyframe near 0 ms", f)
	}
	for i, f := range v.Frames {
		if f.Width != clipWidth || f.Height != clipHeight {
			t.Fatalf("frame %d is %dx%d, want %dx%d", i, f.Width, f.Height, clipWidth, clipHeight)
		}
		if i > 0 && f.PTS <= v.Frames[i-1].PTS {
			t.Fatalf("frame %d at %d ms after %d ms", i, f.PTS, v.Frames[i-1].PTS)
		}
	}
}

// WriteFrame's guards, seen from the player: a P-frame first is dropped; timestamps start
// at the first frame sent; a paused stream takes nothing; after unpause only a keyframe;
// End with an error fails the play with its text, End(nil) stops it, and the play handler
// is told both times.
func TestWriteFrameGuardsPauseAndEnd(t *testing.T) {
	app := newPushApp(t, true)
	url := pushServer(t, Config{}, app)
	c := dial(t, url+"/app", rtmpclient.Options{})
	ctx := testCtx(t)
	id, err := c.CreateStream(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Play(ctx, id, "shared"); err != nil {
		t.Fatal(err)
	}
	if !app.nextPlay(t) {
		t.Fatal("play handler called with play=false")
	}
	s := app.nextStarted(t)
	if s.QueueFull() {
		t.Fatal("QueueFull on a stream that plays with an empty queue")
	}

	if !app.frame(1).Keyframe && !s.WriteFrame(app.frame(1)) {
		t.Fatal("a P-frame first was taken")
	}
	if s.WriteFrame(nil) {
		t.Error("WriteFrame(nil) wants a keyframe")
	}
	noConfig := *app.frame(0)
	noConfig.Config = nil
	if !s.WriteFrame(&noConfig) {
		t.Fatal("a first keyframe without its configuration record was taken")
	}
	i := len(app.clip.frames) // a keyframe (the clip's first frame), 2 s after frame 0
	if s.WriteFrame(app.frame(i)) || s.WriteFrame(app.frame(i+1)) {
		t.Fatal("a keyframe, then a P-frame: one wanted a keyframe")
	}
	if m := readFrame(t, c); !m.Keyframe || m.Timestamp != 0 {
		t.Fatalf("first frame: keyframe %v at %v, want the keyframe at 0", m.Keyframe, m.Timestamp)
	}
	if m := readFrame(t, c); m.Keyframe || m.Timestamp != pushFrameInterval {
		t.Fatalf("second frame: keyframe %v at %v, want the P-frame at %v", m.Keyframe, m.Timestamp, pushFrameInterval)
	}

	if err := c.Pause(ctx, id, true, 0); err != nil {
		t.Fatal(err)
	}
	dropped := s.Stats().FramesDropped
	// Paused: nothing is taken, and no keyframe is wanted until the player resumes (a
	// paused viewer of a shared session must not make its source force keyframes).
	if !s.Paused() || !s.QueueFull() || s.WriteFrame(app.frame(i+2)) || s.WriteFrame(app.frame(i+15)) {
		t.Fatal("a paused stream: not QueueFull, or it wanted a keyframe")
	}
	if d := s.Stats().FramesDropped - dropped; d != 2 {
		t.Fatalf("a paused stream dropped %d of 2 frames", d)
	}
	if err := c.Pause(ctx, id, false, 0); err != nil {
		t.Fatal(err)
	}
	if s.QueueFull() {
		t.Fatal("QueueFull after unpause")
	}
	if !s.WriteFrame(app.frame(i + 16)) {
		t.Fatal("a P-frame right after unpause was taken: the player may have flushed its decoder")
	}
	if s.WriteFrame(app.frame(i+30)) || s.WriteFrame(app.frame(i+31)) {
		t.Fatal("a keyframe then a P-frame after unpause: one wanted a keyframe")
	}
	if m := readFrame(t, c); !m.Keyframe || m.Timestamp != 30*pushFrameInterval {
		t.Fatalf("first frame after unpause: keyframe %v at %v, want the keyframe at %v", m.Keyframe, m.Timestamp, 30*pushFrameInterval)
	}
	if m := readFrame(t, c); m.Keyframe || m.Timestamp != 31*pushFrameInterval {
		t.Fatalf("then: keyframe %v at %v, want the P-frame at %v", m.Keyframe, m.Timestamp, 31*pushFrameInterval)
	}

	s.End(errors.New("scene unloaded"))
	st := statusOf(t, c, id, "NetStream.Play.Failed")
	if !strings.Contains(st.Description, "scene unloaded") || st.Level != "error" {
		t.Fatalf("Play.Failed %+v, want level error and the error's text", st)
	}
	if app.nextPlay(t) {
		t.Fatal("End(err): the play handler was called with play=true, want false")
	}
	dropped = s.Stats().FramesDropped
	if s.Playing() || !s.QueueFull() || s.WriteFrame(app.frame(i+45)) || s.Stats().FramesDropped != dropped+1 {
		t.Fatal("an ended stream still plays, takes frames or wants a keyframe")
	}

	// A second stream of the same connection: End(nil) stops it.
	id2, err := c.CreateStream(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Play(ctx, id2, "other"); err != nil {
		t.Fatal(err)
	}
	app.nextPlay(t)
	s2 := app.nextStarted(t)
	s2.End(nil)
	if st := statusOf(t, c, id2, "NetStream.Play.Stop"); st.Level != "status" {
		t.Fatalf("Play.Stop %+v", st)
	}
	if app.nextPlay(t) {
		t.Fatal("End(nil): the play handler was called with play=true, want false")
	}
	if s2.Playing() {
		t.Fatal("the stream plays after End(nil)")
	}
	if res, err := c.Call(ctx, "nothing", nil); err == nil {
		t.Fatalf("an unknown call succeeded: %v", res)
	} // the connection lives on after both ends
}

// A player that stops reading fills its connection's queue: the frame written then is
// dropped and WriteFrame asks for a keyframe; P-frames are dropped until one comes, even
// with room again; what the player gets is exactly what WriteFrame took, a keyframe after
// every gap.
func TestSlowPlayerDropsUntilKeyframe(t *testing.T) {
	app := newPushApp(t, true)
	url := pushServer(t, Config{WriteTimeout: 60 * time.Second}, app)
	// The client's reader stops reading the socket while one media message waits.
	c := dial(t, url+"/app", rtmpclient.Options{MediaBuffer: 1})
	ctx := testCtx(t)
	id, err := c.CreateStream(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Play(ctx, id, "shared"); err != nil {
		t.Fatal(err)
	}
	s := app.nextStarted(t)

	type written struct {
		ts  time.Duration // after the first frame taken
		key bool
	}
	var taken []written
	var i0 = -1
	var i int
	write := func(f *avc.Frame) bool {
		want := s.WriteFrame(f)
		if !want {
			if i0 < 0 {
				i0 = i
			}
			taken = append(taken, written{time.Duration(i-i0) * pushFrameInterval, f.Keyframe})
		}
		return want
	}
	// Phase 1: 256 KiB frames (a filler NAL unit added) until the socket buffers and then the
	// queue are full.
	filler := avc.AppendAVCC(nil, [][]byte{append([]byte{12}, bytes.Repeat([]byte{0xff}, 256<<10)...)})
	dropped := false
	for i = 0; i < 3000; i++ {
		f := *app.frame(i)
		f.NALUs = append(append([]byte(nil), f.NALUs...), filler...)
		if write(&f) && len(taken) > 0 {
			dropped = true
			break
		}
		time.Sleep(2 * time.Millisecond)
	}
	if !dropped {
		t.Fatalf("no frame dropped after %d frames of 256 KiB to a player that does not read", i)
	}
	if !s.QueueFull() {
		t.Fatal("a frame was dropped but QueueFull is false")
	}
	if st := s.Stats(); st.FramesDropped == 0 {
		t.Fatalf("stream stats %+v: no drop counted", st)
	}
	full := len(taken)
	t.Logf("frame %d dropped, %d taken before (%d MiB)", i, full, full/4)

	// Phase 2: the player reads again; small frames from now on.
	type got struct {
		ts  time.Duration
		key bool
	}
	frames := make(chan got, 4096)
	readErr := make(chan error, 1)
	readCtx, stopReading := context.WithCancel(context.Background())
	defer stopReading()
	go func() {
		for {
			m, err := c.ReadVideo(readCtx)
			if err != nil {
				readErr <- err
				return
			}
			if m.AVCPacketType == rtmpclient.AVCNALU {
				frames <- got{m.Timestamp, m.Keyframe}
			}
		}
	}()
	for deadline := time.Now().Add(20 * time.Second); s.QueueFull(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the queue is still full 20 s after the player read again")
		}
	}
	i++
	for ; !app.frame(i).Keyframe; i++ {
		if !write(app.frame(i)) {
			t.Fatalf("P-frame %d after a drop was taken (queue no longer full): its reference is missing", i)
		}
	}
	if write(app.frame(i)) {
		t.Fatal("the keyframe after a drop was not taken")
	}
	for range 5 {
		i++
		time.Sleep(5 * time.Millisecond)
		if write(app.frame(i)) {
			t.Fatalf("P-frame %d after the recovery keyframe was dropped", i)
		}
	}

	// What the player got: exactly the frames taken, in order, a keyframe after each gap.
	last := taken[len(taken)-1].ts
	var received []got
	for len(received) == 0 || received[len(received)-1].ts < last {
		select {
		case g := <-frames:
			received = append(received, g)
		case err := <-readErr:
			t.Fatalf("reading: %v (got %d frames of %d taken)", err, len(received), len(taken))
		case <-time.After(20 * time.Second):
			t.Fatalf("got %d frames of %d taken within 20 s", len(received), len(taken))
		}
	}
	if len(received) != len(taken) {
		t.Fatalf("got %d frames, %d taken (%d before the drop)", len(received), len(taken), full)
	}
	for k := range taken {
		if received[k].ts != taken[k].ts || received[k].key != taken[k].key {
			t.Fatalf("frame %d: got %+v, taken %+v", k, received[k], taken[k])
		}
		gap := k > 0 && taken[k].ts-taken[k-1].ts > pushFrameInterval
		if gap && !taken[k].key {
			t.Fatalf("frame %d at %v follows a gap but is not a keyframe", k, taken[k].ts)
		}
	}
	if !taken[full].key || taken[full].ts-taken[full-1].ts <= pushFrameInterval {
		t.Fatalf("the first frame after the drop %+v is not a keyframe after a gap", taken[full])
	}
}

// Refuse's description reaches the client in NetConnection.Connect.Rejected: the project's
// client and FFmpeg's.
func TestRefuseDescription(t *testing.T) {
	needTool(t, "ffprobe")
	url := pushServer(t, Config{}, newPushApp(t, true))
	_, err := rtmpclient.Dial(testCtx(t), url+"/closed/x", rtmpclient.Options{})
	var se *rtmpclient.StatusError
	if !errors.As(err, &se) || se.Code != "NetConnection.Connect.Rejected" || !strings.Contains(se.Description, "why: this application is closed") {
		t.Fatalf("refused connect: %v, want NetConnection.Connect.Rejected with the description", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ffprobe", "-v", "error", "-rw_timeout", "10000000", url+"/closed/x").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "why: this application is closed") {
		t.Fatalf("ffprobe: %v, output %q: want a failure naming the description", err, out)
	}
	if !errors.As(err, new(*exec.ExitError)) {
		t.Fatalf("ffprobe: %v", err)
	}
}

// SetRenderRate takes [0.1, 240]; SetProperty("render_rate") goes through it.
func TestSetRenderRateBounds(t *testing.T) {
	srv, err := NewServer(Config{})
	if err != nil {
		t.Fatal(err)
	}
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	c := newConn(srv, a, 1)
	defer c.cancel()
	s := newStream(c, 1)
	if got := s.RenderRate(); got != 30 {
		t.Fatalf("default render rate %v, want 30", got)
	}
	for _, bad := range []float64{0.05, 300, 0, -1} {
		if err := s.SetRenderRate(bad); !errors.Is(err, ErrInvalidProperty) {
			t.Errorf("SetRenderRate(%v): %v, want ErrInvalidProperty", bad, err)
		}
	}
	if err := s.SetRenderRate(10); err != nil || s.RenderRate() != 10 {
		t.Fatalf("SetRenderRate(10): %v, rate %v", err, s.RenderRate())
	}
	if err := s.SetProperty(PropertyRenderRate, "12"); err != nil || s.RenderRate() != 12 {
		t.Fatalf("SetProperty(render_rate, 12): %v, rate %v", err, s.RenderRate())
	}
	if v, ok := s.Property(PropertyRenderRate); !ok || v != "12" {
		t.Fatalf("Property(render_rate) = %q %v", v, ok)
	}
	for _, bad := range []string{"300", "0.05", "fast"} {
		if err := s.SetProperty(PropertyRenderRate, bad); !errors.Is(err, ErrInvalidProperty) || s.RenderRate() != 12 {
			t.Errorf("SetProperty(render_rate, %q): %v, rate %v", bad, err, s.RenderRate())
		}
	}
	if st := s.Stats(); st.RenderRate != 12 {
		t.Fatalf("stats render rate %v", st.RenderRate)
	}
}
