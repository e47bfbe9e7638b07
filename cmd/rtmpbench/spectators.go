package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Servers of the spectators suite.
const (
	serverRendercast = "rendercast"
	serverNginx      = "nginx-rtmp"
)

// SpectatorsResult is the fan-out capacity of one shared session: N lightweight players
// (frames counted, not decoded) watching one stream, served by Rendercast itself and, in
// the same run on the same machine, by nginx-rtmp fed with that same stream by an ffmpeg
// relay (-c copy). The most players that all keep >= 29 fps is searched for each server,
// their steps interleaved.
type SpectatorsResult struct {
	// Size, FPS and BitrateKbps describe the stream.
	Size        string  `json:"size"`
	FPS         float64 `json:"fps"`
	BitrateKbps int     `json:"bitrate_kbps"`
	// Streamer is the streamer's command line, Relay the ffmpeg relay's, Nginx the nginx
	// configuration.
	Streamer string `json:"streamer"`
	Relay    string `json:"relay"`
	Nginx    string `json:"nginx_config"`
	// URL is what the Rendercast players play, NginxURL what the nginx players play.
	URL      string `json:"url"`
	NginxURL string `json:"nginx_url"`
	// Shared reports that the streamer put every player into one session (its status.json
	// lists the session by name, with the players as viewers). Without it (a streamer
	// without -session) every player had its own session and encoder: the harness ran, but
	// the Rendercast figures are not the fan-out of one session.
	Shared     bool   `json:"shared"`
	SharedNote string `json:"shared_note,omitempty"`
	// WarmupSeconds and WindowSeconds are the steps' warm-up and measuring window.
	WarmupSeconds float64 `json:"warmup_s"`
	WindowSeconds float64 `json:"window_s"`
	// Baseline is the machine with the stream running (streamer, relay, nginx) and no
	// player.
	Baseline SpectatorStep `json:"baseline"`
	// Servers are Rendercast's and nginx-rtmp's searches.
	Servers []SpectatorServer `json:"servers"`
}

// SpectatorServer is one server's search for the most spectators.
type SpectatorServer struct {
	Name  string          `json:"name"`
	Steps []SpectatorStep `json:"steps"`
	// MaxSpectators is the highest count at which every player kept >= 29 fps; Limit the
	// most the search would try; FirstFail the lowest count that failed (0: none).
	MaxSpectators int `json:"max_spectators"`
	Limit         int `json:"limit"`
	FirstFail     int `json:"first_fail,omitempty"`
	// CPUPerSpectatorPct is the slope of the server's CPU (% of one core) against the
	// number of players, fitted over the baseline and the passing steps;
	// HarnessPerSpectatorPct the same for the harness (the players). 0 when fewer than two
	// points.
	CPUPerSpectatorPct     float64 `json:"cpu_per_spectator_pct"`
	HarnessPerSpectatorPct float64 `json:"harness_per_spectator_pct"`
}

// SpectatorStep is one measurement with N players of one server.
type SpectatorStep struct {
	Spectators int `json:"spectators"`
	// Passing counts the players at >= 29 fps over the window; Failed those that could not
	// play or whose connection ended (they count as failing).
	Passing int `json:"passing"`
	Failed  int `json:"failed,omitempty"`
	// MinFPS and MedianFPS are over the players (coded frames received in the window / the
	// window).
	MinFPS    float64   `json:"min_fps"`
	MedianFPS float64   `json:"median_fps"`
	PlayerFPS []float64 `json:"player_fps,omitempty"`
	// ServerCores is the serving process's CPU in the window (1 = one core busy): the
	// streamer for Rendercast, nginx for nginx-rtmp; ServerRSSMiB its resident memory.
	ServerCores  float64 `json:"server_cores"`
	ServerRSSMiB float64 `json:"server_rss_mib"`
	// StreamerCores (the source, which renders and encodes in both cases), NginxCores,
	// RelayCores (ffmpeg pulling from the streamer and pushing to nginx) and HarnessCores
	// (this program: the players) in the same window.
	StreamerCores float64 `json:"streamer_cores"`
	NginxCores    float64 `json:"nginx_cores"`
	RelayCores    float64 `json:"relay_cores"`
	HarnessCores  float64 `json:"harness_cores"`
	// MachineCores is the whole machine's busy CPU in the window (these processes and any
	// other work on it); the machine has Results.Machine.CPUs cores.
	MachineCores float64 `json:"machine_cores"`
	// SessionViewers is the viewer count of the named session in the streamer's
	// status.json (the players and the relay when they share it; -1: no such session);
	// SourceFPS the session's encoded frames per second in the window (0: not reported).
	SessionViewers int     `json:"session_viewers"`
	SourceFPS      float64 `json:"source_fps,omitempty"`
	// RenderMeanMS and EncodeMeanMS are the streamer's mean render and encode times in
	// the window, Dropped the frames it dropped for players whose send queue was full (its
	// metrics; the relay is one of its players).
	RenderMeanMS float64 `json:"render_mean_ms,omitempty"`
	EncodeMeanMS float64 `json:"encode_mean_ms,omitempty"`
	Dropped      float64 `json:"dropped"`
	Pass         bool    `json:"pass"`
	// Retry marks the second try of a count whose first try failed (the count passes when
	// this one does): one hiccup of a machine shared with other work must not end a search.
	Retry bool `json:"retry,omitempty"`
}

// spectatorsConfig controls the suite.
type spectatorsConfig struct {
	// Streamer is the streamer binary; StreamerArgs its flags without -session.
	Streamer     string
	StreamerArgs []string
	// Scene and Session: players play live/Scene?session=Session; the streamer gets
	// -session Session=Scene when it has the flag.
	Scene, Session string
	// Start, Limit and Precision shape each server's search (see ramp).
	Start, Limit   int
	Precision      float64
	Warmup, Window time.Duration
}

// spectatorProcs are the processes whose CPU every step samples.
type spectatorProcs struct {
	streamer, nginx, relay, harness int
}

// spectatorSamples are one sample of each of them, and of the machine.
type spectatorSamples struct {
	streamer, nginx, relay, harness procSample
	machine                         machineSample
}

func (p spectatorProcs) sample() (spectatorSamples, error) {
	var s spectatorSamples
	var err error
	if s.machine, err = sampleMachine(); err != nil {
		return s, err
	}
	for _, x := range []struct {
		name string
		pid  int
		dst  *procSample
	}{{"streamer", p.streamer, &s.streamer}, {"nginx", p.nginx, &s.nginx}, {"relay", p.relay, &s.relay}, {"harness", p.harness, &s.harness}} {
		if x.pid == 0 {
			continue
		}
		if *x.dst, err = sampleProc(x.pid); err != nil {
			return s, fmt.Errorf("%s process %d: %w", x.name, x.pid, err)
		}
	}
	return s, nil
}

// spectatorRun is one run of the suite: the processes and how players are made.
type spectatorRun struct {
	cfg     spectatorsConfig
	procs   spectatorProcs
	http    string // the streamer's HTTP address
	session string // the session name in status.json ("" when not shared)
	dial    func(context.Context, string) (spectatorCounter, error)
	// alive reports an error when a process the measurement needs has ended.
	alive func() error
	log   *progress
}

// step measures n players of rawURL (n 0: the machine with no player). server says which
// process serves them.
func (r *spectatorRun) step(ctx context.Context, server, rawURL string, n int) (SpectatorStep, error) {
	st := SpectatorStep{Spectators: n, SessionViewers: -1}
	if err := r.alive(); err != nil {
		return st, err
	}
	players, err := dialSpectators(ctx, rawURL, n, r.dial)
	defer closeSpectators(players)
	if err != nil {
		r.log.printf("spectators %s %d: %v", server, n, err)
	}
	// nginx-rtmp sends a new player nothing before the next keyframe (up to a GOP): the
	// warm-up starts once every player has its first frame.
	waitFirstFrames(ctx, players, firstFrameTimeout)
	if sleep(ctx, r.cfg.Warmup); ctx.Err() != nil {
		return st, ctx.Err()
	}
	var sess0, sess1 sessionStatus
	if r.session != "" {
		sess0, _ = fetchSessionStatus(ctx, r.http, r.session)
	}
	var m0, m1 map[string]float64
	if r.http != "" {
		m0, _ = scrapeMetrics(ctx, r.http)
	}
	s0, err := r.procs.sample()
	if err != nil {
		return st, err
	}
	before, _ := countSpectators(players)
	w0 := time.Now()
	if sleep(ctx, r.cfg.Window); ctx.Err() != nil {
		return st, ctx.Err()
	}
	after, up := countSpectators(players)
	window := time.Since(w0)
	s1, err := r.procs.sample()
	if err != nil {
		if aerr := r.alive(); aerr != nil {
			return st, aerr // says why (the relay's last words)
		}
		return st, err
	}
	if r.http != "" {
		if m1, _ = scrapeMetrics(ctx, r.http); m0 != nil && m1 != nil {
			st.RenderMeanMS = histMeanMS(m0, m1, "rendercast_render_seconds")
			st.EncodeMeanMS = histMeanMS(m0, m1, "rendercast_encode_seconds")
			st.Dropped = m1["rendercast_rtmp_frames_dropped_total"] - m0["rendercast_rtmp_frames_dropped_total"]
		}
	}
	if r.session != "" {
		if sess1, err = fetchSessionStatus(ctx, r.http, r.session); err == nil && sess1.Found {
			st.SessionViewers = sess1.Viewers
			if sess0.Found && sess1.Frames > sess0.Frames {
				st.SourceFPS = (sess1.Frames - sess0.Frames) / window.Seconds()
			}
		}
	}
	fps, failed := spectatorRates(before, after, up, window)
	f := summarizeFPS(fps)
	st.Passing, st.Failed, st.MinFPS, st.MedianFPS, st.PlayerFPS = f.Passing, failed, f.Min, f.Median, fps
	st.StreamerCores = cpuCores(s0.streamer, s1.streamer)
	st.NginxCores = cpuCores(s0.nginx, s1.nginx)
	st.RelayCores = cpuCores(s0.relay, s1.relay)
	st.HarnessCores = cpuCores(s0.harness, s1.harness)
	st.MachineCores = machineCores(s0.machine, s1.machine)
	st.ServerCores, st.ServerRSSMiB = st.StreamerCores, mib(s1.streamer.RSS)
	if server == serverNginx {
		st.ServerCores, st.ServerRSSMiB = st.NginxCores, mib(s1.nginx.RSS)
	}
	st.Pass = n > 0 && failed == 0 && f.Passing == n
	return st, nil
}

// firstFrameTimeout bounds a step's wait for its players' first frames.
const firstFrameTimeout = 10 * time.Second

// waitFirstFrames waits until every player that is up has received a frame, at most
// timeout.
func waitFirstFrames(ctx context.Context, players []spectatorCounter, timeout time.Duration) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for ctx.Err() == nil {
		frames, up := countSpectators(players)
		waiting := false
		for i := range frames {
			waiting = waiting || up[i] && frames[i] == 0
		}
		if !waiting {
			return
		}
		sleep(ctx, 20*time.Millisecond)
	}
}

// searchSpectators runs one ramp per server, a step of each in turn, until every search is
// over, and fills the servers' figures. measure runs one step; a failing count is tried a
// second time at once, and passes if that try does.
func searchSpectators(ctx context.Context, servers []*SpectatorServer, ramps []*ramp, baseline SpectatorStep, measure func(ctx context.Context, server string, n int) (SpectatorStep, error)) error {
	// The figures of the steps measured, also when a step ends the search with an error.
	defer func() {
		for i, srv := range servers {
			srv.MaxSpectators, srv.FirstFail, srv.Limit = ramps[i].best(), ramps[i].firstFail, ramps[i].limit
			srv.CPUPerSpectatorPct, srv.HarnessPerSpectatorPct = spectatorSlopes(baseline, srv)
		}
	}()
	for {
		progressed := false
		for i, srv := range servers {
			n, ok := ramps[i].next()
			if !ok {
				continue
			}
			progressed = true
			var st SpectatorStep
			for try := range 2 {
				var err error
				if st, err = measure(ctx, srv.Name, n); err != nil {
					return fmt.Errorf("%s, %d spectators: %w", srv.Name, n, err)
				}
				st.Retry = try > 0
				srv.Steps = append(srv.Steps, st)
				if st.Pass {
					break
				}
			}
			ramps[i].record(n, st.Pass)
		}
		if !progressed {
			return nil
		}
	}
}

// spectatorSlopes fits the server's and the harness's CPU (% of one core) against the
// number of players over the baseline (as 0 players of this server) and the passing steps.
func spectatorSlopes(baseline SpectatorStep, srv *SpectatorServer) (serverPct, harnessPct float64) {
	base := baseline.StreamerCores
	if srv.Name == serverNginx {
		base = baseline.NginxCores
	}
	x, ys, yh := []float64{0}, []float64{100 * base}, []float64{100 * baseline.HarnessCores}
	for _, st := range srv.Steps {
		if st.Pass {
			x, ys, yh = append(x, float64(st.Spectators)), append(ys, 100*st.ServerCores), append(yh, 100*st.HarnessCores)
		}
	}
	serverPct, _ = linearSlope(x, ys)
	harnessPct, _ = linearSlope(x, yh)
	return serverPct, harnessPct
}

// measureSpectators runs the suite: the streamer with the named session, nginx, the relay
// from one to the other, the baseline, then both searches.
func measureSpectators(ctx context.Context, cfg spectatorsConfig, log *progress) (SpectatorsResult, error) {
	res := SpectatorsResult{WarmupSeconds: cfg.Warmup.Seconds(), WindowSeconds: cfg.Window.Seconds()}
	args := cfg.StreamerArgs
	hasSessions := streamerHasSessions(cfg.Streamer)
	if hasSessions {
		args = append(append([]string(nil), args...), "-session", cfg.Session+"="+cfg.Scene)
	} else {
		res.SharedNote = "the streamer has no -session flag: every player had its own session and encoder"
		log.printf("spectators: %s", res.SharedNote)
	}
	sp, err := startStreamer(ctx, cfg.Streamer, args)
	if err != nil {
		return res, err
	}
	defer sp.stop()
	res.Streamer = cfg.Streamer + " " + strings.Join(sp.args, " ")
	ng, err := startNginxWith(ctx, cfg.Limit+64)
	if err != nil {
		return res, err
	}
	defer ng.stop()
	res.Nginx = nginxConfig{Dir: "<tmp>", Port: ng.port, Module: debianRTMPModule, App: "live", Connections: cfg.Limit + 64}.render()
	res.URL = sp.url("live/" + cfg.Scene + "?session=" + cfg.Session)
	res.NginxURL = "rtmp://" + ng.addr() + "/live/" + cfg.Session
	relay, err := startRelay(res.URL, res.NginxURL)
	if err != nil {
		return res, err
	}
	defer relay.stop()
	res.Relay = "ffmpeg " + shellQuote(relayArgs(res.URL, res.NginxURL))

	run := &spectatorRun{
		cfg:   cfg,
		procs: spectatorProcs{streamer: sp.pid(), nginx: ng.cmd.Process.Pid, relay: relay.cmd.Process.Pid, harness: selfPID},
		http:  sp.httpAddr,
		dial: func(ctx context.Context, u string) (spectatorCounter, error) {
			return dialSpectator(ctx, u)
		},
		log: log,
	}
	run.alive = func() error {
		switch {
		case !sp.alive():
			return fmt.Errorf("the streamer exited:\n%s", sp.logTail())
		case !relay.alive():
			return fmt.Errorf("the ffmpeg relay exited: %s", relay.stderr.String())
		}
		return nil
	}
	log.printf("spectators: relaying %s to %s", res.URL, res.NginxURL)
	if err := waitForFrames(ctx, res.NginxURL, 30, 30*time.Second, run.alive); err != nil {
		return res, fmt.Errorf("the stream through nginx: %w", err)
	}
	if hasSessions {
		s, err := fetchSessionStatus(ctx, sp.httpAddr, cfg.Session)
		switch {
		case err != nil:
			res.SharedNote = "status.json: " + err.Error()
		case !s.Found || !s.Shared:
			res.SharedNote = fmt.Sprintf("status.json lists no shared session %q", cfg.Session)
		default:
			res.Shared, run.session = true, cfg.Session
		}
	}

	log.printf("spectators: baseline (stream running, no player) for %v", cfg.Window)
	if res.Baseline, err = run.step(ctx, serverRendercast, res.URL, 0); err != nil {
		return res, err
	}
	res.Baseline.Pass = true
	servers := []*SpectatorServer{{Name: serverRendercast}, {Name: serverNginx}}
	ramps := []*ramp{newRamp(cfg.Start, cfg.Limit, cfg.Precision), newRamp(cfg.Start, cfg.Limit, cfg.Precision)}
	urls := map[string]string{serverRendercast: res.URL, serverNginx: res.NginxURL}
	err = searchSpectators(ctx, servers, ramps, res.Baseline, func(ctx context.Context, server string, n int) (SpectatorStep, error) {
		st, err := run.step(ctx, server, urls[server], n)
		if err == nil {
			log.printf("spectators %-10s %4d: %d passing, min %.1f fps, median %.1f; server %.2f cores, streamer %.2f, relay %.2f, harness %.2f; session viewers %d: %s",
				server, n, st.Passing, st.MinFPS, st.MedianFPS, st.ServerCores, st.StreamerCores, st.RelayCores, st.HarnessCores, st.SessionViewers, passWord(st.Pass))
		}
		sleep(ctx, time.Second) // the closed players' connections wind down
		return st, err
	})
	for _, s := range servers {
		res.Servers = append(res.Servers, *s)
	}
	return res, err
}

// waitForFrames plays rawURL until frames coded frames arrived, retrying the dial (nginx
// accepts players before the relay publishes), and fails after timeout or when alive
// reports an error.
func waitForFrames(ctx context.Context, rawURL string, frames int, timeout time.Duration, alive func() error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last error
	for ctx.Err() == nil {
		if err := alive(); err != nil {
			return err
		}
		s, err := dialSpectator(ctx, rawURL)
		if err != nil {
			last = err
			sleep(ctx, 200*time.Millisecond)
			continue
		}
		for ctx.Err() == nil {
			n, up := s.count()
			if n >= int64(frames) {
				s.close()
				return nil
			}
			if !up {
				break
			}
			sleep(ctx, 100*time.Millisecond)
		}
		s.close()
		last = errors.New("the connection ended")
	}
	if last == nil {
		last = ctx.Err()
	}
	return fmt.Errorf("no %d frames within %v: %w", frames, timeout, last)
}
