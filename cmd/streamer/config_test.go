package main

import (
	"github.com/rendercast/rendercast/internal/app"
	"log/slog"
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
	if o := app.EncodeOptions(c, slog.New(slog.DiscardHandler), "libx264"); o.Threads != 1 {
		t.Errorf("encoder options carry %d threads, want 1", o.Threads)
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
