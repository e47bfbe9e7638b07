package main

import (
	"github.com/rendercast/rendercast/internal/app"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestEncoderThreads(t *testing.T) {
	none := func(string) string { return "" }
	c, err := parseConfig(nil, none, discard{})
	if err != nil || c.EncoderThreads != 0 {
		t.Fatalf("default -encoder-threads: %d %v, want 0 (x264 chooses)", c.EncoderThreads, err)
	}
	env := map[string]string{"STREAMER_ENCODER_THREADS": "2"}
	if c, err := parseConfig(nil, func(k string) string { return env[k] }, discard{}); err != nil || c.EncoderThreads != 2 {
		t.Errorf("STREAMER_ENCODER_THREADS=2: %+v %v", c, err)
	}
	c, err = parseConfig([]string{"-encoder-threads", "1"}, func(k string) string { return env[k] }, discard{})
	if err != nil || c.EncoderThreads != 1 {
		t.Fatalf("-encoder-threads 1 over the environment: %+v %v", c, err)
	}
	for _, bad := range []string{"-1", "many", "65"} {
		if _, err := parseConfig([]string{"-encoder-threads", bad}, none, discard{}); err == nil || !strings.Contains(err.Error(), "-encoder-threads") {
			t.Errorf("-encoder-threads %s: %v, want an error naming the flag", bad, err)
		}
	}
}

func TestTLSSettings(t *testing.T) {
	none := func(string) string { return "" }
	c, err := parseConfig(nil, none, discard{})
	if err != nil || c.ListenTLS != "" || c.Listen != ":1935" {
		t.Fatalf("defaults: %+v %v, want plain :1935 and no RTMPS", c, err)
	}
	env := map[string]string{"STREAMER_LISTEN_TLS": ":1936", "STREAMER_TLS_CERT": "/etc/c.pem", "STREAMER_TLS_KEY": "/etc/k.pem", "STREAMER_LISTEN": ""}
	c, err = parseConfig(nil, func(k string) string { return env[k] }, discard{})
	if err != nil || c.ListenTLS != ":1936" || c.TLSCert != "/etc/c.pem" || c.TLSKey != "/etc/k.pem" {
		t.Fatalf("STREAMER_LISTEN_TLS, _TLS_CERT, _TLS_KEY: %+v %v", c, err)
	}
	yaml := filepath.Join(t.TempDir(), "streamer.yaml")
	os.WriteFile(yaml, []byte("listen: \"\"\nlisten-tls: 127.0.0.1:1937\ntls-cert: c.pem\ntls-key: k.pem\n"), 0o600)
	c, err = parseConfig([]string{"-config", yaml}, none, discard{})
	if err != nil || c.Listen != "" || c.ListenTLS != "127.0.0.1:1937" || c.TLSCert != "c.pem" || c.TLSKey != "k.pem" {
		t.Fatalf("YAML listen-tls, tls-cert, tls-key, listen empty: %+v %v", c, err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-listen-tls", ":1936"}, "-listen-tls"},
		{[]string{"-listen-tls", ":1936", "-tls-cert", "c.pem"}, "-tls-key"},
		{[]string{"-listen-tls", ":1936", "-tls-key", "k.pem"}, "-tls-cert"},
		{[]string{"-tls-cert", "c.pem", "-tls-key", "k.pem"}, "-listen-tls"},
		{[]string{"-listen", ""}, "-listen"},
		{[]string{"-listen-tls", "1936"}, "-listen-tls"},
	} {
		if _, err := parseConfig(tc.args, none, discard{}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want an error naming %s", tc.args, err, tc.want)
		}
	}
}

// Shared-session settings come from flags, the environment and YAML lists; bad values are
// refused naming the flag, and a stream key in a bad -publish is not repeated.
func TestSharedSessionSettings(t *testing.T) {
	none := func(string) string { return "" }
	c, err := parseConfig([]string{"-session", "a=demo", "-session", "b=testcard", "-control-token", "ctl",
		"-publish", "a=rtmp://ingest.example/live/KEY", "-publish-allow", "rtmp://ingest.example/,rtmps://x/",
		"-max-sessions", "7"}, none, discard{})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Sessions) != 2 || c.Sessions[0] != (app.SessionSpec{Name: "a", Scene: "demo"}) || c.Sessions[1].Scene != "testcard" ||
		c.ControlToken != "ctl" || len(c.Publish) != 1 || c.Publish[0].URL != "rtmp://ingest.example/live/KEY" ||
		len(c.PublishAllow) != 2 || c.MaxSessions != 7 {
		t.Fatalf("parsed %+v", c)
	}
	file := t.TempDir() + "/c.yaml"
	if err := writeFile(file, "session:\n  - show=demo\n  - card=testcard\ncontrol-token: y\n"); err != nil {
		t.Fatal(err)
	}
	c, err = parseConfig([]string{"-config", file}, func(k string) string {
		return map[string]string{"STREAMER_MAX_SESSIONS": "3"}[k]
	}, discard{})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Sessions) != 2 || c.Sessions[1].Name != "card" || c.ControlToken != "y" || c.MaxSessions != 3 {
		t.Fatalf("from YAML and the environment: %+v", c)
	}
	for _, bad := range [][]string{
		{"-session", "bad name=demo"}, {"-session", "noscene"}, {"-session", "=demo"},
		{"-publish", "a=http://x/live/KEY"}, {"-publish", "rtmp://x/live/KEY"},
		{"-publish-allow", "http://x/"}, {"-max-sessions", "-1"},
	} {
		_, err := parseConfig(bad, none, discard{})
		if err == nil || !strings.Contains(err.Error(), bad[0]) {
			t.Errorf("%v: %v, want an error naming %s", bad, err, bad[0])
		}
		if err != nil && strings.Contains(err.Error(), "KEY") {
			t.Errorf("%v: the error repeats the stream key: %v", bad, err)
		}
	}
}
