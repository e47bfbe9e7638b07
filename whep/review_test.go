package whep

import (
	"net/http"
	"strings"
	"testing"
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
