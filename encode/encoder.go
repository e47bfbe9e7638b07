package encode

import (
	"errors"
	"fmt"
	"image"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asticode/go-astiav"

	"github.com/rendercast/rendercast/avc"
)

// H264Encoder encodes images to low-latency H.264 through FFmpeg: one access unit out per
// image in, at once (no B-frames, no lookahead, no frame threads).
//
// Encode, Repeat, SetBitrate, Resize and Close may be called from different goroutines; they
// serialise on a lock. RequestKeyframe, CanRepeat, Stats, Name, Choice and Options never wait
// for an encode.
// Close must be called: the encoder holds C memory and threads.
type H264Encoder struct {
	opts   Options
	choice Choice

	keyframe  atomic.Bool // next frame must be an IDR
	canRepeat atomic.Bool // the open codec's stream allows repeats

	mu         sync.Mutex // guards everything below
	codec      *codec
	pic        *picture
	pkt        *astiav.Packet
	sendConfig bool   // attach the configuration record to the next frame out
	config     []byte // current configuration record
	lastPTS    int64  // ms; -1 before the first frame
	pending    []*avc.Frame
	closed     bool
	bitrate    int
	rep        repeater // repeats and frame_num renumbering for the open codec

	statsMu sync.Mutex
	stats   Stats
}

// Choice says which encoder runs and why.
type Choice struct {
	// Requested is Options.Encoder ("auto", "libx264" or "h264_nvenc").
	Requested string
	// Encoder is the FFmpeg encoder in use ("libx264" or "h264_nvenc").
	Encoder string
	// Reason explains the choice, e.g. why NVENC was not used.
	Reason string
}

// String returns e.g. "libx264 (auto: h264_nvenc failed to open ...; using libx264)".
func (c Choice) String() string {
	return fmt.Sprintf("%s (%s: %s)", c.Encoder, c.Requested, c.Reason)
}

// Stats are an encoder's counters for metrics.
type Stats struct {
	// Frames, Keyframes and Bytes count the access units returned and their AVCC size.
	Frames, Keyframes, Bytes int64
	// LastEncode is the time the last Encode call took (input copy or RGBA conversion,
	// encoding, packaging), excluding any wait for the lock; TotalEncode sums them all.
	LastEncode, TotalEncode time.Duration
	// LastQP is the quantiser of the last frame out (lower is better; -1 if unknown).
	LastQP int
	// Bitrate is the current target in bits/s.
	Bitrate int
	// Reopens counts encoder reopens (NVENC bitrate changes, Resize).
	Reopens int64
	// Repeats counts the access units made by Repeat (also counted in Frames and Bytes).
	Repeats int64
}

// New opens an H.264 encoder. With Encoder "auto" (the default) it tries h264_nvenc and falls
// back to libx264; Choice tells which runs and why. Errors wrap ErrInvalidOptions,
// ErrUnknownEncoder or ErrEncoderUnavailable.
func New(o Options) (*H264Encoder, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	e := &H264Encoder{opts: o, bitrate: o.Bitrate, lastPTS: -1}
	var c *codec
	switch o.Encoder {
	case EncoderAuto:
		var nvErr error
		if c, nvErr = openCodec(EncoderNVENC, o, o.Bitrate); nvErr == nil {
			e.choice = Choice{Requested: o.Encoder, Encoder: EncoderNVENC, Reason: "h264_nvenc opened"}
			break
		}
		if c, err = openCodec(EncoderX264, o, o.Bitrate); err != nil {
			return nil, fmt.Errorf("%w (after %w)", err, nvErr)
		}
		reason := nvErr.Error()
		var u *unavailableError
		if errors.As(nvErr, &u) {
			reason = u.reason
		}
		e.choice = Choice{Requested: o.Encoder, Encoder: EncoderX264, Reason: reason + "; using libx264"}
	default:
		if c, err = openCodec(o.Encoder, o, o.Bitrate); err != nil {
			return nil, err
		}
		e.choice = Choice{Requested: o.Encoder, Encoder: o.Encoder, Reason: "requested"}
	}
	if e.pic, err = newPicture(o.Width, o.Height); err != nil {
		c.close()
		return nil, err
	}
	if e.pkt = astiav.AllocPacket(); e.pkt == nil {
		c.close()
		e.pic.free()
		return nil, fmt.Errorf("%w: av_packet_alloc failed", ErrEncode)
	}
	e.codec, e.config, e.sendConfig = c, c.config, true
	e.setRepeater(newRepeater(c.name, c.config))
	e.stats = Stats{LastQP: -1, Bitrate: o.Bitrate}
	o.Logger.Info("encode: encoder open", "encoder", e.choice.Encoder, "requested", o.Encoder, "reason", e.choice.Reason,
		"size", fmt.Sprintf("%dx%d", o.Width, o.Height), "fps", o.FrameRate, "bitrate", o.Bitrate, "profile", o.Profile)
	return e, nil
}

// Encode encodes img (*image.YCbCr 4:2:0, or *image.RGBA converted to BT.709 4:2:0) shown
// at pts from the stream start. It returns the access unit in AVCC form with pts and dts in
// milliseconds; Config is set on the first frame, after a reopen and whenever the parameter
// sets change. A pts not after the previous one is moved 1 ms past it (FLV needs rising
// timestamps). It returns nil, nil when the encoder produced nothing for this input (it does
// not happen with the settings used here).
func (e *H264Encoder) Encode(img image.Image, pts time.Duration) (*avc.Frame, error) {
	if pts < 0 {
		return nil, fmt.Errorf("%w: %v, want >= 0", ErrInvalidPTS, pts)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, ErrClosed
	}
	start := time.Now()
	if err := e.pic.fill(img); err != nil {
		return nil, err
	}
	ms := pts.Milliseconds()
	if ms <= e.lastPTS {
		ms = e.lastPTS + 1
	}
	f := e.pic.frame
	f.SetPts(ms)
	key := e.keyframe.Swap(false)
	if key || e.rep.idrNeeded(ms, e.opts.KeyframeInterval) {
		// SetKeyFrame alone is ignored by the encoders; a forced I picture with
		// forced-idr becomes an IDR.
		f.SetPictureType(astiav.PictureTypeI)
	}
	err := e.codec.cc.SendFrame(f)
	f.SetPictureType(astiav.PictureTypeNone)
	if err != nil {
		if key {
			e.keyframe.Store(true)
		}
		return nil, fmt.Errorf("%w: %s: sending the frame at %d ms: %w", ErrEncode, e.codec.name, ms, err)
	}
	e.lastPTS = ms
	qp, err := e.receive()
	if err != nil {
		return nil, err
	}
	var out *avc.Frame
	if n := len(e.pending); n > 0 {
		out = e.pending[0]
		copy(e.pending, e.pending[1:])
		e.pending[n-1] = nil
		e.pending = e.pending[:n-1]
	}
	e.account(out, qp, time.Since(start))
	return out, nil
}

// receive moves every packet the encoder has ready to e.pending and returns the QP of the
// last one (-1 if none or unknown).
func (e *H264Encoder) receive() (qp int, err error) {
	qp = -1
	for {
		if err := e.codec.cc.ReceivePacket(e.pkt); err != nil {
			if errors.Is(err, astiav.ErrEagain) || errors.Is(err, astiav.ErrEof) {
				return qp, nil
			}
			return qp, fmt.Errorf("%w: %s: receiving a packet: %w", ErrEncode, e.codec.name, err)
		}
		fr, q, cfg, err := packetFrame(e.pkt, e.config)
		e.pkt.Unref()
		if err != nil {
			return qp, err
		}
		if fr == nil {
			continue
		}
		if cfg != nil {
			e.config, e.sendConfig = cfg, true
			e.setRepeater(newRepeater(e.codec.name, cfg))
		}
		if err := e.rep.picture(fr); err != nil {
			e.canRepeat.Store(false)
			return qp, err
		}
		if e.sendConfig {
			fr.Config, e.sendConfig = e.config, false
		}
		qp = q
		e.pending = append(e.pending, fr)
	}
}

func (e *H264Encoder) account(f *avc.Frame, qp int, took time.Duration) {
	e.statsMu.Lock()
	defer e.statsMu.Unlock()
	e.stats.LastEncode = took
	e.stats.TotalEncode += took
	if f == nil {
		return
	}
	e.stats.Frames++
	e.stats.Bytes += int64(len(f.NALUs))
	if f.Keyframe {
		e.stats.Keyframes++
	}
	if qp >= 0 {
		e.stats.LastQP = qp
	}
}

// RequestKeyframe makes the next frame out an IDR. It does not wait for an encode in progress.
func (e *H264Encoder) RequestKeyframe() { e.keyframe.Store(true) }

// SetBitrate changes the target bitrate (and the VBV with it) from the next frame. x264 is
// reconfigured in place; NVENC is reopened, and the next frame is an IDR preceded by the
// configuration record, so the stream stays decodable. Errors wrap ErrInvalidBitrate,
// ErrClosed or, for a failed reopen, ErrEncoderUnavailable (the old bitrate stays, unless
// that does not open again either: the encoder is then closed).
func (e *H264Encoder) SetBitrate(bitsPerSecond int) error {
	if bitsPerSecond < MinBitrate || bitsPerSecond > MaxBitrate {
		return fmt.Errorf("%w: %d bit/s, want %d..%d", ErrInvalidBitrate, bitsPerSecond, MinBitrate, MaxBitrate)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return ErrClosed
	}
	if bitsPerSecond == e.bitrate {
		return nil
	}
	if e.codec.inline {
		e.codec.rate.set(bitsPerSecond, e.opts.vbvBits(bitsPerSecond))
	} else if err := e.reopen(e.opts, bitsPerSecond); err != nil {
		return err
	}
	e.bitrate = bitsPerSecond
	e.statsMu.Lock()
	e.stats.Bitrate = bitsPerSecond
	e.statsMu.Unlock()
	return nil
}

// reopen replaces the codec by a new one for o at bitrate, keeping the packets the old one
// still held, and makes o the encoder's options. The old one closes first: NVENC limits
// concurrent sessions per GPU. When the new one does not open, the old configuration is
// opened again (its first frame an IDR) and the error returned; only when that fails too is
// the encoder closed.
func (e *H264Encoder) reopen(o Options, bitrate int) error {
	if err := e.codec.cc.SendFrame(nil); err == nil {
		if _, err := e.receive(); err != nil {
			e.opts.Logger.Warn("encode: draining before reopen", "err", err)
		}
	}
	name := e.codec.name
	e.codec.close()
	c, err := openCodec(name, o, bitrate)
	if err != nil {
		err = fmt.Errorf("reopening at %dx%d, %d bit/s: %w", o.Width, o.Height, bitrate, err)
		old, oldErr := openCodec(name, e.opts, e.bitrate)
		if oldErr != nil {
			e.closeLocked()
			return err
		}
		e.codec, e.config, e.sendConfig = old, old.config, true
		e.setRepeater(newRepeater(old.name, old.config))
		return err
	}
	e.codec, e.config, e.sendConfig = c, c.config, true
	e.setRepeater(newRepeater(c.name, c.config))
	e.statsMu.Lock()
	e.opts = o // written under both locks: Options reads it under statsMu only
	e.stats.Reopens++
	e.statsMu.Unlock()
	o.Logger.Info("encode: encoder reopened", "encoder", c.name, "size", fmt.Sprintf("%dx%d", o.Width, o.Height), "bitrate", bitrate)
	return nil
}

// setRepeater installs the repeat state for a newly opened codec or parameter set.
func (e *H264Encoder) setRepeater(r repeater) {
	e.rep = r
	e.canRepeat.Store(r.params != nil)
}

// Name returns the FFmpeg encoder in use: "libx264" or "h264_nvenc".
func (e *H264Encoder) Name() string { return e.choice.Encoder }

// Choice returns which encoder runs and why.
func (e *H264Encoder) Choice() Choice { return e.choice }

// Options returns the options in effect: defaults filled in, Bitrate the current target,
// Width and Height the current size (after Resize).
func (e *H264Encoder) Options() Options {
	e.statsMu.Lock()
	defer e.statsMu.Unlock()
	o := e.opts
	o.Bitrate = e.stats.Bitrate
	return o
}

// Stats returns a snapshot of the encoder's counters.
func (e *H264Encoder) Stats() Stats {
	e.statsMu.Lock()
	defer e.statsMu.Unlock()
	return e.stats
}

// Close frees the encoder's FFmpeg resources. Frames still inside the encoder are dropped.
// Further calls return nil; Encode, Repeat, SetBitrate and Resize then return ErrClosed.
func (e *H264Encoder) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.closeLocked()
	return nil
}

func (e *H264Encoder) closeLocked() {
	if e.closed {
		return
	}
	e.closed = true
	e.canRepeat.Store(false)
	e.codec.close()
	e.pic.free()
	e.pkt.Free()
	e.pending = nil
}
