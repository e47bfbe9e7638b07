package main

import (
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func rowsWith(n int, f func(i int, r *sampleRow)) []sampleRow {
	rows := make([]sampleRow, n)
	for i := range rows {
		rows[i] = sampleRow{t: time.Duration(i+1) * 5 * time.Second, rss: 200, heap: 10, goroutines: 30, fds: 16, threads: 30,
			cpu: 40, fps: []float64{30, 31}}
		if f != nil {
			f(i, &rows[i])
		}
	}
	return rows
}

func TestAnalyse(t *testing.T) {
	o := options{warmup: 30 * time.Second, viewers: 2, fps: 30, minFPS: 29}
	cases := []struct {
		name string
		rows []sampleRow
		want string // "" = pass
	}{
		{"flat", rowsWith(60, nil), ""},
		{"noise", rowsWith(60, func(i int, r *sampleRow) { r.rss += float64(i%7) * 2; r.goroutines += float64(i % 4) }), ""},
		{"memory leak", rowsWith(60, func(i int, r *sampleRow) { r.rss += float64(i) }), "RSS grew"},
		{"goroutine leak", rowsWith(60, func(i int, r *sampleRow) { r.goroutines += float64(i / 5) }), "goroutines grew"},
		{"fd leak", rowsWith(60, func(i int, r *sampleRow) { r.fds += float64(i / 5) }), "open files grew"},
		{"stall", rowsWith(60, func(i int, r *sampleRow) {
			if i == 40 {
				r.fps[1] = 0
			}
		}), "stalled"},
		{"too short", rowsWith(5, nil), "run longer"},
		{"slow viewer", rowsWith(60, func(i int, r *sampleRow) {
			if i == 30 || i == 50 {
				r.fps[0] = 28.4
			}
		}), "2 of 54 samples had a viewer under 29 fps (lowest 28.4)"},
		{"just above the floor", rowsWith(60, func(i int, r *sampleRow) { r.fps[1] = 29.2 }), ""},
	}
	for _, tc := range cases {
		r := analyse(tc.rows, o)
		got := strings.Join(r.failures, "; ")
		if tc.want == "" && got != "" || tc.want != "" && !strings.Contains(got, tc.want) {
			t.Errorf("%s: failures %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestWritePlotAndCSV(t *testing.T) {
	dir := t.TempDir()
	rows := rowsWith(20, func(i int, r *sampleRow) { r.rss += float64(i) })
	o := options{duration: 100 * time.Second, viewers: 2, callsPerS: 5, churnEvery: 3 * time.Second, fps: 30}
	if err := writePlot(filepath.Join(dir, "p.png"), rows, o); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(dir, "p.png"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil || img.Bounds().Dx() != plotW {
		t.Fatalf("plot: %v %v", err, img.Bounds())
	}
	if err := writeCSV(filepath.Join(dir, "s.csv"), rows, o); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "s.csv"))
	if lines := strings.Count(string(b), "\n"); lines != 21 || !strings.HasPrefix(string(b), "t_s,rss_mib,go_heap_mib,") {
		t.Fatalf("csv: %d lines\n%s", lines, b)
	}
}
