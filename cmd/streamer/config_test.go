package main

import (
	"log/slog"
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
	if o := (&app{cfg: c, log: slog.New(slog.DiscardHandler)}).encodeOptions("libx264"); o.Threads != 1 {
		t.Errorf("encoder options carry %d threads, want 1", o.Threads)
	}
	for _, bad := range []string{"-1", "many", "65"} {
		if _, err := parseConfig([]string{"-encoder-threads", bad}, none, discard{}); err == nil || !strings.Contains(err.Error(), "-encoder-threads") {
			t.Errorf("-encoder-threads %s: %v, want an error naming the flag", bad, err)
		}
	}
}
