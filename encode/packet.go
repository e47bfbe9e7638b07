package encode

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/asticode/go-astiav"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"

	"github.com/rendercast/rendercast/avc"
)

// ffQP2Lambda is FFmpeg's FF_QP2LAMBDA: quality stats carry QP * 118.
const ffQP2Lambda = 118

// configFromExtradata builds the AVCDecoderConfigurationRecord from a global header (Annex-B
// SPS and PPS).
func configFromExtradata(extradata []byte) ([]byte, error) {
	if len(extradata) == 0 {
		return nil, avc.ErrNoParameterSets
	}
	nalus, err := avc.SplitAnnexB(extradata)
	if err != nil {
		return nil, err
	}
	return avc.ConfigRecord(avc.ParameterSets(nalus))
}

// packetFrame converts an encoded packet (Annex-B, time base 1 ms) to an avc.Frame, or nil
// for an empty packet. Keyframe means the access unit holds an IDR slice. A packet that carries its own SPS and PPS
// different from current yields a new configuration record (newConfig non-nil).
func packetFrame(pkt *astiav.Packet, current []byte) (f *avc.Frame, qp int, newConfig []byte, err error) {
	if pkt.Size() == 0 {
		return nil, -1, nil, nil
	}
	nalus, err := avc.SplitAnnexB(pkt.Data())
	if err != nil {
		return nil, 0, nil, fmt.Errorf("%w: encoder output: %w", ErrEncode, err)
	}
	size := 0
	key := false
	for _, n := range nalus {
		size += 4 + len(n)
		if avc.NALUType(n) == h264.NALUTypeIDR {
			key = true
		}
	}
	f = &avc.Frame{
		NALUs:    avc.AppendAVCC(make([]byte, 0, size), nalus),
		Keyframe: key,
		PTS:      time.Duration(pkt.Pts()) * time.Millisecond,
		DTS:      time.Duration(pkt.Dts()) * time.Millisecond,
	}
	if sps, pps := avc.ParameterSets(nalus); len(sps) > 0 && len(pps) > 0 {
		if cfg, err := avc.ConfigRecord(sps, pps); err == nil && !bytes.Equal(cfg, current) {
			newConfig = cfg
		}
	}
	qp = -1
	if stats := pkt.SideData(astiav.PacketSideDataTypeQualityStats); len(stats) >= 4 {
		qp = int(binary.LittleEndian.Uint32(stats)) / ffQP2Lambda
	}
	return f, qp, newConfig, nil
}
