package encode

import (
	"errors"
	"fmt"
	"image"

	"github.com/asticode/go-astiav"

	"github.com/rendercast/rendercast/avc"
)

// Decoder decodes H.264 access units (AVCC form, as avc.Frame carries them) back into
// pictures with FFmpeg's decoder. Tests, tools and benchmarks use it to check what viewers
// see. It is not safe for concurrent use.
type Decoder struct {
	cc    *astiav.CodecContext
	pkt   *astiav.Packet
	frame *astiav.Frame
}

// NewDecoder opens a decoder for a stream whose AVCDecoderConfigurationRecord is config.
func NewDecoder(config []byte) (*Decoder, error) {
	if _, _, err := avc.ParseConfigRecord(config); err != nil {
		return nil, fmt.Errorf("%w: decoder configuration: %w", ErrInvalidOptions, err)
	}
	c := astiav.FindDecoder(astiav.CodecIDH264)
	if c == nil {
		return nil, fmt.Errorf("%w: this FFmpeg has no H.264 decoder", ErrEncoderUnavailable)
	}
	d := &Decoder{cc: astiav.AllocCodecContext(c), pkt: astiav.AllocPacket(), frame: astiav.AllocFrame()}
	if d.cc == nil || d.pkt == nil || d.frame == nil {
		d.Close()
		return nil, fmt.Errorf("%w: allocating the decoder", ErrEncode)
	}
	if err := d.cc.SetExtraData(config); err != nil {
		d.Close()
		return nil, fmt.Errorf("%w: decoder extradata: %w", ErrEncode, err)
	}
	d.cc.SetThreadCount(1) // no frame threads: a picture comes out for every access unit
	if err := d.cc.Open(c, nil); err != nil {
		d.Close()
		return nil, fmt.Errorf("%w: opening the H.264 decoder: %w", ErrEncode, err)
	}
	return d, nil
}

// Decode decodes one access unit (nil flushes the decoder) and returns the pictures that
// came out, as *image.YCbCr 4:2:0 that the caller owns.
func (d *Decoder) Decode(f *avc.Frame) ([]*image.YCbCr, error) {
	if f != nil {
		if err := d.pkt.FromData(f.NALUs); err != nil {
			return nil, fmt.Errorf("%w: packet: %w", ErrEncode, err)
		}
		d.pkt.SetPts(f.PTS.Milliseconds())
		d.pkt.SetDts(f.DTS.Milliseconds())
		err := d.cc.SendPacket(d.pkt)
		d.pkt.Unref()
		if err != nil {
			return nil, fmt.Errorf("%w: decoding the frame at %v: %w", ErrEncode, f.PTS, err)
		}
	} else if err := d.cc.SendPacket(nil); err != nil {
		return nil, fmt.Errorf("%w: flushing the decoder: %w", ErrEncode, err)
	}
	var out []*image.YCbCr
	for {
		if err := d.cc.ReceiveFrame(d.frame); err != nil {
			if errors.Is(err, astiav.ErrEagain) || errors.Is(err, astiav.ErrEof) {
				return out, nil
			}
			return out, fmt.Errorf("%w: receiving a decoded frame: %w", ErrEncode, err)
		}
		if d.frame.PixelFormat() != astiav.PixelFormatYuv420P {
			pf := d.frame.PixelFormat()
			d.frame.Unref()
			return out, fmt.Errorf("%w: decoded pixel format %v, want yuv420p", ErrEncode, pf)
		}
		// Not FrameData.ToImage: in go-astiav v0.16.0 it reads linesize*height bytes of
		// every plane, past the end of 4:2:0 chroma planes.
		w, h := d.frame.Width(), d.frame.Height()
		m := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
		buf := make([]byte, len(m.Y)+len(m.Cb)+len(m.Cr))
		_, err := d.frame.ImageCopyToBuffer(buf, 1)
		d.frame.Unref()
		if err != nil {
			return out, fmt.Errorf("%w: copying the decoded frame: %w", ErrEncode, err)
		}
		m.Y, m.Cb, m.Cr = buf[:len(m.Y)], buf[len(m.Y):len(m.Y)+len(m.Cb)], buf[len(m.Y)+len(m.Cb):]
		out = append(out, m)
	}
}

// Close frees the decoder.
func (d *Decoder) Close() {
	if d.frame != nil {
		d.frame.Free()
		d.frame = nil
	}
	if d.pkt != nil {
		d.pkt.Free()
		d.pkt = nil
	}
	if d.cc != nil {
		d.cc.Free()
		d.cc = nil
	}
}
