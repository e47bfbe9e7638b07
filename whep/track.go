package whep

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/rendercast/rendercast/avc"
)

// Header extensions the track writes when the peer negotiated them.
const (
	// playoutDelayURI carries min/max playout delay: 0/0 asks the receiver to render every
	// frame as soon as it is decoded (no jitter-buffer delay), which is what an interactive
	// view wants on a good network.
	playoutDelayURI = "http://www.webrtc.org/experiments/rtp-hdrext/playout-delay"
	// rtpPayloadMTU is the largest RTP payload; 1200 bytes fit every path's MTU with room for
	// SRTP, TURN and tunnel headers.
	rtpPayloadMTU = 1200
	h264ClockRate = 90000
)

// h264Codec is the one video codec sessions offer: H.264 Constrained Baseline with
// packetization mode 1 (what every browser decodes), with the RTCP feedback sessions act on.
var h264Codec = webrtc.RTPCodecParameters{
	RTPCodecCapability: webrtc.RTPCodecCapability{
		MimeType:    webrtc.MimeTypeH264,
		ClockRate:   h264ClockRate,
		SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
		RTCPFeedback: []webrtc.RTCPFeedback{
			{Type: webrtc.TypeRTCPFBGoogREMB}, {Type: webrtc.TypeRTCPFBCCM, Parameter: "fir"},
			{Type: webrtc.TypeRTCPFBNACK}, {Type: webrtc.TypeRTCPFBNACK, Parameter: "pli"},
		},
	},
	PayloadType: 102,
}

// rtxCodec carries retransmissions of h264Codec's packets on a stream of their own (RFC
// 4588), so that the receiver's loss and jitter figures for the media stream stay clean;
// used when the peer offers it (browsers do), plain resends otherwise.
var rtxCodec = webrtc.RTPCodecParameters{
	RTPCodecCapability: webrtc.RTPCodecCapability{
		MimeType: webrtc.MimeTypeRTX, ClockRate: h264ClockRate, SDPFmtpLine: "apt=102",
	},
	PayloadType: 103,
}

// videoTrack is a webrtc.TrackLocal that sends encoder output: it converts each access
// unit from AVCC to Annex-B (with SPS and PPS before every IDR), packetises it with pion's
// H.264 payloader and stamps RTP time from the frame's pts, so the receiver sees the
// capture timing rather than the send timing.
type videoTrack struct {
	id, streamID string
	onBind       func() // called after a binding is made (a keyframe is then wanted)

	mu           sync.Mutex
	bound        bool
	ssrc         uint32
	pt           uint8
	writer       webrtc.TrackLocalWriter
	absSendID    uint8
	playoutID    uint8
	transportCC  bool   // the peer negotiated transport-wide congestion control
	rtxSSRC      uint32 // of the retransmission stream; 0 without
	payloader    codecs.H264Payloader
	seq          uint16
	tsBase       uint32
	sps, pps     [][]byte
	packets      uint64
	bytes        uint64
	frames       uint64
	keyframes    uint64
	unboundDrops uint64
	annexB       []byte
}

func newVideoTrack(id, streamID string, seq uint16, tsBase uint32, onBind func()) *videoTrack {
	return &videoTrack{id: id, streamID: streamID, seq: seq, tsBase: tsBase, onBind: onBind}
}

// Bind implements webrtc.TrackLocal.
func (t *videoTrack) Bind(ctx webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	var codec *webrtc.RTPCodecParameters
	for _, c := range ctx.CodecParameters() {
		if strings.EqualFold(c.MimeType, webrtc.MimeTypeH264) {
			codec = &c
			break
		}
	}
	if codec == nil {
		return webrtc.RTPCodecParameters{}, webrtc.ErrUnsupportedCodec
	}
	t.mu.Lock()
	t.bound = true
	t.ssrc = uint32(ctx.SSRC())
	t.pt = uint8(codec.PayloadType)
	t.writer = ctx.WriteStream()
	t.rtxSSRC = uint32(ctx.SSRCRetransmission())
	t.absSendID, t.playoutID, t.transportCC = 0, 0, false
	for _, e := range ctx.HeaderExtensions() {
		switch e.URI {
		case sdp.ABSSendTimeURI:
			t.absSendID = uint8(e.ID)
		case playoutDelayURI:
			t.playoutID = uint8(e.ID)
		case sdp.TransportCCURI:
			t.transportCC = true
		}
	}
	t.mu.Unlock()
	if t.onBind != nil {
		t.onBind()
	}
	return *codec, nil
}

// Unbind implements webrtc.TrackLocal.
func (t *videoTrack) Unbind(webrtc.TrackLocalContext) error {
	t.mu.Lock()
	t.bound, t.writer = false, nil
	t.mu.Unlock()
	return nil
}

// ID implements webrtc.TrackLocal.
func (t *videoTrack) ID() string { return t.id }

// RID implements webrtc.TrackLocal.
func (t *videoTrack) RID() string { return "" }

// StreamID implements webrtc.TrackLocal.
func (t *videoTrack) StreamID() string { return t.streamID }

// Kind implements webrtc.TrackLocal.
func (t *videoTrack) Kind() webrtc.RTPCodecType { return webrtc.RTPCodecTypeVideo }

// writeFrame sends one access unit and returns the RTP packets and payload bytes sent
// (none before the track is bound). Only the session's writer goroutine calls it.
func (t *videoTrack) writeFrame(f *avc.Frame) (packets, bytes int, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if f.Config != nil {
		sps, pps, err := avc.ParseConfigRecord(f.Config)
		if err != nil {
			return 0, 0, fmt.Errorf("whep: frame at %v: %w", f.PTS, err)
		}
		t.sps, t.pps = cloneAll(sps), cloneAll(pps)
	}
	if !t.bound {
		t.unboundDrops++
		return 0, 0, nil
	}
	t.annexB, err = annexB(t.annexB[:0], f, t.sps, t.pps)
	if err != nil {
		return 0, 0, err
	}
	ts := t.tsBase + uint32(f.PTS*h264ClockRate/time.Second)
	payloads := t.payloader.Payload(rtpPayloadMTU, t.annexB)
	var playout []byte
	if t.playoutID != 0 {
		playout, _ = rtp.PlayoutDelayExtension{}.Marshal() // min 0, max 0: render at once
	}
	for i, p := range payloads {
		h := rtp.Header{Version: 2, Marker: i == len(payloads)-1, PayloadType: t.pt,
			SequenceNumber: t.seq, Timestamp: ts, SSRC: t.ssrc}
		t.seq++
		if t.absSendID != 0 {
			b, _ := rtp.NewAbsSendTimeExtension(time.Now()).Marshal()
			if err := h.SetExtension(t.absSendID, b); err != nil {
				return 0, 0, fmt.Errorf("whep: abs-send-time: %w", err)
			}
		}
		if playout != nil {
			if err := h.SetExtension(t.playoutID, playout); err != nil {
				return 0, 0, fmt.Errorf("whep: playout-delay: %w", err)
			}
		}
		if _, err := t.writer.WriteRTP(&h, p); err != nil {
			return 0, 0, fmt.Errorf("whep: writing RTP: %w", err)
		}
		packets++
		bytes += len(p)
	}
	t.packets += uint64(packets)
	t.bytes += uint64(bytes)
	t.frames++
	if f.Keyframe {
		t.keyframes++
	}
	return packets, bytes, nil
}

// trackStats are a track's counters and what was negotiated.
type trackStats struct {
	packets, bytes, frames, keyframes, unboundDrops uint64
	ssrc, rtxSSRC                                   uint32
	transportCC                                     bool
}

func (t *videoTrack) stats() trackStats {
	t.mu.Lock()
	defer t.mu.Unlock()
	return trackStats{t.packets, t.bytes, t.frames, t.keyframes, t.unboundDrops, t.ssrc, t.rtxSSRC, t.transportCC}
}

var startCode = []byte{0, 0, 0, 1}

// annexB appends the access unit f (AVCC form) to dst in Annex-B form. Before an IDR it puts
// the SPS and PPS (unless the unit carries its own), so a receiver can start at any IDR:
// encoders with global headers keep them out of band, in the configuration record.
func annexB(dst []byte, f *avc.Frame, sps, pps [][]byte) ([]byte, error) {
	nalus, err := avc.SplitAVCC(f.NALUs)
	if err != nil {
		return dst, fmt.Errorf("whep: frame at %v: %w", f.PTS, err)
	}
	if f.Keyframe {
		inBand, _ := avc.ParameterSets(nalus)
		if len(inBand) == 0 {
			if len(sps) == 0 || len(pps) == 0 {
				return dst, fmt.Errorf("whep: keyframe at %v: %w", f.PTS, avc.ErrNoParameterSets)
			}
			for _, n := range append(append([][]byte(nil), sps...), pps...) {
				dst = append(append(dst, startCode...), n...)
			}
		}
	}
	for _, n := range nalus {
		dst = append(append(dst, startCode...), n...)
	}
	return dst, nil
}

func cloneAll(in [][]byte) [][]byte {
	out := make([][]byte, len(in))
	for i, b := range in {
		out[i] = append([]byte(nil), b...)
	}
	return out
}
