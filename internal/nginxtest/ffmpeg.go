package nginxtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
)

// analyzeDuration is how long (µs) FFmpeg probes the stream before it plays. An FLV stream
// can add streams at any time, and with its default (5 s) every ffprobe or ffmpeg run on a
// video-only stream from nginx-rtmp waits the full 5 s first.
const analyzeDuration = "1500000"

// VideoStream is what ffprobe reports about the first video stream of a URL.
type VideoStream struct {
	// Codec is FFmpeg's codec name, "h264" for H.264.
	Codec string `json:"codec_name"`
	// Width and Height are the coded picture size.
	Width  int `json:"width"`
	Height int `json:"height"`
}

// Probe runs ffprobe (FFmpeg's, an independent RTMP player) on url and returns its first
// video stream. ctx bounds the run; ffprobe gives up after 20 s without data.
func Probe(ctx context.Context, url string) (VideoStream, error) {
	cmd := exec.CommandContext(ctx, "ffprobe", "-v", "error", "-rw_timeout", "20000000", "-analyzeduration", analyzeDuration,
		"-select_streams", "v:0", "-show_entries", "stream=codec_name,width,height", "-of", "json", url)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return VideoStream{}, fmt.Errorf("ffprobe %s: %w: %s", url, err, stderr.String())
	}
	var out struct {
		Streams []VideoStream `json:"streams"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		return VideoStream{}, fmt.Errorf("ffprobe %s: %w: %q", url, err, stdout.String())
	}
	if len(out.Streams) == 0 {
		return VideoStream{}, fmt.Errorf("ffprobe %s: no video stream: %s", url, stdout.String())
	}
	return out.Streams[0], nil
}

// DecodeRGB plays url with the ffmpeg command-line tool, decodes n pictures and returns them
// as packed RGB (3 bytes a pixel, width*height*3 bytes a picture, converted by FFmpeg to
// width x height if the stream differs). It fails when fewer than n pictures arrive before
// the stream ends, ctx ends, or 20 s pass without data.
func DecodeRGB(ctx context.Context, url string, n, width, height int) ([][]byte, error) {
	cmd := exec.CommandContext(ctx, "ffmpeg", "-nostdin", "-hide_banner", "-v", "error",
		"-rw_timeout", "20000000", "-analyzeduration", analyzeDuration, "-i", url, "-map", "0:v:0", "-frames:v", fmt.Sprint(n),
		"-s", fmt.Sprintf("%dx%d", width, height), "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	size := width * height * 3
	got := stdout.Len() / size
	if err != nil || got < n {
		return nil, fmt.Errorf("ffmpeg %s: %d of %d pictures (err %v): %s", url, got, n, err, stderr.String())
	}
	frames := make([][]byte, got)
	for i := range frames {
		frames[i] = stdout.Bytes()[i*size : (i+1)*size]
	}
	return frames, nil
}

// Pixel returns the RGB value at (x, y) of a packed RGB picture of the given width.
func Pixel(rgb []byte, width, x, y int) (r, g, b byte) {
	i := (y*width + x) * 3
	return rgb[i], rgb[i+1], rgb[i+2]
}
