// Package avc holds the H.264 (AVC) bitstream pieces shared by the encoder and the RTMP server:
// one encoded frame in the form FLV and MP4 carry it (length-prefixed NAL units), the
// AVCDecoderConfigurationRecord, and conversions from the Annex-B form encoders emit.
//
// It is pure Go and knows nothing about FFmpeg or RTMP.
package avc

import (
	"errors"
	"fmt"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
)

// Frame is one encoded H.264 access unit, ready for an FLV video tag.
type Frame struct {
	// NALUs holds the access unit's NAL units, each prefixed by its length as 4 bytes
	// big-endian (AVCC form).
	NALUs []byte
	// Keyframe reports an IDR access unit: a decoder can start here.
	Keyframe bool
	// PTS and DTS are the presentation and decoding times from the stream start.
	// Without B-frames they are equal.
	PTS, DTS time.Duration
	// Config is the AVCDecoderConfigurationRecord (SPS and PPS). It is set on the first
	// frame and whenever the parameters change; nil otherwise.
	Config []byte
}

// Errors returned by this package.
var (
	ErrNoParameterSets = errors.New("avc: no SPS or PPS")
	ErrBadConfig       = errors.New("avc: malformed AVCDecoderConfigurationRecord")
)

// SplitAnnexB splits an Annex-B byte stream (NAL units after 3- or 4-byte start codes) into
// NAL units. The returned slices alias b. Data before the first start code is an error.
func SplitAnnexB(b []byte) ([][]byte, error) {
	var out [][]byte
	start := -1 // first byte of the current NAL unit
	zeros := 0
	for i := 0; i < len(b); i++ {
		switch {
		case b[i] == 0:
			zeros++
			continue
		case b[i] == 1 && zeros >= 2:
			if start >= 0 {
				out = append(out, trimTrailingZeros(b[start:i-zeros]))
			} else if i-zeros > 0 {
				return nil, fmt.Errorf("avc: annex-b: %d bytes before the first start code", i-zeros)
			}
			start = i + 1
		case start < 0:
			return nil, fmt.Errorf("avc: annex-b: data before the first start code")
		}
		zeros = 0
	}
	if start < 0 {
		return nil, fmt.Errorf("avc: annex-b: no start code in %d bytes", len(b))
	}
	out = append(out, trimTrailingZeros(b[start:]))
	// Drop empty units (start codes back to back).
	n := 0
	for _, u := range out {
		if len(u) > 0 {
			out[n] = u
			n++
		}
	}
	return out[:n], nil
}

func trimTrailingZeros(b []byte) []byte {
	for len(b) > 0 && b[len(b)-1] == 0 {
		b = b[:len(b)-1]
	}
	return b
}

// AppendAVCC appends the NAL units in AVCC form (4-byte big-endian length prefixes) to dst.
func AppendAVCC(dst []byte, nalus [][]byte) []byte {
	for _, n := range nalus {
		l := len(n)
		dst = append(dst, byte(l>>24), byte(l>>16), byte(l>>8), byte(l))
		dst = append(dst, n...)
	}
	return dst
}

// AnnexBToAVCC converts an Annex-B access unit to AVCC form.
func AnnexBToAVCC(b []byte) ([]byte, error) {
	nalus, err := SplitAnnexB(b)
	if err != nil {
		return nil, err
	}
	size := 0
	for _, n := range nalus {
		size += 4 + len(n)
	}
	return AppendAVCC(make([]byte, 0, size), nalus), nil
}

// SplitAVCC splits AVCC-form data (4-byte length prefixes) into NAL units.
func SplitAVCC(b []byte) ([][]byte, error) {
	var out [][]byte
	for len(b) > 0 {
		if len(b) < 4 {
			return nil, fmt.Errorf("avc: avcc: %d trailing bytes, want a 4-byte length", len(b))
		}
		l := int(uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]))
		b = b[4:]
		if l > len(b) {
			return nil, fmt.Errorf("avc: avcc: NAL unit of %d bytes, only %d left", l, len(b))
		}
		out = append(out, b[:l])
		b = b[l:]
	}
	return out, nil
}

// NALUType returns the type of a NAL unit (the low 5 bits of its first byte), or 0 if empty.
func NALUType(n []byte) h264.NALUType {
	if len(n) == 0 {
		return 0
	}
	return h264.NALUType(n[0] & 0x1f)
}

// ParameterSets picks the SPS and PPS units out of a list of NAL units.
func ParameterSets(nalus [][]byte) (sps, pps [][]byte) {
	for _, n := range nalus {
		switch NALUType(n) {
		case h264.NALUTypeSPS:
			sps = append(sps, n)
		case h264.NALUTypePPS:
			pps = append(pps, n)
		}
	}
	return sps, pps
}

// ConfigRecord builds an AVCDecoderConfigurationRecord (ISO/IEC 14496-15 5.2.4.1) with
// 4-byte NAL unit lengths from the given parameter sets.
func ConfigRecord(sps, pps [][]byte) ([]byte, error) {
	if len(sps) == 0 || len(pps) == 0 || len(sps[0]) < 4 {
		return nil, ErrNoParameterSets
	}
	if len(sps) > 31 || len(pps) > 255 {
		return nil, fmt.Errorf("avc: %d SPS and %d PPS: too many for a configuration record", len(sps), len(pps))
	}
	b := []byte{
		1,         // configurationVersion
		sps[0][1], // AVCProfileIndication
		sps[0][2], // profile_compatibility
		sps[0][3], // AVCLevelIndication
		0xff,      // 6 bits reserved, lengthSizeMinusOne = 3
		0xe0 | byte(len(sps)),
	}
	for _, s := range sps {
		b = append(b, byte(len(s)>>8), byte(len(s)))
		b = append(b, s...)
	}
	b = append(b, byte(len(pps)))
	for _, p := range pps {
		b = append(b, byte(len(p)>>8), byte(len(p)))
		b = append(b, p...)
	}
	return b, nil
}

// ParseConfigRecord returns the parameter sets of an AVCDecoderConfigurationRecord.
func ParseConfigRecord(b []byte) (sps, pps [][]byte, err error) {
	if len(b) < 7 || b[0] != 1 {
		return nil, nil, ErrBadConfig
	}
	if b[4]&3 != 3 {
		return nil, nil, fmt.Errorf("%w: NAL length size %d, want 4", ErrBadConfig, b[4]&3+1)
	}
	pos := 5
	read := func(count int) ([][]byte, error) {
		var out [][]byte
		for range count {
			if pos+2 > len(b) {
				return nil, ErrBadConfig
			}
			l := int(b[pos])<<8 | int(b[pos+1])
			pos += 2
			if pos+l > len(b) {
				return nil, ErrBadConfig
			}
			out = append(out, b[pos:pos+l])
			pos += l
		}
		return out, nil
	}
	nsps := int(b[pos] & 0x1f)
	pos++
	if sps, err = read(nsps); err != nil {
		return nil, nil, err
	}
	if pos >= len(b) {
		return nil, nil, ErrBadConfig
	}
	n := int(b[pos])
	pos++
	if pps, err = read(n); err != nil {
		return nil, nil, err
	}
	if len(sps) == 0 || len(pps) == 0 {
		return nil, nil, ErrNoParameterSets
	}
	return sps, pps, nil
}

// SPSInfo is what players care about in a sequence parameter set.
type SPSInfo struct {
	ProfileIDC    uint8
	LevelIDC      uint8
	Width, Height int
}

// ParseSPS decodes the profile, level and picture size of an SPS NAL unit.
func ParseSPS(sps []byte) (SPSInfo, error) {
	var s h264.SPS
	if err := s.Unmarshal(sps); err != nil {
		return SPSInfo{}, fmt.Errorf("avc: sps: %w", err)
	}
	return SPSInfo{ProfileIDC: s.ProfileIdc, LevelIDC: s.LevelIdc, Width: s.Width(), Height: s.Height()}, nil
}
