package main

import (
	"image"
	"os"
	"path/filepath"
	"testing"
)

// TestSnapshotAnimatedModel: -t poses a model's glTF animations: the skinned strip of
// assimp-testmodels' simple_skin (its upper joint swings over 5.5 s) looks different at
// t=0 and t=1.5, and the same twice at one time.
func TestSnapshotAnimatedModel(t *testing.T) {
	model := "/usr/share/assimp/models/glTF2/simple_skin/simple_skin.gltf"
	if _, err := os.Stat(model); err != nil {
		t.Fatalf("%v: install assimp-testmodels (scripts/setup.sh)", err)
	}
	dir := t.TempDir()
	shot := func(at string) image.Image {
		return snapshotPNG(t, filepath.Join(dir, "t"+at+".png"), "-scene", "skin="+model, "-size", "160x120", "-msaa", "0", "-t", at)
	}
	differ := func(a, b image.Image) int {
		n := 0
		for y := 0; y < 120; y++ {
			for x := 0; x < 160; x++ {
				r1, g1, b1, _ := a.At(x, y).RGBA()
				r2, g2, b2, _ := b.At(x, y).RGBA()
				if d := absDiff(r1, r2) + absDiff(g1, g2) + absDiff(b1, b2); d > 3*8*257 {
					n++
				}
			}
		}
		return n
	}
	rest, bent, again := shot("0"), shot("1.5"), shot("1.5")
	t.Logf("t=0 and t=1.5 differ in %d pixels", differ(rest, bent))
	if n := differ(rest, bent); n < 500 {
		t.Errorf("t=0 and t=1.5 differ in %d pixels, want the strip bent (hundreds)", n)
	}
	if n := differ(bent, again); n != 0 {
		t.Errorf("two snapshots at t=1.5 differ in %d pixels", n)
	}
}

func absDiff(a, b uint32) uint32 {
	if a > b {
		return a - b
	}
	return b - a
}
