package access

import (
	"net/netip"
	"testing"
)

// A client on a link-local IPv6 address arrives with its zone ("[fe80::1%eth0]:51000"):
// it is in -trusted-nets fe80::/10 like any other address of that network. Budgets key
// such clients without the zone (AddressKey); trust must not depend on it either.
func TestGuardTrustsZonedAddresses(t *testing.T) {
	g := mustGuard(t, GuardConfig{Budgets: Budgets{Rate: 1, Burst: 1, PerAddress: 1, Total: 1, Queue: -1},
		Trusted: []netip.Prefix{netip.MustParsePrefix("fe80::/10")}})
	addr := ParseRemote("[fe80::1%eth0]:51000")
	if !addr.IsValid() || addr.Zone() != "eth0" {
		t.Fatalf("ParseRemote: %v", addr)
	}
	if !g.Trusted(addr) {
		t.Fatalf("%v not trusted with fe80::/10 trusted", addr)
	}
	for range 5 {
		if p, err := admitNow(t, g, "fe80::1%eth0"); p != nil || err != nil {
			t.Fatalf("trusted %v: %v %v, want nothing held and no error", addr, p, err)
		}
	}
}
