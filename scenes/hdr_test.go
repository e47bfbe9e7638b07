package scenes

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-gl/mathgl/mgl32"
)

// testHDR is a w x h picture with runs (equal neighbours, for the run-length coder) and
// varied values over several orders of magnitude.
func testHDR(w, h int) *HDRImage {
	img := &HDRImage{Width: w, Height: h, Pix: make([]float32, 3*w*h)}
	for y := range h {
		for x := range w {
			p := img.Pix[3*(y*w+x):]
			if x < w/3 {
				p[0], p[1], p[2] = 0.5, 0.25, 2 // a run
				continue
			}
			p[0] = float32(x+1) / float32(w) * 100
			p[1] = float32(y+1) / float32(h) * 0.01
			p[2] = float32((x*7+y*13)%17) / 3
		}
	}
	return img
}

// rgbeClose: RGBE keeps 8 bits of mantissa relative to the largest channel.
func rgbeClose(a, b []float32) error {
	for i := 0; i < len(a); i += 3 {
		m := max(a[i], a[i+1], a[i+2])
		for c := range 3 {
			if d := math.Abs(float64(a[i+c] - b[i+c])); d > float64(m)/128+1e-30 {
				return fmt.Errorf("pixel %d channel %d: %g, want %g", i/3, c, b[i+c], a[i+c])
			}
		}
	}
	return nil
}

func TestHDRRoundTrip(t *testing.T) {
	for _, rle := range []bool{false, true} {
		for _, size := range [][2]int{{64, 32}, {5, 3}, {300, 7}} {
			t.Run(fmt.Sprintf("rle=%v/%dx%d", rle, size[0], size[1]), func(t *testing.T) {
				img := testHDR(size[0], size[1])
				var buf bytes.Buffer
				if err := EncodeHDR(&buf, img, rle); err != nil {
					t.Fatal(err)
				}
				flatSize := 4 * size[0] * size[1]
				if rle && size[0] >= 8 && buf.Len() >= flatSize {
					t.Errorf("run-length file is %d bytes, flat pixels alone are %d", buf.Len(), flatSize)
				}
				got, err := DecodeHDR(&buf)
				if err != nil {
					t.Fatal(err)
				}
				if got.Width != img.Width || got.Height != img.Height {
					t.Fatalf("size %dx%d, want %dx%d", got.Width, got.Height, img.Width, img.Height)
				}
				if err := rgbeClose(img.Pix, got.Pix); err != nil {
					t.Error(err)
				}
			})
		}
	}
}

// TestHDROldRLE decodes the old run-length encoding: (1, 1, 1, n) repeats the previous pixel.
func TestHDROldRLE(t *testing.T) {
	data := []byte("#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y 1 +X 6\n")
	data = append(data, 128, 64, 32, 129, 1, 1, 1, 4, 10, 20, 30, 128)
	img, err := DecodeHDR(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	want := []float32{1.00390625, 0.50390625, 0.25390625}
	for x := range 5 {
		if err := rgbeClose(want, img.Pix[3*x:3*x+3]); err != nil {
			t.Errorf("pixel %d: %v", x, err)
		}
	}
	if got := img.Pix[15]; math.Abs(float64(got)-10.5/256) > 1e-6 {
		t.Errorf("last pixel red %g, want %g", got, 10.5/256)
	}
}

func TestHDRRefusesBrokenFiles(t *testing.T) {
	var good bytes.Buffer
	if err := EncodeHDR(&good, testHDR(64, 16), true); err != nil {
		t.Fatal(err)
	}
	g := good.Bytes()
	headerEnd := bytes.Index(g, []byte("+X 64\n")) + len("+X 64\n")
	cases := map[string]struct {
		data []byte
		want string
	}{
		"empty":            {nil, "header truncated"},
		"png":              {[]byte("\x89PNG\r\n\x1a\n...."), "not a Radiance HDR"},
		"other format":     {[]byte("#?RADIANCE\nFORMAT=32-bit_rle_xyze\n\n-Y 1 +X 1\n\x01\x01\x01\x80"), "format"},
		"no resolution":    {[]byte("#?RADIANCE\n\n"), "header truncated"},
		"bad resolution":   {[]byte("#?RADIANCE\n\n-Y x +X 2\n"), "resolution line"},
		"flipped":          {[]byte("#?RADIANCE\n\n+Y 2 +X 2\n"), "orientation"},
		"zero":             {[]byte("#?RADIANCE\n\n-Y 0 +X 2\n"), "resolution line"},
		"huge":             {[]byte("#?RADIANCE\n\n-Y 100000 +X 100000\n"), "over the limit"},
		"too many pixels":  {[]byte("#?RADIANCE\n\n-Y 16000 +X 16000\n"), "over the limit"},
		"endless header":   {[]byte("#?RADIANCE\n" + strings.Repeat("X=1\n", 20000)), "header longer"},
		"truncated pixels": {g[:headerEnd+100], "truncated"},
		"truncated flat":   {[]byte("#?RADIANCE\n\n-Y 2 +X 2\n\x10\x10\x10\x80"), "truncated"},
		"run past the end": {append(append([]byte{}, g[:headerEnd]...), 2, 2, 0, 64, 255, 7), "past the end"},
		"wrong rle width":  {append(append([]byte{}, g[:headerEnd]...), 2, 2, 0, 65), "pixel wide"},
		"zero literal":     {append(append([]byte{}, g[:headerEnd]...), 2, 2, 0, 64, 0), "literal run"},
		"repeat first":     {[]byte("#?RADIANCE\n\n-Y 1 +X 2\n\x01\x01\x01\x05"), "starts with a repeat"},
		"repeat too long":  {[]byte("#?RADIANCE\n\n-Y 1 +X 3\n\x10\x10\x10\x80\x01\x01\x01\x09"), "past the end"},
	}
	for name, c := range cases {
		_, err := DecodeHDR(bytes.NewReader(c.data))
		if !errors.Is(err, ErrBadHDR) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want ErrBadHDR mentioning %q", name, err, c.want)
		}
	}
}

func TestNewEnvironmentRefusesBadValues(t *testing.T) {
	for name, v := range map[string]float32{"NaN": float32(math.NaN()), "+Inf": float32(math.Inf(1)), "negative": -1} {
		img := testHDR(8, 4)
		img.Pix[7] = v
		if _, err := NewEnvironment("x", img); !errors.Is(err, ErrBadEnvironment) || !strings.Contains(err.Error(), "pixel 2") {
			t.Errorf("%s: %v, want ErrBadEnvironment naming pixel 2", name, err)
		}
	}
	if _, err := NewEnvironment("x", &HDRImage{Width: 4, Height: 4, Pix: make([]float32, 5)}); !errors.Is(err, ErrBadEnvironment) {
		t.Errorf("short pixels: %v", err)
	}
	// Wide pictures are halved until they fit.
	env, err := NewEnvironment("wide", testHDR(4096, 2048))
	if err != nil {
		t.Fatal(err)
	}
	if env.Width != MaxEnvironmentWidth || env.Height != MaxEnvironmentWidth/2 {
		t.Errorf("size %dx%d, want %dx%d", env.Width, env.Height, MaxEnvironmentWidth, MaxEnvironmentWidth/2)
	}
}

// TestEnvironmentSH: the spherical harmonics of a sky over a ground give a diffuse
// surface facing up the sky's colour (mostly) and one facing down the ground's.
func TestEnvironmentSH(t *testing.T) {
	const w, h = 128, 64
	img := &HDRImage{Width: w, Height: h, Pix: make([]float32, 3*w*h)}
	for y := range h {
		for x := range w {
			c := [3]float32{1, 0.5, 0}
			if y < h/2 {
				c = [3]float32{0, 0.5, 1}
			}
			copy(img.Pix[3*(y*w+x):], c[:])
		}
	}
	env, err := NewEnvironment("sky", img)
	if err != nil {
		t.Fatal(err)
	}
	up, down, side := env.Irradiance(mgl32.Vec3{0, 1, 0}), env.Irradiance(mgl32.Vec3{0, -1, 0}), env.Irradiance(mgl32.Vec3{1, 0, 0})
	// Exactly, a surface facing up sees the sky alone, one facing sideways half of each;
	// order 2 spherical harmonics ring a little at the sharp horizon.
	if up[2] < 0.8 || up[0] > 0.2 || down[0] < 0.8 || down[2] > 0.2 {
		t.Errorf("up %v down %v: want blue up, orange down", up, down)
	}
	if math.Abs(float64(side[0]-0.5)) > 0.03 || math.Abs(float64(side[1]-0.5)) > 0.03 {
		t.Errorf("side %v: want half and half (0.5, 0.5, 0.5)", side)
	}
}

func TestStudio(t *testing.T) {
	s := Studio()
	if s != Studio() {
		t.Error("Studio is made more than once")
	}
	if s.Width != 512 || s.Height != 256 || s.Name != EnvironmentStudio {
		t.Errorf("studio %q %dx%d", s.Name, s.Width, s.Height)
	}
	// A bright soft box, a grey room: the brightest texel is far above the mean.
	var maxV, sum float64
	for _, v := range s.Pix {
		maxV = max(maxV, float64(v))
		sum += float64(v)
	}
	if mean := sum / float64(len(s.Pix)); maxV < 5 || mean > 1.5 || mean < 0.2 {
		t.Errorf("studio max %g mean %g: want panels >= 5 over a room of mean 0.2..1.5", maxV, mean)
	}
	// Lit from above: a surface facing up gets more light than one facing down.
	if up, down := s.Irradiance(mgl32.Vec3{0, 1, 0}), s.Irradiance(mgl32.Vec3{0, -1, 0}); up[1] <= down[1] {
		t.Errorf("up %v down %v", up, down)
	}
}

func TestLibraryEnvironments(t *testing.T) {
	l := NewLibrary()
	if env, err := l.Environment("studio"); err != nil || env != Studio() {
		t.Errorf("studio: %v %v", env, err)
	}
	if env, err := l.Environment("none"); err != nil || env != nil {
		t.Errorf("none: %v %v", env, err)
	}
	if _, err := l.Environment("nope"); !errors.Is(err, ErrUnknownEnvironment) {
		t.Errorf("nope: %v", err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "sky.hdr")
	var buf bytes.Buffer
	if err := EncodeHDR(&buf, testHDR(64, 32), true); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := l.AddEnvironment("sky", path); err != nil {
		t.Fatal(err)
	}
	if env, err := l.Environment("sky"); err != nil || env.Width != 64 {
		t.Errorf("sky: %v %v", env, err)
	}
	if got := l.EnvironmentNames(); fmt.Sprint(got) != "[none sky studio]" {
		t.Errorf("names %v", got)
	}
	for _, name := range []string{"sky", "studio", "none", "bad name", ""} {
		if err := l.AddEnvironment(name, path); !errors.Is(err, ErrBadEnvironment) {
			t.Errorf("AddEnvironment(%q): %v, want ErrBadEnvironment", name, err)
		}
	}
	if err := l.AddEnvironment("missing", filepath.Join(dir, "no.hdr")); !errors.Is(err, ErrBadHDR) || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	broken := filepath.Join(dir, "broken.hdr")
	if err := os.WriteFile(broken, buf.Bytes()[:200], 0o644); err != nil {
		t.Fatal(err)
	}
	if err := l.AddEnvironment("broken", broken); !errors.Is(err, ErrBadHDR) || !strings.Contains(err.Error(), "broken.hdr") {
		t.Errorf("broken file: %v", err)
	}
}

// FuzzDecodeHDR: arbitrary bytes give a picture of the size the header claims or an
// ErrBadHDR error, never a panic; a short file claiming a large size costs what it holds.
func FuzzDecodeHDR(f *testing.F) {
	for _, rle := range []bool{false, true} {
		var buf bytes.Buffer
		if err := EncodeHDR(&buf, testHDR(16, 4), rle); err != nil {
			f.Fatal(err)
		}
		f.Add(buf.Bytes())
	}
	f.Add([]byte("#?RADIANCE\n\n-Y 4096 +X 8192\n\x02\x02\x20\x00\x80"))
	f.Add([]byte("#?RGBE\n\n-Y 1 +X 3\n\x10\x10\x10\x80\x01\x01\x01\x02"))
	f.Fuzz(func(t *testing.T, data []byte) {
		img, err := DecodeHDR(bytes.NewReader(data))
		if err != nil {
			if !errors.Is(err, ErrBadHDR) {
				t.Fatalf("error %v does not wrap ErrBadHDR", err)
			}
			return
		}
		if len(img.Pix) != 3*img.Width*img.Height {
			t.Fatalf("%d values for %dx%d", len(img.Pix), img.Width, img.Height)
		}
	})
}

// TestNewEnvironmentHalvesAndClamps: a 2048-wide picture is box filtered to 1024 wide,
// values clamped to 65504 first.
func TestNewEnvironmentHalvesAndClamps(t *testing.T) {
	img := &HDRImage{Width: 2048, Height: 1024, Pix: make([]float32, 3*2048*1024)}
	for i := range img.Pix {
		img.Pix[i] = 3
	}
	img.Pix[0] = 1e9
	env, err := NewEnvironment("big", img)
	if err != nil {
		t.Fatal(err)
	}
	if env.Width != 1024 || env.Height != 512 {
		t.Fatalf("size %dx%d", env.Width, env.Height)
	}
	if got, want := env.Pix[0], float32(65504+3*3)/4; got != want {
		t.Errorf("first texel %g, want %g (clamped, then averaged)", got, want)
	}
	if env.Pix[1] != 3 || env.Pix[len(env.Pix)-1] != 3 {
		t.Errorf("other texels %g, %g, want 3", env.Pix[1], env.Pix[len(env.Pix)-1])
	}
	if img.Pix[0] != 1e9 {
		t.Error("NewEnvironment changed its input")
	}
}
