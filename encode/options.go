package encode

import (
	"fmt"
	"log/slog"
	"math"
	"time"
)

// Encoder names accepted by Options.Encoder.
const (
	// EncoderAuto picks h264_nvenc when it opens on this machine, else libx264.
	EncoderAuto = "auto"
	// EncoderX264 is the CPU encoder x264 (FFmpeg's libx264).
	EncoderX264 = "libx264"
	// EncoderNVENC is NVIDIA's hardware encoder (FFmpeg's h264_nvenc). It needs the NVIDIA
	// driver (libcuda.so.1, libnvidia-encode.so.1) and a GPU with NVENC; H100/H200 have none.
	EncoderNVENC = "h264_nvenc"
)

// H.264 profiles accepted by Options.Profile. A profile is an upper bound: x264 signals the
// lowest profile its settings need, so the ultrafast preset yields Constrained Baseline even
// with ProfileMain.
const (
	// ProfileBaseline is Constrained Baseline: no CABAC, no B-frames; every decoder plays it.
	ProfileBaseline = "baseline"
	// ProfileMain adds CABAC; Flash-era RTMP players, VLC, ffplay and browsers all play it.
	ProfileMain = "main"
	// ProfileHigh adds the 8x8 transform; slightly better compression, not for the oldest
	// hardware decoders.
	ProfileHigh = "high"
)

// Defaults applied by New to zero-valued Options fields.
const (
	DefaultFrameRate        = 30.0
	DefaultKeyframeInterval = 2 * time.Second
	DefaultX264Preset       = "ultrafast"
	DefaultNVENCPreset      = "p1"
	DefaultProfile          = ProfileMain
	DefaultVBVFrames        = 3
	// DefaultBitrate720p is the default bitrate at 1280x720; other sizes scale it by area.
	DefaultBitrate720p = 4_000_000
	// MinBitrate and MaxBitrate bound Options.Bitrate and SetBitrate (bits/s).
	MinBitrate = 10_000
	MaxBitrate = 800_000_000
)

// Options configures an H264Encoder. Width and Height are required; every other zero value
// means the documented default.
type Options struct {
	// Width and Height of the input images and of the stream, in pixels. Both must be even
	// (4:2:0 chroma).
	Width, Height int
	// FrameRate is the nominal frame rate (frames/s), default 30. Timestamps come from the
	// pts given to Encode; the rate sizes the rate control, the VBV buffer and the GOP.
	FrameRate float64
	// Bitrate is the target bitrate in bits/s. Default: 4 Mbit/s at 1280x720, scaled by
	// area (1080p: 9 Mbit/s), at least 200 kbit/s.
	Bitrate int
	// KeyframeInterval is the time between periodic IDR frames, default 2 s.
	KeyframeInterval time.Duration
	// Encoder is "auto" (default), "libx264" or "h264_nvenc". With "auto" every New tries
	// NVENC first; a caller creating many encoders can create one with "auto" and pass its
	// Name() to the rest to skip the probe.
	Encoder string
	// X264Preset is the x264 speed preset, default "ultrafast".
	X264Preset string
	// NVENCPreset is the NVENC preset (p1 fastest .. p7 best), default "p1".
	NVENCPreset string
	// Profile is the H.264 profile ceiling: "baseline", "main" (default) or "high".
	Profile string
	// VBVFrames is the VBV (rate-control buffer) size in frame intervals at the target
	// bitrate, default 3. It bounds how far one frame may exceed the average frame size, so
	// it bounds the send delay a frame adds; 1 starves IDR frames (see docs/PERFORMANCE.md).
	VBVFrames int
	// Threads is the encoder's thread count; 0 lets x264 choose (one per CPU). x264 runs
	// slice threads only: frame threads would delay every frame's output.
	Threads int
	// Logger receives the encoder choice and reopen events; nil discards them.
	Logger *slog.Logger
}

// withDefaults returns o with defaults filled in, or an error wrapping ErrInvalidOptions or
// ErrUnknownEncoder.
func (o Options) withDefaults() (Options, error) {
	if o.Width <= 0 || o.Height <= 0 || o.Width%2 != 0 || o.Height%2 != 0 {
		return o, fmt.Errorf("%w: size %dx%d, want positive even width and height", ErrInvalidOptions, o.Width, o.Height)
	}
	if o.FrameRate == 0 {
		o.FrameRate = DefaultFrameRate
	}
	if o.FrameRate < 0 || o.FrameRate > 1000 || math.IsNaN(o.FrameRate) {
		return o, fmt.Errorf("%w: frame rate %g, want 0 < rate <= 1000", ErrInvalidOptions, o.FrameRate)
	}
	if o.Bitrate == 0 {
		o.Bitrate = max(200_000, int(int64(DefaultBitrate720p)*int64(o.Width)*int64(o.Height)/(1280*720)))
	}
	if o.Bitrate < MinBitrate || o.Bitrate > MaxBitrate {
		return o, fmt.Errorf("%w: bitrate %d bit/s, want %d..%d", ErrInvalidOptions, o.Bitrate, MinBitrate, MaxBitrate)
	}
	if o.KeyframeInterval == 0 {
		o.KeyframeInterval = DefaultKeyframeInterval
	}
	if o.KeyframeInterval < 0 {
		return o, fmt.Errorf("%w: keyframe interval %v, want > 0", ErrInvalidOptions, o.KeyframeInterval)
	}
	switch o.Encoder {
	case "":
		o.Encoder = EncoderAuto
	case EncoderAuto, EncoderX264, EncoderNVENC:
	default:
		return o, fmt.Errorf("%w: %q, want %q, %q or %q", ErrUnknownEncoder, o.Encoder, EncoderAuto, EncoderX264, EncoderNVENC)
	}
	if o.X264Preset == "" {
		o.X264Preset = DefaultX264Preset
	}
	if o.NVENCPreset == "" {
		o.NVENCPreset = DefaultNVENCPreset
	}
	switch o.Profile {
	case "":
		o.Profile = DefaultProfile
	case ProfileBaseline, ProfileMain, ProfileHigh:
	default:
		return o, fmt.Errorf("%w: profile %q, want %q, %q or %q", ErrInvalidOptions, o.Profile, ProfileBaseline, ProfileMain, ProfileHigh)
	}
	if o.VBVFrames == 0 {
		o.VBVFrames = DefaultVBVFrames
	}
	if o.VBVFrames < 0 {
		return o, fmt.Errorf("%w: VBV of %d frames, want > 0", ErrInvalidOptions, o.VBVFrames)
	}
	if o.Threads < 0 {
		return o, fmt.Errorf("%w: %d threads, want >= 0", ErrInvalidOptions, o.Threads)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o, nil
}

// keyframeFrames is the GOP length in frames.
func (o Options) keyframeFrames() int {
	return max(1, int(math.Round(o.KeyframeInterval.Seconds()*o.FrameRate)))
}

// vbvBits is the VBV buffer size in bits for a bitrate.
func (o Options) vbvBits(bitrate int) int {
	return max(1000, int(float64(bitrate)*float64(o.VBVFrames)/o.FrameRate))
}

// frameRateRational returns the frame rate as num/den: integers exactly, NTSC rates as
// n*1000/1001, anything else to a millisecond.
func frameRateRational(fps float64) (num, den int) {
	if r := math.Round(fps); math.Abs(fps-r) < 1e-6 {
		return int(r), 1
	}
	if r := math.Round(fps * 1.001); math.Abs(fps-r/1.001) < 1e-3 {
		return int(r) * 1000, 1001
	}
	return int(math.Round(fps * 1000)), 1000
}
