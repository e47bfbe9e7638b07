package publish

import (
	"errors"
	"strings"
	"testing"
)

// Any string either parses into a dialable URL and a stream name, or gives ErrBadURL; the
// redacted form never keeps the query.
func FuzzParseTarget(f *testing.F) {
	for _, s := range []string{"rtmp://h/live/cam", "rtmps://h:443/a/b/c?key=x#f", "http://x/a/b", "rtmp://", "rtmp://u:p@h/a/b", "%zz", "rtmp://[::1]:1935/a/b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		tg, err := parseTarget(raw)
		if err != nil {
			if !errors.Is(err, ErrBadURL) {
				t.Fatalf("parseTarget(%q): %v, not ErrBadURL", raw, err)
			}
			return
		}
		if tg.name == "" || strings.HasPrefix(tg.name, "?") || strings.Contains(tg.dial, "?") {
			t.Fatalf("parseTarget(%q) = %+v", raw, tg)
		}
		if strings.Contains(tg.redacted, "?") && !strings.Contains(raw, "%3F") && !strings.Contains(raw, "%3f") {
			t.Fatalf("redacted %q keeps a query of %q", tg.redacted, raw)
		}
	})
}
