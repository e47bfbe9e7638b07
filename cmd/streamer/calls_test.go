package main

import (
	"os"
	"strings"
	"testing"

	"github.com/rendercast/rendercast/internal/app"
	"github.com/rendercast/rendercast/render"
	"github.com/rendercast/rendercast/scenes"
)

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
	if c, err := parseConfig([]string{"-shading", "pbr"}, func(k string) string { return shadingEnv[k] }, discard{}); err != nil || c.Shading != "pbr" || app.RenderShading(c.Shading) != render.ShadingPBR {
		t.Errorf("-shading over STREAMER_SHADING: %+v %v", c, err)
	}
	if app.RenderShading("auto") != render.ShadingAuto || app.RenderShading("fast") != render.ShadingFast {
		t.Errorf("RenderShading: auto -> %q, fast -> %q", app.RenderShading("auto"), app.RenderShading("fast"))
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
	if c, err := parseConfig([]string{"-detail", "low"}, func(k string) string { return detailEnv[k] }, discard{}); err != nil || c.Detail != "low" || app.SceneDetail(c.Detail, false) != scenes.DetailLow {
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
		if got := app.SceneDetail(tt.v, tt.software); got != tt.want {
			t.Errorf("SceneDetail(%q, software %v) = %v, want %v", tt.v, tt.software, got, tt.want)
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
