package main

import (
	"strings"
	"testing"
	"time"
)

// The still-picture settings: defaults, flags, YAML and the environment; bad values are
// refused naming the flag.
func TestStillPictureSettings(t *testing.T) {
	none := func(string) string { return "" }
	c, err := parseConfig(nil, none, discard{})
	if err != nil {
		t.Fatal(err)
	}
	if c.RefineAfter != 300*time.Millisecond || c.Adaptive != "auto" || c.MaxWidth != 3840 || c.MaxHeight != 2160 {
		t.Fatalf("defaults: refine-after %v, adaptive %q, max-size %dx%d", c.RefineAfter, c.Adaptive, c.MaxWidth, c.MaxHeight)
	}
	c, err = parseConfig([]string{"-refine-after", "0", "-adaptive", "on", "-max-size", "1920x1080"}, none, discard{})
	if err != nil {
		t.Fatal(err)
	}
	if c.RefineAfter != 0 || c.Adaptive != "on" || c.MaxWidth != 1920 || c.MaxHeight != 1080 {
		t.Fatalf("flags: refine-after %v, adaptive %q, max-size %dx%d", c.RefineAfter, c.Adaptive, c.MaxWidth, c.MaxHeight)
	}
	file := t.TempDir() + "/c.yaml"
	if err := writeFile(file, "refine-after: 1s\nmax-size: 1280x720\n"); err != nil {
		t.Fatal(err)
	}
	c, err = parseConfig([]string{"-config", file}, func(k string) string {
		return map[string]string{"STREAMER_ADAPTIVE": "off"}[k]
	}, discard{})
	if err != nil {
		t.Fatal(err)
	}
	if c.RefineAfter != time.Second || c.Adaptive != "off" || c.MaxWidth != 1280 || c.MaxHeight != 720 {
		t.Fatalf("YAML and environment: refine-after %v, adaptive %q, max-size %dx%d", c.RefineAfter, c.Adaptive, c.MaxWidth, c.MaxHeight)
	}
	for _, bad := range [][]string{
		{"-refine-after", "-1s"}, {"-refine-after", "soon"}, {"-refine-after", "2m"},
		{"-adaptive", "maybe"}, {"-max-size", "1921x1080"}, {"-max-size", "32x32"}, {"-max-size", "big"},
	} {
		if _, err := parseConfig(bad, none, discard{}); err == nil || !strings.Contains(err.Error(), bad[0]) {
			t.Errorf("%v: %v, want an error naming %s", bad, err, bad[0])
		}
	}
}
