package plot

import (
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"testing"
)

func TestNiceStep(t *testing.T) {
	for _, tt := range []struct{ span, want float64 }{{100, 20}, {60, 10}, {7, 1}, {0.3, 0.05}, {2500, 500}} {
		if got := NiceStep(tt.span, 8); math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("NiceStep(%v, 8) = %v, want %v", tt.span, got, tt.want)
		}
	}
}

// count returns how many pixels of img have colour c.
func count(img *image.RGBA, c color.RGBA) int {
	n := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if img.RGBAAt(x, y) == c {
				n++
			}
		}
	}
	return n
}

func TestChartDrawsSeriesLinesAndText(t *testing.T) {
	c := &Chart{Title: "latency", XLabel: "ms", YLabel: "n",
		Series: []Series{{Name: "a", Color: Blue, X: []float64{0, 10, 20}, Y: []float64{1, 5, 2}, Bars: true, BarWidth: 10},
			{Name: "b", Color: Green, X: []float64{0, 30}, Y: []float64{0, 6}}},
		VLines: []RefLine{{V: 12, Label: "p50", Color: Purple}}, HLines: []RefLine{{V: 2, Label: "x", Color: Red}}}
	img := c.Render()
	if img.Bounds().Dx() != defaultW || img.Bounds().Dy() != defaultH {
		t.Fatalf("default size %v", img.Bounds())
	}
	if c.XMin != 0 || c.XMax != 30 || c.YMin != 0 || c.YMax < 6 {
		t.Errorf("automatic bounds x %v..%v y %v..%v", c.XMin, c.XMax, c.YMin, c.YMax)
	}
	for name, col := range map[string]color.RGBA{"line series": Green, "reference line": Red, "vertical line": Purple, "text": Black} {
		if n := count(img, col); n < 20 {
			t.Errorf("%s: %d pixels of its colour", name, n)
		}
	}
	small := (&Chart{Width: 400, Height: 200, Series: []Series{{Color: Blue, X: []float64{0, 1}, Y: []float64{0, 1}}}}).Render()
	if small.Bounds().Dx() != 400 || small.Bounds().Dy() != 200 {
		t.Errorf("sized chart %v", small.Bounds())
	}
	if n := count(small, Blue); n < 100 {
		t.Errorf("an unnamed series: %d pixels", n)
	}
}

func TestStackAndWritePNG(t *testing.T) {
	a := (&Chart{Width: 300, Height: 100}).Render()
	b := (&Chart{Width: 500, Height: 120}).Render()
	s := Stack("TITLE", a, b)
	if s.Bounds().Dx() != 500 || s.Bounds().Dy() != 100+120+TextHeight+20 {
		t.Fatalf("stacked %v", s.Bounds())
	}
	if count(s, Black) == 0 {
		t.Error("no title drawn")
	}
	path := filepath.Join(t.TempDir(), "s.png")
	if err := WritePNG(path, s); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := png.Decode(f)
	if err != nil || got.Bounds() != s.Bounds() {
		t.Fatalf("read back: %v %v", err, got)
	}
	if err := WritePNG(filepath.Join(t.TempDir(), "missing", "x.png"), s); err == nil {
		t.Error("writing into a missing folder succeeded")
	}
}

func TestTextWidth(t *testing.T) {
	if TextWidth("ab") != 2*TextWidth("a") || TextWidth("") != 0 {
		t.Errorf("TextWidth: a %d, ab %d", TextWidth("a"), TextWidth("ab"))
	}
}
