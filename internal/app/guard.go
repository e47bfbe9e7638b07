package app

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rendercast/rendercast/internal/access"
)

// setupGuards makes the per-address budgets of both transports (rtmpsrv.Config.Guard,
// whep.Config.Guard): one implementation, two sets of budgets.
func (a *App) setupGuards() error {
	for _, g := range []struct {
		transport string
		budgets   access.Budgets
		dst       **access.Guard
	}{{"rtmp", a.cfg.RTMPBudgets, &a.rtmpGuard}, {"webrtc", a.cfg.WebRTCBudgets, &a.webGuard}} {
		guard, err := access.NewGuard(access.GuardConfig{Transport: g.transport, Budgets: g.budgets,
			Trusted: a.cfg.TrustedNets, Logger: a.log.With("part", g.transport)})
		if err != nil {
			return fmt.Errorf("%s budgets: %w", g.transport, err)
		}
		*g.dst = guard
	}
	return nil
}

var (
	descRefused = desc("rendercast_refused_total",
		"Clients refused or evicted by the per-address budgets, by transport and reason (rate: too many new connections from the address; address: its budget of pending clients stayed full; total: every pending place stayed taken; evicted: gave its pending place to a client from an address holding fewer; full: no viewer's place left; idle: a connected RTMP client playing nothing, closed because its address held more than -rtmp-idle-per-addr of them).",
		"transport", "reason")
	descPending = desc("rendercast_pending_clients",
		"Clients holding a pending place (RTMP connections in their handshake or connect, WebRTC sessions whose peer has not connected), by transport.", "transport")
	descPendingWaiting = desc("rendercast_pending_waiting",
		"Clients waiting for a pending place of their address, by transport.", "transport")
)

// guardCollector exports the Guards' figures on each scrape.
type guardCollector struct{ a *App }

// Describe implements prometheus.Collector.
func (c guardCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descRefused
	ch <- descPending
	ch <- descPendingWaiting
}

// Collect implements prometheus.Collector.
func (c guardCollector) Collect(ch chan<- prometheus.Metric) {
	for transport, g := range map[string]*access.Guard{"rtmp": c.a.rtmpGuard, "webrtc": c.a.webGuard} {
		st := g.Stats()
		for _, r := range access.Reasons {
			ch <- prometheus.MustNewConstMetric(descRefused, prometheus.CounterValue, float64(st.Refused.Of(r)), transport, r.String())
		}
		ch <- prometheus.MustNewConstMetric(descPending, prometheus.GaugeValue, float64(st.Pending), transport)
		ch <- prometheus.MustNewConstMetric(descPendingWaiting, prometheus.GaugeValue, float64(st.Waiting), transport)
	}
}
