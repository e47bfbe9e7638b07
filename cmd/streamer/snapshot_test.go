package main

import (
	"bytes"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// snapshotPNG runs `streamer snapshot` with args writing to out and decodes the PNG it
// wrote.
func snapshotPNG(t *testing.T, out string, args ...string) image.Image {
	t.Helper()
	var stderr bytes.Buffer
	if code := runSnapshot(append(args, "-o", out), &bytes.Buffer{}, &stderr); code != 0 {
		t.Fatalf("snapshot %v: exit %d: %s", args, code, stderr.String())
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("snapshot %v: %v", args, err)
	}
	return img
}

func TestSnapshotShading(t *testing.T) {
	dir := t.TempDir()
	for _, shading := range []string{"pbr", "fast"} {
		img := snapshotPNG(t, filepath.Join(dir, shading+".png"), "-size", "320x180", "-msaa", "0", "-shading", shading, "-detail", "low")
		if img.Bounds().Dx() != 320 || img.Bounds().Dy() != 180 {
			t.Fatalf("-shading %s: %v", shading, img.Bounds())
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
