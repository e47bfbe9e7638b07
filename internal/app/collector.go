package app

import (
	"slices"

	"github.com/prometheus/client_golang/prometheus"
)

// collector exports the transports' and sessions' figures on each scrape, reading every
// connection, WebRTC session and session once.
type collector struct{ a *App }

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(name, help, labels, nil)
}

var (
	descRTMPFramesSent    = desc("rendercast_rtmp_frames_sent_total", "Video frames written to RTMP clients.")
	descRTMPFramesDropped = desc("rendercast_rtmp_frames_dropped_total", "Video frames dropped because a client's send queue was full.")
	descRTMPBytesOut      = desc("rendercast_rtmp_bytes_out_total", "Bytes written to RTMP clients.")
	descRTMPBytesIn       = desc("rendercast_rtmp_bytes_in_total", "Bytes read from RTMP clients.")
	descRTMPFailures      = desc("rendercast_rtmp_stream_failures_total", "Streams the RTMP server stopped because their render or frame handler failed or panicked, or their session stopped.")
	descRTMPPanics        = desc("rendercast_rtmp_handler_panics_total", "Panics recovered in RTMP handlers (the stream or call fails, the server lives on).")
	descRTMPCallsLimited  = desc("rendercast_rtmp_calls_limited_total", "RTMP commands refused by the per-connection rate limit.")
	descWebSessions       = desc("rendercast_webrtc_sessions", "Open WebRTC (WHEP) sessions.")
	descWebStarted        = desc("rendercast_webrtc_sessions_started_total", "WebRTC sessions answered.")
	descWebRefused        = desc("rendercast_webrtc_requests_refused_total", "WHEP requests refused (token, scene, offer, capacity).")
	descWebFramesSent     = desc("rendercast_webrtc_frames_sent_total", "Video frames sent to WebRTC clients.")
	descWebPacketsSent    = desc("rendercast_webrtc_packets_sent_total", "RTP packets sent to WebRTC clients.")
	descWebBytesOut       = desc("rendercast_webrtc_payload_bytes_out_total", "RTP payload bytes sent to WebRTC clients.")
	descWebNACKs          = desc("rendercast_webrtc_nacks_total", "RTP packets WebRTC receivers asked again for (NACK).")
	descWebRetransmitted  = desc("rendercast_webrtc_retransmitted_packets_total", "RTP packets sent again to WebRTC receivers (RTX or plain resends).")
	descWebPLIIgnored     = desc("rendercast_webrtc_pli_ignored_total", "WebRTC keyframe requests (PLI/FIR) not passed on: within a round trip of the last one.")
	descWebCallsLimited   = desc("rendercast_webrtc_calls_limited_total", "Data-channel calls refused by the per-viewer rate limit.")
	descSessions          = desc("rendercast_sessions", "Sessions open (each one render and one encode), by kind.", "kind")
	descSessionViewers    = desc("rendercast_session_viewers", "Viewers attached to sessions, by session kind.", "kind")
	descForcedKeyframes   = desc("rendercast_forced_keyframes_total", "Keyframes forced for joining viewers and viewers that dropped frames.")
	descRateDecreases     = desc("rendercast_rate_decreases_total", "Bitrate steps down taken by per-viewer rate control (a viewer's link congested).")
	descRateIncreases     = desc("rendercast_rate_increases_total", "Bitrate steps up taken by per-viewer rate control (probing a viewer's link).")
	descCongestedSkips    = desc("rendercast_congested_skips_total", "Frame ticks not encoded because a private viewer's send queue was congested.")
	descViewerBitrate     = desc("rendercast_viewer_bitrate_bps", "Encoder bitrate of private sessions under rate control: lowest, median and highest.", "stat")
	descPublish           = desc("rendercast_publish_targets", "Publishing targets, by state.", "state")
	descPublishFrames     = desc("rendercast_publish_frames_sent_total", "Video frames pushed to publishing targets.")
	descPublishFailures   = desc("rendercast_publish_failures_total", "Failed connections or writes to publishing targets.")
)

// Describe implements prometheus.Collector.
func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descRTMPFramesSent, descRTMPFramesDropped, descRTMPBytesOut, descRTMPBytesIn,
		descRTMPFailures, descRTMPPanics, descRTMPCallsLimited, descWebSessions, descWebStarted, descWebRefused,
		descWebFramesSent, descWebPacketsSent, descWebBytesOut, descWebCallsLimited,
		descWebNACKs, descWebRetransmitted, descWebPLIIgnored, descSessions, descSessionViewers,
		descForcedKeyframes, descRateDecreases, descRateIncreases, descCongestedSkips, descViewerBitrate,
		descPublish, descPublishFrames, descPublishFailures} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *collector) Collect(ch chan<- prometheus.Metric) {
	a := c.a
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	rs := a.srv.Stats()
	counter(descRTMPFramesSent, rs.FramesSent)
	counter(descRTMPFramesDropped, rs.FramesDropped)
	counter(descRTMPBytesOut, rs.BytesOut)
	counter(descRTMPBytesIn, rs.BytesIn)
	counter(descRTMPFailures, rs.StreamsFailed)
	counter(descRTMPPanics, rs.HandlerPanics)
	counter(descRTMPCallsLimited, rs.CallsLimited)
	ws := a.web.Stats()
	gauge(descWebSessions, float64(ws.Sessions))
	counter(descWebStarted, ws.SessionsStarted)
	counter(descWebRefused, ws.RequestsRefused)
	counter(descWebFramesSent, ws.FramesSent)
	counter(descWebPacketsSent, ws.PacketsSent)
	counter(descWebBytesOut, ws.PayloadBytesOut)
	counter(descWebCallsLimited, ws.CallsLimited)
	counter(descWebNACKs, ws.NACKs)
	counter(descWebRetransmitted, ws.RetransmittedPackets)
	counter(descWebPLIIgnored, ws.PLIIgnored)

	sessions := map[string]int{"shared": 0, "private": 0}
	viewers := map[string]int{"shared": 0, "private": 0}
	states := map[string]int{}
	ended := a.reg.endedTotals()
	forced, pubFrames, pubFailures := ended.forced, ended.pubFrames, ended.pubFailures
	decreases, increases, skips := ended.rateDecreases, ended.rateIncreases, ended.congestedSkips
	var rates []float64
	for _, l := range a.reg.list() {
		kind := "private"
		if l.shared() {
			kind = "shared"
		}
		sessions[kind]++
		l.mu.Lock()
		viewers[kind] += len(l.viewers)
		pubs := make([]*publisher, 0, len(l.publishers))
		for _, p := range l.publishers {
			pubs = append(pubs, p)
		}
		l.mu.Unlock()
		st := l.sess.Stats()
		forced += st.ForcedKeyframes
		decreases, increases, skips = decreases+st.RateDecreases, increases+st.RateIncreases, skips+st.CongestedSkips
		if st.RateControl {
			rates = append(rates, float64(st.BitrateBps))
		}
		for _, p := range pubs {
			st := p.status()
			states[string(st.State)]++
			pubFrames += st.FramesSent
			pubFailures += st.Failures
		}
	}
	for kind, n := range sessions {
		gauge(descSessions, float64(n), kind)
		gauge(descSessionViewers, float64(viewers[kind]), kind)
	}
	counter(descForcedKeyframes, forced)
	counter(descRateDecreases, decreases)
	counter(descRateIncreases, increases)
	counter(descCongestedSkips, skips)
	if len(rates) > 0 {
		slices.Sort(rates)
		gauge(descViewerBitrate, rates[0], "min")
		gauge(descViewerBitrate, rates[len(rates)/2], "median")
		gauge(descViewerBitrate, rates[len(rates)-1], "max")
	}
	for state, n := range states {
		gauge(descPublish, float64(n), state)
	}
	counter(descPublishFrames, pubFrames)
	counter(descPublishFailures, pubFailures)
}
