package app

import (
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rendercast/rendercast/avc"
	"github.com/rendercast/rendercast/session"
)

// newTestApp makes a real App (llvmpipe, libx264) of 320x240 that listens on nothing;
// mutate changes the configuration before New.
func newTestApp(t *testing.T, mutate func(*Config)) *App {
	t.Helper()
	a, err := New(testConfig(mutate), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(a.Close)
	return a
}

// testConfig is a small configuration for tests (320x240, x264 ultrafast), changed by
// mutate when not nil.
func testConfig(mutate func(*Config)) *Config {
	cfg := &Config{
		Width: 320, Height: 240, FPS: 30, BitrateKbps: 500, Encoder: "libx264", Preset: "ultrafast",
		GOP: 2 * time.Second, Readback: "auto", Convert: "auto", Shading: "auto", Detail: "auto",
		Animate: "off", Version: "test",
	}
	if mutate != nil {
		mutate(cfg)
	}
	return cfg
}

type joined struct {
	v *viewer
	l *live
}

// joinTest opens a viewer of session name ("" private) showing scene; it ends with the
// test.
func joinTest(t *testing.T, a *App, name, scene string) joined {
	t.Helper()
	v := &viewer{a: a, transport: "rtmp", peer: "127.0.0.1:1", app: "live", started: time.Now()}
	if err := v.open(name, scene); err != nil {
		t.Fatalf("open %q: %v", name, err)
	}
	t.Cleanup(v.end)
	return joined{v: v, l: v.session()}
}

func TestCheckSessionName(t *testing.T) {
	for _, good := range []string{"a", "show", "Show-2_b", "0", "-", "_", strings.Repeat("x", 64)} {
		if err := checkSessionName(good); err != nil {
			t.Errorf("checkSessionName(%q): %v", good, err)
		}
	}
	for _, bad := range []string{"", strings.Repeat("x", 65), "a b", "a/b", "../x", "a.b", "a?b", "a=b", "%41", "é", "a\x00", "a\n", " a"} {
		err := checkSessionName(bad)
		if !errors.Is(err, ErrBadSessionName) {
			t.Errorf("checkSessionName(%q): %v, want ErrBadSessionName", bad, err)
		}
	}
	// A long name is cut in the message.
	err := checkSessionName(strings.Repeat("y", 10000))
	if err == nil || len(err.Error()) > 250 {
		t.Errorf("a 10000-character name: error of %d characters", len(err.Error()))
	}
}

func TestSplitPlayName(t *testing.T) {
	for _, c := range []struct {
		in, scene, session, token string
	}{
		{"demo", "demo", "", ""},
		{"demo?session=show", "demo", "show", ""},
		{"demo?session=show&control_token=t%26x", "demo", "show", "t&x"},
		{"?session=show", "", "show", ""},
		{"demo?", "demo", "", ""},
		{"demo?session=a?b", "demo", "a?b", ""},
		{"demo?%zz&session=s", "demo", "s", ""},
	} {
		scene, q := splitPlayName(c.in)
		if scene != c.scene || q.Get("session") != c.session || q.Get("control_token") != c.token {
			t.Errorf("splitPlayName(%q) = %q, %v; want %q, session %q, token %q", c.in, scene, q, c.scene, c.session, c.token)
		}
	}
	if _, q := splitPlayName("demo?session="); !q.Has("session") || q.Get("session") != "" {
		t.Errorf("an empty session= is not kept: %v", q)
	}
}

func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"rtmp://user:secret@example.com:1935/live/stream?key=secret#frag": "rtmp://example.com:1935/live/st…",
		"rtmps://example.com/app/name":                                    "rtmps://example.com/app/na…",
		"rtmp://a.rtmp.youtube.com/live2/secretkey":                       "rtmp://a.rtmp.youtube.com/live2/se…",
		"rtmp://127.0.0.1/live/x?token=secret":                            "rtmp://127.0.0.1/live/x",
		"rtmp://a b/%zz":                                                  "(unparsable URL)",
	} {
		if got := redactURL(in); got != want {
			t.Errorf("redactURL(%q) = %q, want %q", in, got, want)
		}
		if strings.Contains(redactURL(in), "secret") {
			t.Errorf("redactURL(%q) keeps a secret", in)
		}
	}
}

func TestCheckPublishURL(t *testing.T) {
	for _, good := range []string{"rtmp://example.com/live/key", "rtmps://example.com:443/app/key", "rtmp://127.0.0.1:1935/live/x?k=v"} {
		if err := checkPublishURL(good); err != nil {
			t.Errorf("checkPublishURL(%q): %v", good, err)
		}
	}
	for _, bad := range []string{"", "http://example.com/live/key", "rtmp:///live/key", "example.com/live/key", "rtmp://", "%zz", "file:///etc/passwd", "rtmpx://h/a/b", "rtmp://u:p@h/a/b", "rtmp://host", "rtmp://host/", "rtmp://host/app"} {
		if err := checkPublishURL(bad); err == nil {
			t.Errorf("checkPublishURL(%q) accepted", bad)
		}
	}
}

func TestCheckSpecs(t *testing.T) {
	ok := &Config{
		Sessions:     []SessionSpec{{"show", "demo"}, {"b-2", "testcard"}},
		Publish:      []PublishSpec{{"show", "rtmp://127.0.0.1/live/x"}},
		PublishAllow: []string{"rtmp://", "rtmps://cdn.example.com/"},
	}
	if err := checkSpecs(ok); err != nil {
		t.Fatalf("good specs: %v", err)
	}
	for _, c := range []struct {
		name string
		cfg  Config
		want string // in the message
		is   error
	}{
		{"duplicate -session", Config{Sessions: []SessionSpec{{"show", "demo"}, {"show", "testcard"}}}, "-session show", nil},
		{"bad -session name", Config{Sessions: []SessionSpec{{"a b", "demo"}}}, "-session", ErrBadSessionName},
		{"empty -session name", Config{Sessions: []SessionSpec{{"", "demo"}}}, "-session", ErrBadSessionName},
		{"65-character -session name", Config{Sessions: []SessionSpec{{strings.Repeat("x", 65), "demo"}}}, "-session", ErrBadSessionName},
		{"bad -publish name", Config{Publish: []PublishSpec{{"a/b", "rtmp://h/a/b"}}}, "-publish", ErrBadSessionName},
		{"bad -publish URL", Config{Publish: []PublishSpec{{"show", "http://u:secret@h/a/b?key=secret"}}}, "-publish show", nil},
		{"bad -publish-allow", Config{PublishAllow: []string{"ftp://h/"}}, "-publish-allow", nil},
	} {
		err := checkSpecs(&c.cfg)
		if err == nil {
			t.Errorf("%s: accepted", c.name)
			continue
		}
		if !strings.Contains(err.Error(), c.want) || (c.is != nil && !errors.Is(err, c.is)) {
			t.Errorf("%s: %v, want an error naming %q (%v)", c.name, err, c.want, c.is)
		}
		if strings.Contains(err.Error(), "secret") {
			t.Errorf("%s: the error shows a secret: %v", c.name, err)
		}
	}
	// New refuses them before it opens anything.
	if _, err := New(&Config{Sessions: []SessionSpec{{"x", "demo"}, {"x", "demo"}}}, slog.New(slog.DiscardHandler)); err == nil {
		t.Error("New accepted a duplicate -session")
	}
}

// frameSink keeps the frames a session hands it, from its first keyframe.
type frameSink struct {
	mu     sync.Mutex
	frames []*avc.Frame
	ended  bool
}

func (k *frameSink) WriteFrame(f *avc.Frame) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	if len(k.frames) == 0 && !f.Keyframe {
		return true
	}
	k.frames = append(k.frames, f)
	return false
}

func (k *frameSink) End(error) { k.mu.Lock(); k.ended = true; k.mu.Unlock() }

func (k *frameSink) count() int { k.mu.Lock(); defer k.mu.Unlock(); return len(k.frames) }

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out: %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Two viewers of one name share one session and its encoder; it ends with the last.
func TestRegistrySharedSession(t *testing.T) {
	a := newTestApp(t, nil)
	v1 := &viewer{a: a, transport: "rtmp", peer: "127.0.0.1:1", started: time.Now()}
	v2 := &viewer{a: a, transport: "webrtc", peer: "127.0.0.1:2", started: time.Now()}
	if err := v1.open("show", "demo"); err != nil {
		t.Fatal(err)
	}
	// The second viewer asks for another scene: it joins the session as it is.
	if err := v2.open("show", "testcard"); err != nil {
		t.Fatal(err)
	}
	l := v1.session()
	if l == nil || v2.session() != l || !l.shared() || l.id != "show" || l.sess.SceneName() != "demo" {
		t.Fatalf("two viewers of show: sessions %p and %p", v1.session(), v2.session())
	}
	if n := len(a.reg.list()); n != 1 {
		t.Fatalf("%d sessions for two viewers of one name", n)
	}
	st := a.sessions()
	if len(st) != 1 || st[0].ID != "show" || st[0].ViewerCount != 2 || !st[0].Shared || st[0].Persistent {
		t.Fatalf("status: %+v", st)
	}

	// Both sinks get the frames of one encoder (real x264), from a keyframe with its
	// configuration record.
	k1, k2 := &frameSink{}, &frameSink{}
	if err := v1.attach(k1); err != nil {
		t.Fatal(err)
	}
	if err := v2.attach(k2); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "both sinks got 10 frames", func() bool { return k1.count() >= 10 && k2.count() >= 10 })
	k1.mu.Lock()
	first := k1.frames[0]
	k1.mu.Unlock()
	if !first.Keyframe || len(first.Config) < 7 || first.Config[0] != 1 {
		t.Fatalf("first frame: keyframe %v, Config %x; want an AVCDecoderConfigurationRecord", first.Keyframe, first.Config)
	}
	if s := l.sess.Stats(); s.Sinks != 2 || s.Encoder != "libx264" {
		t.Fatalf("session stats: %d sinks, encoder %q", s.Sinks, s.Encoder)
	}

	v1.end()
	if a.reg.get("show") != l || l.sess.Sinks() != 1 {
		t.Fatalf("after one of two viewers left: session %p, %d sinks", a.reg.get("show"), l.sess.Sinks())
	}
	n := k2.count()
	waitUntil(t, "the other viewer still gets frames", func() bool { return k2.count() >= n+5 })
	v2.end()
	if a.reg.get("show") != nil || len(a.reg.list()) != 0 {
		t.Fatal("the session outlived its last viewer")
	}
	if _, err := l.sess.Attach(&frameSink{}); !errors.Is(err, session.ErrClosed) {
		t.Fatalf("the ended session takes sinks: %v", err)
	}
	// The name can be used again: a new session.
	j := joinTest(t, a, "show", "testcard")
	if j.l == l || j.l.sess.SceneName() != "testcard" {
		t.Fatalf("joining show again: the old session, or scene %q", j.l.sess.SceneName())
	}
}

// Private viewers each get their own session.
func TestRegistryPrivateSessions(t *testing.T) {
	a := newTestApp(t, nil)
	p1 := joinTest(t, a, "", "demo")
	p2 := joinTest(t, a, "", "demo")
	if p1.l == p2.l || p1.l.shared() || p2.l.shared() || !strings.HasPrefix(p1.l.id, "p-") || p1.l.id == p2.l.id {
		t.Fatalf("private sessions %q and %q", p1.l.id, p2.l.id)
	}
	p1.v.end()
	if len(a.reg.list()) != 1 || a.reg.list()[0] != p2.l {
		t.Fatalf("after a private viewer left: %d sessions", len(a.reg.list()))
	}
	v := &viewer{a: a, transport: "rtmp", started: time.Now()}
	if err := v.open("", "nope"); !errors.Is(err, errUnknownScene) {
		t.Fatalf("unknown scene: %v", err)
	}
	if err := v.open("a b", "demo"); !errors.Is(err, ErrBadSessionName) {
		t.Fatalf("bad name: %v", err)
	}
	if len(a.reg.list()) != 1 {
		t.Fatalf("refused viewers left %d sessions", len(a.reg.list()))
	}
}

// A -session session exists before any viewer and outlives its last one.
func TestRegistryPersistentSession(t *testing.T) {
	a := newTestApp(t, func(c *Config) { c.Sessions = []SessionSpec{{"keep", "testcard"}} })
	l := a.reg.get("keep")
	if l == nil || !l.persistent || l.sess.SceneName() != "testcard" {
		t.Fatalf("-session keep=testcard: %+v", l)
	}
	j := joinTest(t, a, "keep", "demo")
	if j.l != l {
		t.Fatal("a viewer of keep got another session")
	}
	k := &frameSink{}
	if err := j.v.attach(k); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "frames", func() bool { return k.count() >= 3 })
	j.v.end()
	if a.reg.get("keep") != l || l.sess.Err() != nil {
		t.Fatal("the -session session ended with its last viewer")
	}
	if _, err := l.sess.Attach(&frameSink{}); err != nil {
		t.Fatalf("the -session session takes no sinks after its last viewer left: %v", err)
	}
	if st := a.sessions(); len(st) != 1 || !st[0].Persistent || st[0].ViewerCount != 0 {
		t.Fatalf("status: %+v", st)
	}
}

// Viewers joining one new name at once make exactly one session.
func TestRegistryConcurrentJoin(t *testing.T) {
	a := newTestApp(t, nil)
	const n = 8
	viewers := make([]*viewer, n)
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range viewers {
		viewers[i] = &viewer{a: a, transport: "rtmp", peer: "127.0.0.1:" + string(rune('1'+i)), started: time.Now()}
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = viewers[i].open("crowd", "demo")
		}()
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("viewer %d: %v", i, err)
		}
	}
	l := viewers[0].session()
	for i, v := range viewers {
		if v.session() != l {
			t.Fatalf("viewer %d got another session", i)
		}
	}
	if got := len(a.reg.list()); got != 1 {
		t.Fatalf("%d sessions made for %d concurrent viewers of one name", got, n)
	}
	if c := l.sinkCount(); c != n {
		t.Fatalf("the session has %d viewers, want %d", c, n)
	}
	// Leaving at once ends it exactly once.
	for _, v := range viewers {
		wg.Add(1)
		go func() { defer wg.Done(); v.end() }()
	}
	wg.Wait()
	if len(a.reg.list()) != 0 || a.reg.get("crowd") != nil {
		t.Fatal("the session outlived its viewers")
	}
	// And the next viewer gets a fresh one.
	if j := joinTest(t, a, "crowd", "demo"); j.l == l {
		t.Fatal("a viewer joined the ended session")
	}
}

// Viewers joining a name while its last viewer leaves all end up in one open session:
// the old one if they came first, else a new one.
func TestRegistryJoinWhileTheLastLeaves(t *testing.T) {
	a := newTestApp(t, nil)
	for round := range 5 {
		first := &viewer{a: a, transport: "rtmp", started: time.Now()}
		if err := first.open("churn", "demo"); err != nil {
			t.Fatal(err)
		}
		const n = 4
		joiners := make([]*viewer, n)
		errs := make([]error, n)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range joiners {
			joiners[i] = &viewer{a: a, transport: "webrtc", started: time.Now()}
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				errs[i] = joiners[i].open("churn", "demo")
			}()
		}
		wg.Add(1)
		go func() { defer wg.Done(); <-start; first.end() }()
		close(start)
		wg.Wait()
		l := joiners[0].session()
		for i, j := range joiners {
			if errs[i] != nil {
				t.Fatalf("round %d, joiner %d: %v", round, i, errs[i])
			}
			if j.session() != l {
				t.Fatalf("round %d: joiners in different sessions", round)
			}
		}
		if a.reg.get("churn") != l || l.sinkCount() != n {
			t.Fatalf("round %d: the registry holds %p (joiners in %p, %d viewers)", round, a.reg.get("churn"), l, l.sinkCount())
		}
		k := &frameSink{}
		if err := joiners[0].attach(k); err != nil {
			t.Fatalf("round %d: the joiners' session takes no sink: %v", round, err)
		}
		waitUntil(t, "frames", func() bool { return k.count() >= 1 })
		for _, j := range joiners {
			j.end()
		}
		if len(a.reg.list()) != 0 {
			t.Fatalf("round %d: %d sessions left", round, len(a.reg.list()))
		}
	}
}

// A private session is never found by name: ?session=p-1 makes (or joins) the shared
// session p-1, and a connection naming p-1 in its tcUrl steers nothing private.
func TestPrivateSessionsAreNotFoundByName(t *testing.T) {
	a := newTestApp(t, nil)
	priv := &viewer{a: a, transport: "rtmp", peer: "owner", started: time.Now(), control: true}
	if err := priv.open("", "demo"); err != nil {
		t.Fatal(err)
	}
	defer priv.end()
	pl := priv.session()
	if pl.shared() || pl.id != "p-1" {
		t.Fatalf("private session %q shared=%v, want p-1", pl.id, pl.shared())
	}
	if a.reg.get(pl.id) != nil {
		t.Fatal("the private session is found by its id as a name")
	}
	other := &viewer{a: a, transport: "rtmp", peer: "intruder", started: time.Now(), control: true}
	if err := other.open(pl.id, "testcard"); err != nil {
		t.Fatal(err)
	}
	defer other.end()
	if l := other.session(); l == pl || !l.shared() || l.sess.SceneName() != "testcard" {
		t.Fatalf("joining %q reached the private session (same %v, shared %v, scene %s)", pl.id, l == pl, l.shared(), l.sess.SceneName())
	}
	if n := len(a.reg.list()); n != 2 {
		t.Fatalf("%d sessions, want the private one and the shared p-1", n)
	}
}
