package main

import (
	"bytes"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSnapshotShading(t *testing.T) {
	dir := t.TempDir()
	for _, shading := range []string{"pbr", "fast"} {
		out := filepath.Join(dir, shading+".png")
		var stderr bytes.Buffer
		if code := runSnapshot([]string{"-size", "320x180", "-msaa", "0", "-shading", shading, "-detail", "low", "-o", out}, &bytes.Buffer{}, &stderr); code != 0 {
			t.Fatalf("-shading %s: exit %d: %s", shading, code, stderr.String())
		}
		f, err := os.Open(out)
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(f)
		f.Close()
		if err != nil || img.Bounds().Dx() != 320 || img.Bounds().Dy() != 180 {
			t.Fatalf("-shading %s: %v %v", shading, err, img)
		}
	}
	var stderr bytes.Buffer
	if code := runSnapshot([]string{"-detail", "medium"}, &bytes.Buffer{}, &stderr); code != 2 || !strings.Contains(stderr.String(), "-detail") {
		t.Fatalf("-detail medium: exit %d: %s", code, stderr.String())
	}
	stderr.Reset()
	if code := runSnapshot([]string{"-size", "320x180", "-shading", "phong", "-o", filepath.Join(dir, "x.png")}, &bytes.Buffer{}, &stderr); code == 0 || !strings.Contains(stderr.String(), "phong") {
		t.Fatalf("-shading phong: exit %d: %s", code, stderr.String())
	}
}
