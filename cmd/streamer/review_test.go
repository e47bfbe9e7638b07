package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rendercast/rendercast/internal/app"
)

// Repeatable settings follow the precedence of every setting (flag > environment > file):
// a -session flag replaces the file's session list and leaves its scene list alone. The
// flag and environment loops of parseConfig clear c.Scenes for every repeatable option,
// so -session and -publish wipe the file's scenes, and the file's sessions stay beside the
// flag's.
func TestReviewRepeatableSettingsKeepTheirOwnLists(t *testing.T) {
	file := filepath.Join(t.TempDir(), "streamer.yaml")
	if err := os.WriteFile(file, []byte("scene:\n  - robot=/models/robot.glb\nsession:\n  - lobby=demo\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	none := func(string) string { return "" }
	c, err := parseConfig([]string{"-config", file}, none, discard{})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Scenes) != 1 || !slices.Equal(c.Sessions, []app.SessionSpec{{Name: "lobby", Scene: "demo"}}) {
		t.Fatalf("YAML lists: scenes %v, sessions %v", c.Scenes, c.Sessions)
	}

	c, err = parseConfig([]string{"-config", file, "-session", "show=testcard"}, none, discard{})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Scenes) != 1 || c.Scenes[0].Name != "robot" {
		t.Errorf("-session show=testcard dropped the file's scenes: %v", c.Scenes)
	}
	if !slices.Equal(c.Sessions, []app.SessionSpec{{Name: "show", Scene: "testcard"}}) {
		t.Errorf("-session show=testcard over a file's session list: %v, want the flag's list alone", c.Sessions)
	}

	env := map[string]string{"STREAMER_PUBLISH": "lobby=rtmp://127.0.0.1/live/x"}
	c, err = parseConfig([]string{"-config", file}, func(k string) string { return env[k] }, discard{})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Scenes) != 1 {
		t.Errorf("STREAMER_PUBLISH dropped the file's scenes: %v", c.Scenes)
	}
}

// A -publish URL carries a stream key (in the stream name or the query); a flag the parser
// refuses must not print it. The message shows the value with only USER:PASS@ hidden.
func TestReviewBadPublishFlagHidesStreamKey(t *testing.T) {
	const key = "SECRETSTREAMKEY42"
	none := func(string) string { return "" }
	for _, v := range []string{
		"bad name=rtmp://a.rtmp.youtube.com/live2/" + key,
		"show=http://ingest.example.com/live/x?key=" + key,
	} {
		_, err := parseConfig([]string{"-publish", v}, none, discard{})
		if err == nil {
			t.Fatalf("-publish %q accepted", v)
		}
		if strings.Contains(err.Error(), key) {
			t.Errorf("-publish refused with the stream key in the message: %v", err)
		}
	}
}
