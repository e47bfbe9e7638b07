// Package metrics holds Rendercast's Prometheus metrics: connections, streams, frames
// rendered and encoded, latency histograms and calls by name and result. (Frames sent and
// dropped and bytes out come from the RTMP server's statistics; the streamer registers them.) One Metrics value per process (or per test), registered on its own registry.
package metrics

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics is the set of collectors. Its methods are safe for concurrent use.
type Metrics struct {
	Registry *prometheus.Registry

	Connections        prometheus.Gauge
	ConnectsTotal      *prometheus.CounterVec // result: accepted, refused
	Streams            prometheus.Gauge
	ViewersRefused     prometheus.Counter
	SessionsRefused    prometheus.Counter
	FramesRendered     prometheus.Counter
	FramesEncoded      prometheus.Counter
	StreamFailures     *prometheus.CounterVec // reason
	RenderSeconds      prometheus.Histogram
	EncodeSeconds      prometheus.Histogram
	CallToFrameSeconds prometheus.Histogram
	Calls              *prometheus.CounterVec // name, result
}

// latencyBuckets span 0.5 ms to ~4 s.
var latencyBuckets = prometheus.ExponentialBuckets(0.0005, 2, 14)

// New makes and registers the metrics (plus Go and process collectors).
func New() *Metrics {
	m := &Metrics{
		Registry:           prometheus.NewRegistry(),
		Connections:        prometheus.NewGauge(prometheus.GaugeOpts{Name: "rendercast_connections", Help: "Open RTMP connections."}),
		ConnectsTotal:      prometheus.NewCounterVec(prometheus.CounterOpts{Name: "rendercast_connects_total", Help: "Connect attempts by result."}, []string{"result"}),
		Streams:            prometheus.NewGauge(prometheus.GaugeOpts{Name: "rendercast_streams_playing", Help: "Streams playing."}),
		ViewersRefused:     prometheus.NewCounter(prometheus.CounterOpts{Name: "rendercast_viewers_refused_total", Help: "Plays and WebRTC sessions refused because -max-viewers were playing."}),
		SessionsRefused:    prometheus.NewCounter(prometheus.CounterOpts{Name: "rendercast_sessions_refused_total", Help: "Viewers refused because -max-sessions sessions were open and they asked for a new one."}),
		FramesRendered:     prometheus.NewCounter(prometheus.CounterOpts{Name: "rendercast_frames_rendered_total", Help: "Frames rendered."}),
		FramesEncoded:      prometheus.NewCounter(prometheus.CounterOpts{Name: "rendercast_frames_encoded_total", Help: "Frames encoded."}),
		StreamFailures:     prometheus.NewCounterVec(prometheus.CounterOpts{Name: "rendercast_stream_failures_total", Help: "Streams ended by an error, by reason."}, []string{"reason"}),
		RenderSeconds:      prometheus.NewHistogram(prometheus.HistogramOpts{Name: "rendercast_render_seconds", Help: "Time to render and read back one frame.", Buckets: latencyBuckets}),
		EncodeSeconds:      prometheus.NewHistogram(prometheus.HistogramOpts{Name: "rendercast_encode_seconds", Help: "Time to encode one frame.", Buckets: latencyBuckets}),
		CallToFrameSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "rendercast_call_to_frame_seconds", Help: "Delay from a call that changed the view to the first encoded frame showing it.", Buckets: latencyBuckets}),
		Calls:              prometheus.NewCounterVec(prometheus.CounterOpts{Name: "rendercast_calls_total", Help: "Remote calls by name and result."}, []string{"name", "result"}),
	}
	m.Registry.MustRegister(
		m.Connections, m.ConnectsTotal, m.Streams, m.ViewersRefused, m.SessionsRefused, m.FramesRendered, m.FramesEncoded,
		m.StreamFailures, m.RenderSeconds, m.EncodeSeconds, m.CallToFrameSeconds, m.Calls,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{})
}

// Rendered records one rendered frame (session.Observer).
func (m *Metrics) Rendered(d time.Duration) {
	m.FramesRendered.Inc()
	m.RenderSeconds.Observe(d.Seconds())
}

// Encoded records one encoded frame (session.Observer).
func (m *Metrics) Encoded(d time.Duration, _ int, _ bool) {
	m.FramesEncoded.Inc()
	m.EncodeSeconds.Observe(d.Seconds())
}

// CallToFrame records a call-to-frame delay (session.Observer).
func (m *Metrics) CallToFrame(d time.Duration) { m.CallToFrameSeconds.Observe(d.Seconds()) }

// Call counts a remote call by name and result ("ok" or "error"). Unknown names are
// counted under "other" so clients cannot grow the label set.
func (m *Metrics) Call(name string, known, ok bool) {
	if !known {
		name = "other"
	}
	result := "ok"
	if !ok {
		result = "error"
	}
	m.Calls.WithLabelValues(name, result).Inc()
}
