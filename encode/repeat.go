package encode

import (
	"errors"
	"fmt"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"

	"github.com/rendercast/rendercast/avc"
)

// ErrNoRepeat is returned by Repeat when it cannot make a repeat: the encoder's
// configuration does not allow one, nothing was encoded yet, or an IDR is due. The caller
// then encodes the picture again.
var ErrNoRepeat = errors.New("encode: no repeat")

// Repeat returns an access unit that shows the last encoded picture again at pts, made
// without encoding (a P picture of skipped macroblocks). It fails with ErrNoRepeat (wrapped
// with the reason) when the configuration does not allow it, before the first frame, and
// when a keyframe is due (requested, or KeyframeInterval since the last IDR).
//
// A requested keyframe stays requested, and after a refusal for the keyframe interval the
// next Encode makes an IDR, so a still picture keeps its regular IDRs. Timestamps follow
// Encode's rule (rising milliseconds). A repeat counts in Stats as a frame (Frames, Bytes)
// and in Repeats; it takes no part in LastEncode and TotalEncode.
func (e *H264Encoder) Repeat(pts time.Duration) (*avc.Frame, error) {
	if pts < 0 {
		return nil, fmt.Errorf("%w: %v, want >= 0", ErrInvalidPTS, pts)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, ErrClosed
	}
	ms := pts.Milliseconds()
	if ms <= e.lastPTS {
		ms = e.lastPTS + 1
	}
	r := &e.rep
	switch {
	case r.params == nil:
		return nil, r.why
	case !r.started:
		return nil, fmt.Errorf("%w: no picture encoded since the encoder opened", ErrNoRepeat)
	case e.keyframe.Load():
		return nil, fmt.Errorf("%w: a keyframe is requested", ErrNoRepeat)
	case len(e.pending) > 0:
		return nil, fmt.Errorf("%w: the encoder holds %d access units", ErrNoRepeat, len(e.pending))
	}
	if since, every := ms-r.lastIDR, e.opts.KeyframeInterval.Milliseconds(); since >= every {
		r.idrDue = true
		return nil, fmt.Errorf("%w: keyframe due (%d ms since the last IDR, interval %v)", ErrNoRepeat, since, e.opts.KeyframeInterval)
	}
	nal := r.params.SkipSlice(r.frameNum, r.refIdc)
	r.frameNum = (r.frameNum + 1) % r.params.MaxFrameNum()
	r.sinceIDR++
	e.lastPTS = ms
	f := &avc.Frame{
		NALUs: avc.AppendAVCC(make([]byte, 0, 4+len(nal)), [][]byte{nal}),
		PTS:   time.Duration(ms) * time.Millisecond,
		DTS:   time.Duration(ms) * time.Millisecond,
	}
	if e.sendConfig {
		f.Config, e.sendConfig = e.config, false
	}
	e.statsMu.Lock()
	e.stats.Frames++
	e.stats.Repeats++
	e.stats.Bytes += int64(len(f.NALUs))
	e.statsMu.Unlock()
	return f, nil
}

// CanRepeat reports whether Repeat can work with this encoder's configuration. It does not
// wait for an encode in progress.
func (e *H264Encoder) CanRepeat() bool { return e.canRepeat.Load() }

// Resize changes the size of the pictures and the stream: the encoder is reopened and the
// next frame is an IDR carrying the new configuration record. Encode then takes images of
// the new size only, and the next frame must come from Encode (Repeat refuses until then).
// The bitrate stays as it is. Resizing to the current size does nothing. Errors wrap
// ErrInvalidOptions (odd or non-positive size, or one the encoder refuses: the old size
// stays, the next frame an IDR), ErrClosed, or ErrEncoderUnavailable (the encoder is then
// closed).
func (e *H264Encoder) Resize(width, height int) error {
	if width <= 0 || height <= 0 || width%2 != 0 || height%2 != 0 {
		return fmt.Errorf("%w: size %dx%d, want positive even width and height", ErrInvalidOptions, width, height)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return ErrClosed
	}
	if width == e.opts.Width && height == e.opts.Height {
		return nil
	}
	pic, err := newPicture(width, height)
	if err != nil {
		return err
	}
	o := e.opts
	o.Width, o.Height = width, height
	if err := e.reopen(o, e.bitrate); err != nil {
		pic.free()
		return err
	}
	e.pic.free()
	e.pic = pic
	return nil
}

// repeater makes the repeats of one opened codec and keeps frame_num running on across them:
// the encoder numbers only the pictures it made, so its slices are renumbered after repeats.
// It lives under H264Encoder.mu.
type repeater struct {
	params   *avc.SliceParams // nil when repeats are not possible
	why      error            // why not (wraps ErrNoRepeat) when params is nil
	started  bool             // a picture came out of this codec
	frameNum uint32           // frame_num of the next picture
	refIdc   uint8            // nal_ref_idc of the encoder's P pictures, used for repeats
	lastIDR  int64            // pts (ms) of the last IDR
	sinceIDR int              // repeats since the last IDR
	idrDue   bool             // a repeat was refused for the keyframe interval
}

// newRepeater reads the configuration record of codec name and decides whether repeats
// are possible.
func newRepeater(name string, config []byte) repeater {
	r := repeater{refIdc: 2}
	if name != EncoderX264 {
		r.why = fmt.Errorf("%w: %s streams are not supported (libx264 only)", ErrNoRepeat, name)
		return r
	}
	sps, pps, err := avc.ParseConfigRecord(config)
	if err == nil && (len(sps) != 1 || len(pps) != 1) {
		err = fmt.Errorf("%d SPS and %d PPS, want one of each", len(sps), len(pps))
	}
	var p *avc.SliceParams
	if err == nil {
		p, err = avc.NewSliceParams(sps[0], pps[0])
	}
	if err == nil {
		err = p.SkipSupported()
	}
	if err != nil {
		r.why = fmt.Errorf("%w: %w", ErrNoRepeat, err)
		return r
	}
	r.params = p
	return r
}

// idrNeeded reports whether the picture at ms must be an IDR although the encoder would not
// make one: repeats hide pictures from the encoder's own keyframe count.
func (r *repeater) idrNeeded(ms int64, interval time.Duration) bool {
	return r.idrDue || (r.sinceIDR > 0 && ms-r.lastIDR >= interval.Milliseconds())
}

// picture notes an access unit that came out of the encoder and gives its slices the
// frame_num that follows the repeats before it.
func (r *repeater) picture(f *avc.Frame) error {
	nalus, err := avc.SplitAVCC(f.NALUs)
	if err != nil {
		return err
	}
	first := -1
	for i, n := range nalus {
		if t := avc.NALUType(n); t == h264.NALUTypeIDR || t == h264.NALUTypeNonIDR {
			first = i
			break
		}
	}
	if first < 0 {
		return nil
	}
	r.started = true
	if avc.NALUType(nalus[first]) == h264.NALUTypeIDR {
		r.lastIDR, r.sinceIDR, r.idrDue = f.PTS.Milliseconds(), 0, false
		r.frameNum = 1 // IDR pictures have frame_num 0 and are references
		return nil
	}
	if r.params == nil {
		return nil
	}
	refIdc := nalus[first][0] >> 5 & 3
	if refIdc != 0 {
		r.refIdc = refIdc
	}
	got, err := r.params.FrameNum(nalus[first])
	if err != nil {
		return r.fail(err)
	}
	if want := r.frameNum % r.params.MaxFrameNum(); got != want {
		for i, n := range nalus {
			if t := avc.NALUType(n); t != h264.NALUTypeIDR && t != h264.NALUTypeNonIDR {
				continue
			}
			if nalus[i], err = r.params.SetFrameNum(n, want); err != nil {
				return r.fail(err)
			}
		}
		size := 0
		for _, n := range nalus {
			size += 4 + len(n)
		}
		f.NALUs = avc.AppendAVCC(make([]byte, 0, size), nalus)
	}
	if refIdc != 0 {
		r.frameNum = (r.frameNum + 1) % r.params.MaxFrameNum()
	}
	return nil
}

// fail turns repeats off after a slice could not be renumbered and has the next picture
// made an IDR, which needs no renumbering.
func (r *repeater) fail(err error) error {
	r.params, r.why, r.idrDue = nil, fmt.Errorf("%w: renumbering the encoder's slices failed: %w", ErrNoRepeat, err), true
	return fmt.Errorf("%w: renumbering slices after repeats: %w", ErrEncode, err)
}
