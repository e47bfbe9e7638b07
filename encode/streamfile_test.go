package encode_test

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"image"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/rendercast/rendercast/avc"
)

// writeAnnexB writes frames as an Annex-B .h264 file, the SPS and PPS in front of every frame
// that carries a configuration record (as a transport stream or an RTP depacketiser would
// deliver them).
func writeAnnexB(t testing.TB, path string, frames []*avc.Frame) {
	t.Helper()
	var b bytes.Buffer
	start := []byte{0, 0, 0, 1}
	for i, f := range frames {
		if f.Config != nil {
			sps, pps, err := avc.ParseConfigRecord(f.Config)
			if err != nil {
				t.Fatalf("frame %d: config: %v", i, err)
			}
			for _, n := range append(sps, pps...) {
				b.Write(start)
				b.Write(n)
			}
		}
		nalus, err := avc.SplitAVCC(f.NALUs)
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		for _, n := range nalus {
			b.Write(start)
			b.Write(n)
		}
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// writeFLV writes frames as a video-only FLV file, the way an RTMP server relays them: an AVC
// sequence header tag for every configuration record, then one NALU tag per frame with its
// timestamp.
func writeFLV(t testing.TB, path string, frames []*avc.Frame) {
	t.Helper()
	var b bytes.Buffer
	b.Write([]byte{'F', 'L', 'V', 1, 0x01, 0, 0, 0, 9, 0, 0, 0, 0})
	tag := func(ms int64, key bool, packetType byte, payload []byte) {
		size := 5 + len(payload)
		ts := uint32(ms)
		b.Write([]byte{9, byte(size >> 16), byte(size >> 8), byte(size),
			byte(ts >> 16), byte(ts >> 8), byte(ts), byte(ts >> 24), 0, 0, 0})
		frameType := byte(2) // inter frame
		if key {
			frameType = 1
		}
		b.Write([]byte{frameType<<4 | 7, packetType, 0, 0, 0}) // AVC, composition time 0
		b.Write(payload)
		total := uint32(11 + size)
		b.Write([]byte{byte(total >> 24), byte(total >> 16), byte(total >> 8), byte(total)})
	}
	for _, f := range frames {
		if f.Config != nil {
			tag(f.DTS.Milliseconds(), true, 0, f.Config)
		}
		tag(f.DTS.Milliseconds(), f.Keyframe, 1, f.NALUs)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// run runs a command and returns its stdout; a non-zero exit or anything on stderr fails the
// test (the decoders run with -v error: any output there is a decoding error).
func run(t testing.TB, name string, args ...string) []byte {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		t.Fatalf("%s not installed (scripts/setup.sh installs it): %v", name, err)
	}
	cmd := exec.Command(name, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err != nil || stderr.Len() > 0 {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, stderr.String())
	}
	return stdout.Bytes()
}

// ffmpegMD5s decodes a file with the ffmpeg command line (exiting on the first decoding error,
// every frame passed through without frame-rate conversion or scaling) and returns the MD5 of
// every decoded picture (yuv420p, planes packed).
func ffmpegMD5s(t testing.TB, path string) []string {
	t.Helper()
	out := run(t, "ffmpeg", "-nostdin", "-v", "error", "-xerror", "-i", path,
		"-fps_mode", "passthrough", "-autoscale", "0", "-f", "framemd5", "-")
	var sums []string
	for _, line := range strings.Split(string(out), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Split(line, ",")
		sums = append(sums, strings.TrimSpace(fields[len(fields)-1]))
	}
	return sums
}

// ffprobeCount returns the number of frames ffprobe decodes in a file's video stream.
func ffprobeCount(t testing.TB, path string) int {
	t.Helper()
	out := run(t, "ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0",
		"-show_entries", "stream=nb_read_frames", "-of", "csv=p=0", path)
	n, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil {
		t.Fatalf("ffprobe %s: frame count %q: %v", path, out, err)
	}
	return n
}

// gstreamerFrames decodes a file with GStreamer (h264parse and avdec_h264, after flvdemux for
// FLV) into raw I420 and cuts the output into pictures of the given sizes, in order.
func gstreamerFrames(t testing.TB, path string, sizes []image.Point) ([]*image.YCbCr, []byte) {
	t.Helper()
	raw := filepath.Join(t.TempDir(), "gst.yuv")
	args := []string{"-q", "filesrc", "location=" + path, "!"}
	if strings.HasSuffix(path, ".flv") {
		args = append(args, "flvdemux", "!")
	}
	args = append(args, "h264parse", "!", "avdec_h264", "!", "video/x-raw,format=I420", "!",
		"filesink", "location="+raw)
	run(t, "gst-launch-1.0", args...)
	data, err := os.ReadFile(raw)
	if err != nil {
		t.Fatal(err)
	}
	var out []*image.YCbCr
	rest := data
	for _, s := range sizes {
		m := image.NewYCbCr(image.Rect(0, 0, s.X, s.Y), image.YCbCrSubsampleRatio420)
		n := len(m.Y) + len(m.Cb) + len(m.Cr)
		if len(rest) < n {
			break
		}
		copy(m.Y, rest)
		copy(m.Cb, rest[len(m.Y):])
		copy(m.Cr, rest[len(m.Y)+len(m.Cb):])
		rest = rest[n:]
		out = append(out, m)
	}
	return out, rest
}

// pictureMD5 is the MD5 of a picture's planes packed (what ffmpeg's framemd5 hashes).
func pictureMD5(m *image.YCbCr) string {
	h := md5.New()
	w, ht := m.Rect.Dx(), m.Rect.Dy()
	for y := range ht {
		h.Write(m.Y[y*m.YStride : y*m.YStride+w])
	}
	for _, p := range [][]uint8{m.Cb, m.Cr} {
		for y := range (ht + 1) / 2 {
			h.Write(p[y*m.CStride : y*m.CStride+(w+1)/2])
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}
