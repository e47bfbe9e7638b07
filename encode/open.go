package encode

import (
	"fmt"
	"sort"
	"strconv"

	"github.com/asticode/go-astiav"
)

// codec is one opened FFmpeg encoder and the parameter sets it announced.
type codec struct {
	name   string
	cc     *astiav.CodecContext
	rate   rateControl
	inline bool   // rate changes apply in place (else SetBitrate reopens)
	config []byte // AVCDecoderConfigurationRecord built from the global header
}

// close frees the codec context. It is safe to call twice.
func (c *codec) close() {
	if c.cc != nil {
		c.cc.Free()
		c.cc = nil
	}
}

// openCodec opens encoder name ("libx264" or "h264_nvenc") for o at the given bitrate.
// A failure wraps ErrEncoderUnavailable when the encoder cannot run here.
func openCodec(name string, o Options, bitrate int) (*codec, error) {
	found := astiav.FindEncoderByName(name)
	if found == nil {
		return nil, &unavailableError{reason: name + " is not in this FFmpeg build"}
	}
	cc := astiav.AllocCodecContext(found)
	if cc == nil {
		return nil, fmt.Errorf("%w: %s: avcodec_alloc_context3 failed", ErrEncode, name)
	}
	num, den := frameRateRational(o.FrameRate)
	cc.SetWidth(o.Width)
	cc.SetHeight(o.Height)
	cc.SetPixelFormat(astiav.PixelFormatYuv420P)
	// Milliseconds, as FLV carries them; x264 then needs the real rate for its rate control
	// (with only the time base it assumes 1000 frames/s).
	cc.SetTimeBase(astiav.NewRational(1, 1000))
	cc.SetFramerate(astiav.NewRational(num, den))
	cc.SetGopSize(o.keyframeFrames())
	cc.SetBitRate(int64(bitrate))
	// Global header: SPS/PPS come once, as extradata, for the FLV sequence header.
	cc.SetFlags(cc.Flags().Add(astiav.CodecContextFlagGlobalHeader).Add(astiav.CodecContextFlagClosedGop))

	opts := map[string]string{
		"bf":         "0",
		"maxrate":    strconv.Itoa(bitrate),
		"bufsize":    strconv.Itoa(o.vbvBits(bitrate)),
		"profile":    o.Profile,
		"forced-idr": "1",
		// BT.709 limited range: what RGBA input is converted to, and what the renderer's
		// shader writes into *image.YCbCr canvases.
		"colorspace":      "bt709",
		"color_primaries": "bt709",
		"color_trc":       "bt709",
		"color_range":     "tv",
	}
	switch name {
	case EncoderX264:
		opts["preset"] = o.X264Preset
		opts["tune"] = "zerolatency"
		// Slice threads (or one thread) only: frame threads hold frames back. With FFmpeg
		// 5.1 zerolatency's slice threads already survive the default thread type (x264's
		// SEI says sliced_threads=1 either way); setting it keeps that from depending on it.
		cc.SetThreadType(astiav.ThreadTypeSlice)
		cc.SetThreadCount(o.Threads)
	case EncoderNVENC:
		opts["preset"] = o.NVENCPreset
		opts["tune"] = "ull"
		opts["rc"] = "cbr"
		opts["zerolatency"] = "1"
		opts["delay"] = "0"
	}
	dict := astiav.NewDictionary()
	defer dict.Free()
	for k, v := range opts {
		if err := dict.Set(k, v, 0); err != nil {
			cc.Free()
			return nil, fmt.Errorf("%w: %s: option %s=%s: %w", ErrEncode, name, k, v, err)
		}
	}
	if err := cc.Open(found, dict); err != nil {
		cc.Free()
		if name == EncoderNVENC {
			// FindEncoderByName succeeds without a GPU; only opening tells.
			return nil, &unavailableError{reason: fmt.Sprintf("%s failed to open (avcodec_open2: %v): %s", name, err, nvencMissing()), cause: err}
		}
		return nil, fmt.Errorf("%w: %s failed to open %dx%d at %g fps, %d bit/s (preset %s, profile %s): %w",
			ErrInvalidOptions, name, o.Width, o.Height, o.FrameRate, bitrate, o.X264Preset, o.Profile, err)
	}
	if left := unusedOptions(dict); len(left) > 0 {
		o.Logger.Warn("encode: options the encoder did not take", "encoder", name, "options", left)
	}
	c := &codec{name: name, cc: cc}
	config, err := configFromExtradata(cc.ExtraData())
	if err != nil {
		c.close()
		return nil, fmt.Errorf("%w: %s: global header: %w", ErrEncode, name, err)
	}
	c.config = config
	if name == EncoderX264 {
		c.rate, c.inline = newRateControl(cc, o.Width, o.Height)
		if !c.inline {
			o.Logger.Warn("encode: codec context not verified; bitrate changes will reopen the encoder", "encoder", name)
		}
	}
	return c, nil
}

// unusedOptions lists the dictionary entries an encoder left unconsumed.
func unusedOptions(d *astiav.Dictionary) []string {
	var left []string
	var e *astiav.DictionaryEntry
	for {
		if e = d.Get("", e, astiav.NewDictionaryFlags(astiav.DictionaryFlagIgnoreSuffix)); e == nil {
			break
		}
		left = append(left, e.Key()+"="+e.Value())
	}
	sort.Strings(left)
	return left
}

// unavailableError is an encoder that cannot run on this machine. It matches
// ErrEncoderUnavailable and the FFmpeg error behind it; reason is what Choice reports.
type unavailableError struct {
	reason string
	cause  error
}

func (e *unavailableError) Error() string { return ErrEncoderUnavailable.Error() + ": " + e.reason }

func (e *unavailableError) Unwrap() []error {
	if e.cause == nil {
		return []error{ErrEncoderUnavailable}
	}
	return []error{ErrEncoderUnavailable, e.cause}
}
