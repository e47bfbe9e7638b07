package whep

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/rendercast/rendercast/internal/access"
)

// A browser page on another origin (a player embedding the stream) presents the control
// token in the X-Control-Token header, one of the ways the streamer documents. The header
// is not a CORS-safelisted one, so the browser sends a preflight and posts the offer only
// if Access-Control-Allow-Headers lists it; today the list is "Authorization, Content-Type".
func TestReviewPreflightAllowsControlTokenHeader(t *testing.T) {
	fx := newFixture(t, Config{}, false)
	req, err := http.NewRequest(http.MethodOptions, fx.http.URL+"/whep/demo?session=show", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Origin", "https://player.example.com")
	req.Header.Set("Access-Control-Request-Method", "POST")
	req.Header.Set("Access-Control-Request-Headers", "content-type,x-control-token")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	allowed := strings.ToLower(resp.Header.Get("Access-Control-Allow-Headers"))
	if !strings.Contains(allowed, "x-control-token") {
		t.Fatalf("preflight of a POST with X-Control-Token: %d, Access-Control-Allow-Headers %q: a cross-origin browser cannot send the control token header",
			resp.StatusCode, resp.Header.Get("Access-Control-Allow-Headers"))
	}
}

// With -token set, offers with a wrong token are offers too: the per-address offer rate
// bounds them like any other, so one address cannot try tokens as fast as it can send
// requests (each also a log line). Beyond the burst they get 429 and count as refused
// for the rate; an offer with the right token from the same address is then refused alike.
func TestReviewWrongTokenOffersAreRateLimited(t *testing.T) {
	g, err := access.NewGuard(access.GuardConfig{Transport: "webrtc", Budgets: access.Budgets{Rate: 0.5, Burst: 3}})
	if err != nil {
		t.Fatal(err)
	}
	fx := newFixture(t, Config{Token: "tok", Guard: g}, false)
	offer := newClient(t).offer
	codes := map[int]int{}
	for i := range 20 {
		resp, _ := post(t, fx.http.URL+"/whep/demo", "application/sdp", offer, map[string]string{"Authorization": fmt.Sprintf("Bearer guess%d", i)})
		codes[resp.StatusCode]++
	}
	if codes[http.StatusUnauthorized] > 4 || codes[http.StatusTooManyRequests] < 16 {
		t.Fatalf("20 offers with wrong tokens from one address (offer rate 0.5/s, burst 3): answers %v, want at most 4 x 401 and the rest 429", codes)
	}
	if r := g.Stats().Refused.Rate; r < 16 {
		t.Fatalf("refused for the rate: %d, want >= 16", r)
	}
	if n := g.Stats().Pending; n != 0 {
		t.Fatalf("%d pending places held after refused offers, want 0", n)
	}
}
