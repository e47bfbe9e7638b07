package main

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/rendercast/rendercast/internal/access"
)

// The per-address budgets: defaults, flags, YAML keys of the same names, 0 for no limit,
// and bad values refused naming the flag.
func TestBudgetSettings(t *testing.T) {
	none := func(string) string { return "" }
	c, err := parseConfig(nil, none, discard{})
	if err != nil {
		t.Fatal(err)
	}
	wantRTMP := access.Budgets{Rate: 20, Burst: 120, PerAddress: 16, Total: 64, IdlePerAddress: 16}
	wantWeb := access.Budgets{Rate: 10, Burst: 120, PerAddress: 8, Total: 32}
	if c.RTMPBudgets != wantRTMP || c.WebRTCBudgets != wantWeb || len(c.TrustedNets) != 0 {
		t.Fatalf("defaults: rtmp %+v webrtc %+v trusted %v", c.RTMPBudgets, c.WebRTCBudgets, c.TrustedNets)
	}
	file := t.TempDir() + "/c.yaml"
	if err := writeFile(file, "rtmp-pending-per-addr: 4\nrtmp-conn-rate: 0\nwebrtc-pending: 0\nrtmp-idle-per-addr: 0\n"+
		"trusted-nets: 10.1.2.3/8, 2001:db8::/32, 192.0.2.7\n"); err != nil {
		t.Fatal(err)
	}
	c, err = parseConfig([]string{"-config", file, "-whep-offer-burst", "300"}, none, discard{})
	if err != nil {
		t.Fatal(err)
	}
	if c.RTMPBudgets.PerAddress != 4 || c.RTMPBudgets.Rate != -1 || c.RTMPBudgets.IdlePerAddress != -1 || c.WebRTCBudgets.Total != -1 || c.WebRTCBudgets.Burst != 300 {
		t.Fatalf("from YAML and flags: rtmp %+v webrtc %+v", c.RTMPBudgets, c.WebRTCBudgets)
	}
	want := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8::/32"), netip.MustParsePrefix("192.0.2.7/32")}
	if len(c.TrustedNets) != 3 || c.TrustedNets[0] != want[0] || c.TrustedNets[1] != want[1] || c.TrustedNets[2] != want[2] {
		t.Fatalf("trusted %v, want %v", c.TrustedNets, want)
	}
	for _, bad := range [][]string{
		{"-trusted-nets", "10.0.0.0/33"}, {"-trusted-nets", "example.org"}, {"-rtmp-conn-rate", "-1"},
		{"-rtmp-conn-burst", "0"}, {"-rtmp-pending", "x"}, {"-rtmp-idle-per-addr", "-1"}, {"-webrtc-pending-per-addr", "-2"}, {"-whep-offer-rate", "NaN"},
	} {
		if _, err := parseConfig(bad, none, discard{}); err == nil || !strings.Contains(err.Error(), bad[0]) {
			t.Errorf("%v: %v, want an error naming %s", bad, err, bad[0])
		}
	}
}
