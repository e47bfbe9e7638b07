package avc_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"

	"github.com/rendercast/rendercast/avc"
)

// The first bytes of P slices written by x264 (1280x720 ultrafast, one slice per picture):
// frame_num 1 and 2, nal_ref_idc 2.
const (
	pSlice1 = "419a2042f13555ad7e4aaf0c618cb53c865dbff8d0d86300"
	pSlice2 = "419a406af05a394c0001eb51f618c6f5d004c049a650401a"
)

func params720p(t testing.TB) *avc.SliceParams {
	t.Helper()
	p, err := avc.NewSliceParams(mustHex(t, sps720p), mustHex(t, pps720p))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestEscapeRBSP(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"000001", "00000301"},
		{"0000000000", "00000300000300"},
		{"00000300", "0000030300"},
		{"0000", "000003"}, // two zero bytes at the end (cabac_zero_word)
		{"00", "00"},
		{"01000002ff", "0100000302ff"},
		{"000004", "000004"},
	} {
		got := avc.EscapeRBSP(nil, mustHex(t, tc.in))
		if !bytes.Equal(got, mustHex(t, tc.want)) {
			t.Errorf("EscapeRBSP(%s) = %x, want %s", tc.in, got, tc.want)
		}
		if back := avc.UnescapeRBSP(got); !bytes.Equal(back, mustHex(t, tc.in)) {
			t.Errorf("UnescapeRBSP(%x) = %x, want %s", got, back, tc.in)
		}
	}
	if got := avc.EscapeRBSP([]byte{0x41}, []byte{0, 0, 1}); !bytes.Equal(got, []byte{0x41, 0, 0, 3, 1}) {
		t.Errorf("EscapeRBSP appends to dst: %x", got)
	}
}

func TestSliceParams(t *testing.T) {
	p := params720p(t)
	if err := p.SkipSupported(); err != nil {
		t.Errorf("x264 ultrafast 720p: %v, want skipped pictures supported", err)
	}
	if p.MaxFrameNum() < 16 {
		t.Errorf("MaxFrameNum %d, want >= 16", p.MaxFrameNum())
	}
	for i, s := range []string{pSlice1, pSlice2} {
		n, err := p.FrameNum(mustHex(t, s))
		if err != nil || n != uint32(i+1) {
			t.Errorf("FrameNum(P slice %d) = %d, %v; want %d", i+1, n, err, i+1)
		}
	}

	// veryfast High: CABAC.
	q, err := avc.NewSliceParams(mustHex(t, sps360p), mustHex(t, pps360p))
	if err != nil {
		t.Fatal(err)
	}
	if err := q.SkipSupported(); !errors.Is(err, avc.ErrSkipUnsupported) || !strings.Contains(err.Error(), "CABAC") {
		t.Errorf("veryfast High: %v, want ErrSkipUnsupported naming CABAC", err)
	}

	for name, tc := range map[string][2]string{
		"PPS as SPS":   {sps720p, sps720p},
		"SPS as PPS":   {pps720p, pps720p},
		"short PPS":    {sps720p, "68"},
		"PPS of SPS 1": {sps720p, "68 5e3c80"}, // seq_parameter_set_id 1
	} {
		sps, pps := mustHex(t, tc[0]), mustHex(t, strings.ReplaceAll(tc[1], " ", ""))
		if _, err := avc.NewSliceParams(sps, pps); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// TestSkipSlice checks the skipped picture bit by bit for 720p (3600 macroblocks); the
// encode package's tests decode such pictures with FFmpeg and GStreamer.
func TestSkipSlice(t *testing.T) {
	p := params720p(t)
	s := p.SkipSlice(5, 2)
	if s[0] != 0x41 {
		t.Errorf("NAL header %#x, want 0x41 (nal_ref_idc 2, non-IDR slice)", s[0])
	}
	// first_mb 0, slice_type 0 (P), pps 0: "111"; frame_num 5 in log2(MaxFrameNum) bits;
	// no override, no list modification, sliding window: "000"; slice_qp_delta 0: "1";
	// deblocking off (ue 1): "010"; mb_skip_run 3600 (ue: 11 zeros, 12 bits of 3601);
	// trailing bits.
	width := 0
	for 1<<width < p.MaxFrameNum() {
		width++
	}
	var want strings.Builder
	want.WriteString("111")
	for i := width - 1; i >= 0; i-- {
		want.WriteByte('0' + byte(5>>i&1))
	}
	want.WriteString("000" + "1" + "010" + "00000000000" + "111000010001" + "1")
	for want.Len()%8 != 0 {
		want.WriteByte('0')
	}
	var got strings.Builder
	for _, b := range avc.UnescapeRBSP(s[1:]) {
		for i := 7; i >= 0; i-- {
			got.WriteByte('0' + b>>i&1)
		}
	}
	if got.String() != want.String() {
		t.Errorf("skip slice bits\n got %s\nwant %s", got.String(), want.String())
	}
	if n, err := p.FrameNum(s); err != nil || n != 5 {
		t.Errorf("FrameNum(skip slice) = %d, %v; want 5", n, err)
	}
	if n, _ := p.FrameNum(p.SkipSlice(p.MaxFrameNum()+3, 2)); n != 3 {
		t.Errorf("frame_num wraps: got %d, want 3", n)
	}
}

func TestSetFrameNum(t *testing.T) {
	p := params720p(t)
	for n := range p.MaxFrameNum() {
		for _, refIdc := range []uint8{1, 2, 3} {
			got, err := p.SetFrameNum(p.SkipSlice(7, refIdc), n)
			if err != nil || !bytes.Equal(got, p.SkipSlice(n, refIdc)) {
				t.Fatalf("SetFrameNum(skip slice 7, %d) = %x, %v; want %x", n, got, err, p.SkipSlice(n, refIdc))
			}
		}
	}
	in := mustHex(t, pSlice1)
	out, err := p.SetFrameNum(in, 9)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := p.FrameNum(out); n != 9 || len(out) != len(in) || !bytes.Equal(out[3:], in[3:]) {
		t.Errorf("SetFrameNum(x264 slice, 9) = %x (frame_num %d); want %x with frame_num 9", out, n, in)
	}
	for name, s := range map[string]string{
		"SPS":        sps720p,
		"empty":      "",
		"header":     "41",
		"no bits":    "4180",
		"other PPS":  "41d0ffff",           // first_mb 0, slice_type 0, pic_parameter_set_id 1
		"long codes": "410000000000000000", // exp-Golomb prefix runs past the end
	} {
		b := mustHex(t, s)
		if _, err := p.FrameNum(b); !errors.Is(err, avc.ErrBadSlice) {
			t.Errorf("FrameNum(%s): %v, want ErrBadSlice", name, err)
		}
		if _, err := p.SetFrameNum(b, 1); !errors.Is(err, avc.ErrBadSlice) {
			t.Errorf("SetFrameNum(%s): %v, want ErrBadSlice", name, err)
		}
	}
}

func FuzzEscapeRBSP(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0, 1, 0, 0, 3, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		e := avc.EscapeRBSP(nil, b)
		for i := 2; i < len(e); i++ {
			if e[i-2] == 0 && e[i-1] == 0 && e[i] <= 2 {
				t.Fatalf("EscapeRBSP(%x) = %x: start code emulation at %d", b, e, i)
			}
		}
		if back := avc.UnescapeRBSP(e); !bytes.Equal(back, b) {
			t.Fatalf("EscapeRBSP(%x) = %x, unescaped %x", b, e, back)
		}
		if got, want := avc.UnescapeRBSP(b), h264.EmulationPreventionRemove(b); !bytes.Equal(got, want) {
			t.Fatalf("UnescapeRBSP(%x) = %x, mediacommon says %x", b, got, want)
		}
	})
}

func FuzzSliceParams(f *testing.F) {
	f.Add(mustHex(f, sps720p), mustHex(f, pps720p), mustHex(f, pSlice1), uint32(9))
	f.Add(mustHex(f, sps360p), mustHex(f, pps360p), []byte{0x41, 0, 0, 3, 0}, uint32(0))
	f.Fuzz(func(t *testing.T, sps, pps, slice []byte, n uint32) {
		p, err := avc.NewSliceParams(sps, pps)
		if err != nil {
			return
		}
		_ = p.SkipSupported()
		_ = p.SkipSlice(n, 2)
		out, err := p.SetFrameNum(slice, n)
		if err != nil {
			return
		}
		if got, err := p.FrameNum(out); err != nil || got != n%p.MaxFrameNum() {
			t.Fatalf("SetFrameNum(%x, %d) = %x: frame_num %d, %v", slice, n, out, got, err)
		}
	})
}

// BenchmarkSetFrameNum renumbers a 14 kB P slice (the size of a moving 720p x264 frame at
// 4 Mbit/s), as the encoder does for every picture after repeats until the next IDR.
func BenchmarkSetFrameNum(b *testing.B) {
	p := params720p(b)
	rbsp := avc.UnescapeRBSP(mustHex(b, pSlice1)[1:])
	x := uint32(1)
	for len(rbsp) < 14_000 {
		x = x*1664525 + 1013904223
		rbsp = append(rbsp, byte(x>>24))
	}
	slice := avc.EscapeRBSP([]byte{0x41}, rbsp)
	b.SetBytes(int64(len(slice)))
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := p.SetFrameNum(slice, uint32(i)); err != nil {
			b.Fatal(err)
		}
	}
}
