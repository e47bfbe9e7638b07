package app

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// startHTTPApp is a test app listening for RTMP and HTTP on loopback ports the kernel
// picks; mutate changes its configuration first. It shuts down with the test.
func startHTTPApp(t *testing.T, mutate func(*Config)) *App {
	t.Helper()
	a := newTestApp(t, func(c *Config) {
		c.Listen, c.HTTP = "127.0.0.1:0", "127.0.0.1:0"
		if mutate != nil {
			mutate(c)
		}
	})
	if err := a.Start(); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		a.Shutdown(ctx)
	})
	return a
}

// get sends a GET with the given headers and returns the status code and body.
func get(t *testing.T, url string, header ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	c := &http.Client{Timeout: 20 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// rawRequest writes req on a new connection to addr and reads one response. The write
// runs on its own goroutine, so a server that answers before reading everything (413)
// is heard; its error is ignored.
func rawRequest(t *testing.T, addr net.Addr, req []byte) *http.Response {
	t.Helper()
	c, err := net.Dial("tcp", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(30 * time.Second))
	go c.Write(req)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("reading the response: %v", err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

// A client that sends its headers slowly (slowloris) is cut off once the header timeout
// has passed, while other clients are served.
func TestHTTPSlowHeadersAreCutOff(t *testing.T) {
	a := startHTTPApp(t, nil)
	base := "http://" + a.HTTPAddr().String()
	c, err := net.Dial("tcp", a.HTTPAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	if _, err := io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n"); err != nil {
		t.Fatal(err)
	}
	closed := make(chan error, 1)
	go func() {
		_, err := c.Read(make([]byte, 1)) // nothing is ever answered: returns when cut off
		closed <- err
	}()
	limit := httpReadHeaderTimeout + 20*time.Second // generous: the machine may be loaded
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for i := 0; ; i++ {
		select {
		case err := <-closed:
			took := time.Since(start)
			if took < httpReadHeaderTimeout/2 {
				t.Fatalf("cut off after %v (read: %v), before the header timeout %v", took, err, httpReadHeaderTimeout)
			}
			t.Logf("slow client cut off after %v (header timeout %v): %v", took.Round(time.Millisecond), httpReadHeaderTimeout, err)
			return
		case <-tick.C:
		}
		if time.Since(start) > limit {
			t.Fatalf("a client sending a header line every 500 ms still connected after %v", limit)
		}
		// One header line at a time: never the blank line that ends them.
		fmt.Fprintf(c, "X-Slow-%d: 1\r\n", i)
		if i == 2 {
			if code, _ := get(t, base+"/healthz"); code != http.StatusOK {
				t.Errorf("another client during the slow one: /healthz %d", code)
			}
		}
	}
}

// A request body over the limit (a 1 MiB SDP offer) is answered 413, with or without a
// Content-Length, and the server serves the next request.
func TestHTTPOversizeOfferIs413(t *testing.T) {
	a := startHTTPApp(t, nil)
	big := strings.Repeat("a=x-filler:"+strings.Repeat("x", 100)+"\r\n", (1<<20)/113)
	withLength := fmt.Sprintf("POST /whep/demo HTTP/1.1\r\nHost: x\r\nContent-Type: application/sdp\r\nContent-Length: %d\r\n\r\n%s", len(big), big)
	if resp := rawRequest(t, a.HTTPAddr(), []byte(withLength)); resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("1 MiB offer with Content-Length: %d, want 413", resp.StatusCode)
	}
	chunked := fmt.Sprintf("POST /whep/demo HTTP/1.1\r\nHost: x\r\nContent-Type: application/sdp\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n", len(big), big)
	if resp := rawRequest(t, a.HTTPAddr(), []byte(chunked)); resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("1 MiB chunked offer: %d, want 413", resp.StatusCode)
	}
	// The Go client too (it writes the body while the answer comes).
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Post("http://"+a.HTTPAddr().String()+"/whep/demo", "application/sdp", strings.NewReader(big))
	if err != nil {
		t.Fatalf("Go client, 1 MiB offer: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("Go client, 1 MiB offer: %d, want 413", resp.StatusCode)
	}
	// The next requests are served: a small offer reaches the WHEP handler (a bad one: 400).
	small := "v=0\r\n"
	req := fmt.Sprintf("POST /whep/demo HTTP/1.1\r\nHost: x\r\nContent-Type: application/sdp\r\nContent-Length: %d\r\n\r\n%s", len(small), small)
	if resp := rawRequest(t, a.HTTPAddr(), []byte(req)); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("small bad offer after the big ones: %d, want 400", resp.StatusCode)
	}
	if code, _ := get(t, "http://"+a.HTTPAddr().String()+"/healthz"); code != http.StatusOK {
		t.Errorf("/healthz after the big offers: %d", code)
	}
}

// Headers over the limit are answered 431; headers of a few KiB are served.
func TestHTTPOversizeHeaderIs431(t *testing.T) {
	a := startHTTPApp(t, nil)
	huge := fmt.Sprintf("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: %s\r\n\r\n", strings.Repeat("h", 64<<10))
	if resp := rawRequest(t, a.HTTPAddr(), []byte(huge)); resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("64 KiB header: %d, want 431", resp.StatusCode)
	}
	if code, _ := get(t, "http://"+a.HTTPAddr().String()+"/healthz", "X-Cookie", strings.Repeat("c", 4<<10)); code != http.StatusOK {
		t.Errorf("4 KiB header: %d, want 200", code)
	}
}

// With -admin-token, /metrics and /status(.json) want the token (Bearer or ?token=); the
// viewer, WHEP and health endpoints do not.
func TestHTTPAdminToken(t *testing.T) {
	a := startHTTPApp(t, func(c *Config) { c.AdminToken = "adm1n" })
	base := "http://" + a.HTTPAddr().String()
	for _, path := range []string{"/metrics", "/status", "/status.json"} {
		if code, _ := get(t, base+path); code != http.StatusUnauthorized {
			t.Errorf("%s without the admin token: %d, want 401", path, code)
		}
		if code, _ := get(t, base+path, "Authorization", "Bearer wrong"); code != http.StatusUnauthorized {
			t.Errorf("%s with a wrong token: %d, want 401", path, code)
		}
		if code, _ := get(t, base+path, "Authorization", "Bearer adm1n"); code != http.StatusOK {
			t.Errorf("%s with the admin token: %d, want 200", path, code)
		}
	}
	code, body := get(t, base+"/metrics?token=adm1n")
	if code != http.StatusOK || !strings.Contains(body, "rendercast_connections") {
		t.Errorf("/metrics?token=: %d, rendercast_connections in it: %v", code, strings.Contains(body, "rendercast_connections"))
	}
	for _, path := range []string{"/healthz", "/readyz", "/"} {
		if code, _ := get(t, base+path); code != http.StatusOK {
			t.Errorf("%s without the admin token: %d, want 200", path, code)
		}
	}
}

// With -admin-listen, the admin endpoints are served only there (404 on -http); health
// answers on both.
func TestHTTPAdminListen(t *testing.T) {
	a := startHTTPApp(t, func(c *Config) { c.AdminListen, c.AdminToken = "127.0.0.1:0", "adm1n" })
	if a.AdminAddr() == nil {
		t.Fatal("no admin listener")
	}
	pub, admin := "http://"+a.HTTPAddr().String(), "http://"+a.AdminAddr().String()
	for _, path := range []string{"/metrics", "/status", "/status.json"} {
		if code, _ := get(t, pub+path, "Authorization", "Bearer adm1n"); code != http.StatusNotFound {
			t.Errorf("public %s: %d, want 404", path, code)
		}
		if code, _ := get(t, admin+path); code != http.StatusUnauthorized {
			t.Errorf("admin %s without the token: %d, want 401", path, code)
		}
		if code, _ := get(t, admin+path, "Authorization", "Bearer adm1n"); code != http.StatusOK {
			t.Errorf("admin %s: %d, want 200", path, code)
		}
	}
	for _, base := range []string{pub, admin} {
		if code, _ := get(t, base+"/healthz"); code != http.StatusOK {
			t.Errorf("%s/healthz: %d", base, code)
		}
	}
	if code, _ := get(t, admin+"/"); code != http.StatusNotFound {
		t.Errorf("admin /: %d, want 404 (the viewer is on -http)", code)
	}
	if code, _ := get(t, pub+"/"); code != http.StatusOK {
		t.Errorf("public /: %d, want 200", code)
	}
}
