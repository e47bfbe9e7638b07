package avc_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"slices"
	"testing"

	"github.com/rendercast/rendercast/avc"
)

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Parameter sets written by x264 through package encode: 1280x720 ultrafast (Constrained
// Baseline, level 3.1) and 640x360 veryfast High (level 3.0, cropped from 368 lines).
const (
	sps720p  = "6742c01fda014016e9a808080a000003000200000300791e306540"
	pps720p  = "68ce3c80"
	sps360p  = "6764001eacb405017fcb3501010140000003004000000f23c58ba8"
	pps360p  = "68ef3cb0"
	conf720p = "0142c01fffe1001b6742c01fda014016e9a808080a000003000200000300791e30654001000468ce3c80"
)

func TestParseSPS(t *testing.T) {
	for _, tc := range []struct {
		sps            string
		profile, level uint8
		width, height  int
	}{
		{sps720p, 66, 31, 1280, 720},
		{sps360p, 100, 30, 640, 360},
	} {
		info, err := avc.ParseSPS(mustHex(t, tc.sps))
		if err != nil {
			t.Fatalf("%s: %v", tc.sps, err)
		}
		want := avc.SPSInfo{ProfileIDC: tc.profile, LevelIDC: tc.level, Width: tc.width, Height: tc.height}
		if info != want {
			t.Errorf("ParseSPS: %+v, want %+v", info, want)
		}
	}
	if _, err := avc.ParseSPS([]byte{0x67}); err == nil {
		t.Error("ParseSPS of a truncated SPS: no error")
	}
}

func TestConfigRecordRoundTrip(t *testing.T) {
	sps, pps := mustHex(t, sps720p), mustHex(t, pps720p)
	rec, err := avc.ConfigRecord([][]byte{sps}, [][]byte{pps})
	if err != nil {
		t.Fatal(err)
	}
	if want := mustHex(t, conf720p); !bytes.Equal(rec, want) {
		t.Fatalf("ConfigRecord:\n got %x\nwant %x", rec, want)
	}
	gotSPS, gotPPS, err := avc.ParseConfigRecord(rec)
	if err != nil {
		t.Fatal(err)
	}
	if len(gotSPS) != 1 || len(gotPPS) != 1 || !bytes.Equal(gotSPS[0], sps) || !bytes.Equal(gotPPS[0], pps) {
		t.Errorf("ParseConfigRecord: %x / %x", gotSPS, gotPPS)
	}
}

func TestConfigRecordErrors(t *testing.T) {
	if _, err := avc.ConfigRecord(nil, [][]byte{{0x68}}); !errors.Is(err, avc.ErrNoParameterSets) {
		t.Errorf("ConfigRecord without SPS: %v, want ErrNoParameterSets", err)
	}
	if _, err := avc.ConfigRecord([][]byte{mustHex(t, sps720p)}, nil); !errors.Is(err, avc.ErrNoParameterSets) {
		t.Errorf("ConfigRecord without PPS: %v, want ErrNoParameterSets", err)
	}
	good := mustHex(t, conf720p)
	for name, rec := range map[string][]byte{
		"empty":          nil,
		"version 0":      append([]byte{0}, good[1:]...),
		"2-byte lengths": append(append([]byte{}, good[:4]...), append([]byte{0xfd}, good[5:]...)...),
		"truncated SPS":  good[:20],
		"no PPS count":   good[:5+1+2+27],
	} {
		if _, _, err := avc.ParseConfigRecord(rec); !errors.Is(err, avc.ErrBadConfig) {
			t.Errorf("%s: %v, want ErrBadConfig", name, err)
		}
	}
	zeroPPS := append(append([]byte{}, good[:5+1+2+27]...), 0)
	if _, _, err := avc.ParseConfigRecord(zeroPPS); !errors.Is(err, avc.ErrNoParameterSets) {
		t.Errorf("no PPS: %v, want ErrNoParameterSets", err)
	}
}

func TestAnnexBToAVCC(t *testing.T) {
	// 4-byte and 3-byte start codes, as encoders mix them.
	annexB := []byte{0, 0, 0, 1, 0x67, 1, 2, 0, 0, 1, 0x68, 3, 0, 0, 1, 0x65, 4, 5, 6}
	got, err := avc.AnnexBToAVCC(annexB)
	if err != nil {
		t.Fatal(err)
	}
	want := []byte{0, 0, 0, 3, 0x67, 1, 2, 0, 0, 0, 2, 0x68, 3, 0, 0, 0, 4, 0x65, 4, 5, 6}
	if !bytes.Equal(got, want) {
		t.Fatalf("AnnexBToAVCC: %x, want %x", got, want)
	}
	nalus, err := avc.SplitAVCC(got)
	if err != nil {
		t.Fatal(err)
	}
	types := []int{}
	for _, n := range nalus {
		types = append(types, int(avc.NALUType(n)))
	}
	if !slices.Equal(types, []int{7, 8, 5}) {
		t.Errorf("NAL types %v, want [7 8 5]", types)
	}
	sps, pps := avc.ParameterSets(nalus)
	if len(sps) != 1 || len(pps) != 1 {
		t.Errorf("ParameterSets: %d SPS, %d PPS", len(sps), len(pps))
	}
	if avc.NALUType(nil) != 0 {
		t.Error("NALUType(nil) != 0")
	}
}

func TestSplitAVCCErrors(t *testing.T) {
	for name, b := range map[string][]byte{
		"short length": {0, 0, 1},
		"overlong":     {0, 0, 0, 9, 1, 2},
	} {
		if _, err := avc.SplitAVCC(b); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func FuzzParseConfigRecord(f *testing.F) {
	f.Add(mustHex(f, conf720p))
	f.Add([]byte{1, 0x64, 0, 0x1e, 0xff, 0xe0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		sps, pps, err := avc.ParseConfigRecord(b)
		if err != nil {
			return
		}
		rec, err := avc.ConfigRecord(sps, pps)
		if err != nil {
			return // e.g. an SPS shorter than 4 bytes
		}
		sps2, pps2, err := avc.ParseConfigRecord(rec)
		if err != nil || len(sps2) != len(sps) || len(pps2) != len(pps) {
			t.Fatalf("round trip of %x: %x / %x, %v", b, sps2, pps2, err)
		}
	})
}

func FuzzSplitAVCC(f *testing.F) {
	f.Add([]byte{0, 0, 0, 3, 0x67, 1, 2, 0, 0, 0, 1, 0x68})
	f.Add([]byte{0, 0, 0, 9})
	f.Fuzz(func(t *testing.T, b []byte) {
		nalus, err := avc.SplitAVCC(b)
		if err != nil {
			return
		}
		if again := avc.AppendAVCC(nil, nalus); !bytes.Equal(again, b) {
			t.Fatalf("SplitAVCC/AppendAVCC round trip: %x -> %x", b, again)
		}
	})
}

func FuzzAnnexBToAVCC(f *testing.F) {
	f.Add([]byte{0, 0, 0, 1, 0x67, 1, 2, 0, 0, 1, 0x68, 3})
	f.Add([]byte{0, 0, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		avcc, err := avc.AnnexBToAVCC(b)
		if err != nil {
			return
		}
		if _, err := avc.SplitAVCC(avcc); err != nil {
			t.Fatalf("AnnexBToAVCC(%x) = %x, which SplitAVCC rejects: %v", b, avcc, err)
		}
	})
}

func FuzzParseSPS(f *testing.F) {
	f.Add(mustHex(f, sps720p))
	f.Add(mustHex(f, sps360p))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = avc.ParseSPS(b) // must not panic
	})
}
