package main

import (
	"errors"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/bluenviron/gortmplib/pkg/amf0"

	"github.com/rendercast/rendercast/render"
	"github.com/rendercast/rendercast/rtmpsrv"
	"github.com/rendercast/rendercast/scenes"
	"github.com/rendercast/rendercast/session"
)

func TestProceduresListEveryCall(t *testing.T) {
	names := procedures()
	if !sort.StringsAreSorted(names) {
		t.Fatalf("procedures not sorted: %v", names)
	}
	for _, want := range []string{"camera.orbit", "input.pointer", "scene.list", "server.info", "stream.keyframe", "stream.setBitrate", "stream.setRenderRate", "stream.stats"} {
		if !slices.Contains(names, want) {
			t.Errorf("procedures lacks %s: %v", want, names)
		}
	}
	for i := 1; i < len(names); i++ {
		if names[i] == names[i-1] {
			t.Fatalf("%s listed twice", names[i])
		}
	}
}

func TestArgsFromAMF(t *testing.T) {
	args, err := argsFromAMF("camera.set", []any{rtmpsrv.Object{
		{Key: "eye", Value: rtmpsrv.StrictArray{1.0, 2.0, 3.0}},
		{Key: "fov", Value: 40.0},
		{Key: "nested", Value: rtmpsrv.ECMAArray{{Key: "a", Value: true}}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if eye, ok := args["eye"].([]any); !ok || len(eye) != 3 || eye[2] != 3.0 {
		t.Fatalf("eye %#v", args["eye"])
	}
	if n, ok := args["nested"].(map[string]any); !ok || n["a"] != true {
		t.Fatalf("nested %#v", args["nested"])
	}
	if a, err := argsFromAMF("x", nil); err != nil || len(a) != 0 {
		t.Fatalf("no arguments: %v %v", a, err)
	}
	_, err = argsFromAMF("camera.orbit", []any{30.0})
	if ae, ok := err.(*session.ArgError); !ok || ae.Call != "camera.orbit" {
		t.Fatalf("positional number: %v, want an ArgError", err)
	}
}

// FuzzCallArgs decodes a call's AMF0 user arguments the way the RTMP path does, then runs
// them through the dispatcher: calls that need no view, and calls that need one without one.
func FuzzCallArgs(f *testing.F) {
	v := &session.Viewers{Library: scenes.NewLibrary()}
	seed, _ := amf0.Data{amf0.Object{{Key: "dx", Value: 10.0}, {Key: "eye", Value: amf0.StrictArray{1.0, 2.0, 3.0}}}}.Marshal()
	f.Add(seed)
	f.Add([]byte{0x05})
	f.Add([]byte{0x03, 0x00, 0x01, 'r', 0x02, 0x00, 0x01, 'x', 0x00, 0x00, 0x09})
	f.Fuzz(func(t *testing.T, b []byte) {
		data, err := amf0.Unmarshal(b)
		if err != nil {
			return
		}
		args, err := argsFromAMF("fuzz", data)
		if err != nil {
			if _, ok := err.(*session.ArgError); !ok {
				t.Fatalf("error of type %T", err)
			}
			return
		}
		for _, name := range []string{"scene.list", "server.info", "stream.setBitrate", "camera.orbit", "no.such"} {
			_, err := v.Dispatch(nil, nil, name, args)
			var ae *session.ArgError
			if err != nil && !errors.Is(err, session.ErrNotPlaying) && !errors.Is(err, session.ErrUnknownCall) && !errors.As(err, &ae) {
				t.Fatalf("%s: error %v of type %T", name, err, err)
			}
		}
	})
}

func TestParseConfigPrecedence(t *testing.T) {
	dir := t.TempDir()
	file := dir + "/c.yaml"
	if err := writeFile(file, "fps: 25\nsize: 640x360\nscene:\n  - a=/x.glb\nbitrate: 900\n"); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"STREAMER_FPS": "20", "STREAMER_CONFIG": file}
	c, err := parseConfig([]string{"-fps", "15"}, func(k string) string { return env[k] }, discard{})
	if err != nil {
		t.Fatal(err)
	}
	if c.FPS != 15 || c.Width != 640 || c.BitrateKbps != 900 || len(c.Scenes) != 1 || c.Scenes[0].Name != "a" {
		t.Fatalf("flag > env > file precedence broken: %+v", c)
	}
	c, err = parseConfig(nil, func(k string) string { return env[k] }, discard{})
	if err != nil || c.FPS != 20 {
		t.Fatalf("env over file: %+v %v", c, err)
	}
	if c.Shading != "auto" {
		t.Errorf("default -shading %q, want auto", c.Shading)
	}
	if err := writeFile(dir+"/s.yaml", "shading: pbr\n"); err != nil {
		t.Fatal(err)
	}
	shadingEnv := map[string]string{"STREAMER_CONFIG": dir + "/s.yaml"}
	if c, err := parseConfig(nil, func(k string) string { return shadingEnv[k] }, discard{}); err != nil || c.Shading != "pbr" {
		t.Errorf("shading from the config file: %+v %v", c, err)
	}
	shadingEnv["STREAMER_SHADING"] = "fast"
	if c, err := parseConfig(nil, func(k string) string { return shadingEnv[k] }, discard{}); err != nil || c.Shading != "fast" {
		t.Errorf("STREAMER_SHADING over the file: %+v %v", c, err)
	}
	if c, err := parseConfig([]string{"-shading", "pbr"}, func(k string) string { return shadingEnv[k] }, discard{}); err != nil || c.Shading != "pbr" || renderShading(c.Shading) != render.ShadingPBR {
		t.Errorf("-shading over STREAMER_SHADING: %+v %v", c, err)
	}
	if renderShading("auto") != render.ShadingAuto || renderShading("fast") != render.ShadingFast {
		t.Errorf("renderShading: auto -> %q, fast -> %q", renderShading("auto"), renderShading("fast"))
	}
	if _, err := parseConfig([]string{"-shading", "gouraud"}, func(string) string { return "" }, discard{}); err == nil || !strings.Contains(err.Error(), "-shading") {
		t.Errorf("-shading gouraud: %v, want an error naming -shading", err)
	}
	if c.Detail != "auto" {
		t.Errorf("default -detail %q, want auto", c.Detail)
	}
	if err := writeFile(dir+"/d.yaml", "detail: low\n"); err != nil {
		t.Fatal(err)
	}
	detailEnv := map[string]string{"STREAMER_CONFIG": dir + "/d.yaml"}
	if c, err := parseConfig(nil, func(k string) string { return detailEnv[k] }, discard{}); err != nil || c.Detail != "low" {
		t.Errorf("detail from the config file: %+v %v", c, err)
	}
	detailEnv["STREAMER_DETAIL"] = "full"
	if c, err := parseConfig(nil, func(k string) string { return detailEnv[k] }, discard{}); err != nil || c.Detail != "full" {
		t.Errorf("STREAMER_DETAIL over the file: %+v %v", c, err)
	}
	if c, err := parseConfig([]string{"-detail", "low"}, func(k string) string { return detailEnv[k] }, discard{}); err != nil || c.Detail != "low" || sceneDetail(c.Detail, false) != scenes.DetailLow {
		t.Errorf("-detail over STREAMER_DETAIL: %+v %v", c, err)
	}
	for _, tt := range []struct {
		v        string
		software bool
		want     scenes.Detail
	}{
		{"auto", true, scenes.DetailLow}, {"auto", false, scenes.DetailFull},
		{"full", true, scenes.DetailFull}, {"low", false, scenes.DetailLow},
	} {
		if got := sceneDetail(tt.v, tt.software); got != tt.want {
			t.Errorf("sceneDetail(%q, software %v) = %v, want %v", tt.v, tt.software, got, tt.want)
		}
	}
	if _, err := parseConfig([]string{"-detail", "medium"}, func(string) string { return "" }, discard{}); err == nil || !strings.Contains(err.Error(), "-detail") {
		t.Errorf("-detail medium: %v, want an error naming -detail", err)
	}
	if _, err := parseConfig([]string{"-config", dir + "/missing.yaml"}, func(string) string { return "" }, discard{}); err == nil {
		t.Fatal("missing config file accepted")
	}
	if err := writeFile(file, "nosuch: 1\n"); err != nil {
		t.Fatal(err)
	}
	if _, err := parseConfig(nil, func(k string) string { return env[k] }, discard{}); err == nil {
		t.Fatal("unknown key in the config file accepted")
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

func writeFile(path, s string) error { return os.WriteFile(path, []byte(s), 0o644) }
