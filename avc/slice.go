package avc

import (
	"errors"
	"fmt"
	"strings"

	"github.com/bluenviron/mediacommon/v2/pkg/bits"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
)

// Errors about slices and skipped pictures.
var (
	// ErrSkipUnsupported reports stream parameters for which SliceParams cannot write a
	// picture of skipped macroblocks; the wrapping error lists why.
	ErrSkipUnsupported = errors.New("avc: stream parameters do not allow skipped pictures")
	// ErrBadSlice reports a slice NAL unit whose header cannot be read with the stream's
	// parameter sets.
	ErrBadSlice = errors.New("avc: malformed slice header")
	// ErrBadPPS reports a picture parameter set that cannot be read.
	ErrBadPPS = errors.New("avc: malformed PPS")
)

// SliceParams holds what slice headers depend on in one SPS and PPS pair (ITU-T H.264
// 7.3.2.1, 7.3.2.2, 7.3.3). It reads and rewrites frame_num in slice headers and writes P
// pictures whose macroblocks are all skipped: with one reference frame such a picture
// decodes to an exact copy of the picture before it (zero motion, no residual, and no
// deblocking between macroblocks with equal motion and no coefficients).
type SliceParams struct {
	spsID, ppsID        uint32
	log2MaxFrameNum     int
	pocType             uint32
	frameMbsOnly        bool
	separateColourPlane bool
	maxNumRefFrames     uint32
	picSizeInMbs        uint32
	cabac               bool
	numSliceGroups      uint32
	numRefIdxL0Default  uint32
	weightedPred        bool
	deblockingControl   bool
	redundantPicCnt     bool
}

// NewSliceParams reads an SPS and a PPS NAL unit (with their NAL unit headers, as in a
// configuration record). The PPS must refer to the SPS.
func NewSliceParams(sps, pps []byte) (*SliceParams, error) {
	var s h264.SPS
	if err := s.Unmarshal(sps); err != nil {
		return nil, fmt.Errorf("avc: sps: %w", err)
	}
	p := &SliceParams{
		spsID:               s.ID,
		log2MaxFrameNum:     int(s.Log2MaxFrameNumMinus4) + 4,
		pocType:             s.PicOrderCntType,
		frameMbsOnly:        s.FrameMbsOnlyFlag,
		separateColourPlane: s.SeparateColourPlaneFlag,
		maxNumRefFrames:     s.MaxNumRefFrames,
	}
	if p.log2MaxFrameNum > 16 {
		return nil, fmt.Errorf("avc: sps: log2_max_frame_num %d, want <= 16", p.log2MaxFrameNum)
	}
	mapUnits := s.PicHeightInMapUnitsMinus1 + 1
	if !s.FrameMbsOnlyFlag {
		mapUnits *= 2
	}
	p.picSizeInMbs = (s.PicWidthInMbsMinus1 + 1) * mapUnits
	if err := p.readPPS(pps); err != nil {
		return nil, err
	}
	if p.spsID != s.ID {
		return nil, fmt.Errorf("%w: it refers to SPS %d, the SPS is %d", ErrBadPPS, p.spsID, s.ID)
	}
	return p, nil
}

// readPPS reads the PPS fields up to redundant_pic_cnt_present_flag (7.3.2.2).
func (p *SliceParams) readPPS(nalu []byte) error {
	if NALUType(nalu) != h264.NALUTypePPS {
		return fmt.Errorf("%w: NAL unit type %d, want %d", ErrBadPPS, NALUType(nalu), h264.NALUTypePPS)
	}
	buf := UnescapeRBSP(nalu[1:])
	pos := 0
	var err error
	ue := func() uint32 {
		var v uint32
		if err == nil {
			v, err = bits.ReadGolombUnsigned(buf, &pos)
		}
		return v
	}
	se := func() {
		if err == nil {
			_, err = bits.ReadGolombSigned(buf, &pos)
		}
	}
	flag := func() bool {
		var v bool
		if err == nil {
			v, err = bits.ReadFlag(buf, &pos)
		}
		return v
	}
	p.ppsID = ue()
	p.spsID = ue()
	p.cabac = flag()
	flag() // bottom_field_pic_order_in_frame_present_flag
	p.numSliceGroups = ue() + 1
	if err == nil && p.numSliceGroups > 1 {
		// Slice group maps are not read: such streams are refused by SkipSupported.
		return nil
	}
	p.numRefIdxL0Default = ue() + 1
	ue() // num_ref_idx_l1_default_active_minus1
	p.weightedPred = flag()
	if err == nil {
		_, err = bits.ReadBits(buf, &pos, 2) // weighted_bipred_idc
	}
	se() // pic_init_qp_minus26
	se() // pic_init_qs_minus26
	se() // chroma_qp_index_offset
	p.deblockingControl = flag()
	flag() // constrained_intra_pred_flag
	p.redundantPicCnt = flag()
	if err != nil {
		return fmt.Errorf("%w: %w", ErrBadPPS, err)
	}
	return nil
}

// MaxFrameNum is the modulus of frame_num (2^log2_max_frame_num).
func (p *SliceParams) MaxFrameNum() uint32 { return 1 << p.log2MaxFrameNum }

// SkipSupported returns nil when SkipSlice can write pictures that repeat the previous one
// in this stream, else an error wrapping ErrSkipUnsupported that names every reason: CABAC
// entropy coding, field coding, more than one reference frame (a repeat would push the
// encoder's older references out of the decoder's buffer), a picture order count type other
// than 2 (it would need pic_order_cnt_lsb), weighted prediction, slice groups, redundant
// pictures, separate colour planes.
func (p *SliceParams) SkipSupported() error {
	var why []string
	if p.cabac {
		why = append(why, "CABAC entropy coding (CAVLC only)")
	}
	if !p.frameMbsOnly {
		why = append(why, "field coding (frame_mbs_only_flag 0)")
	}
	if p.maxNumRefFrames != 1 {
		why = append(why, fmt.Sprintf("max_num_ref_frames %d (want 1)", p.maxNumRefFrames))
	}
	if p.pocType != 2 {
		why = append(why, fmt.Sprintf("pic_order_cnt_type %d (want 2)", p.pocType))
	}
	if p.weightedPred {
		why = append(why, "weighted prediction")
	}
	if p.numSliceGroups > 1 {
		why = append(why, fmt.Sprintf("%d slice groups", p.numSliceGroups))
	}
	if p.redundantPicCnt {
		why = append(why, "redundant pictures")
	}
	if p.separateColourPlane {
		why = append(why, "separate colour planes")
	}
	if len(why) > 0 {
		return fmt.Errorf("%w: %s", ErrSkipUnsupported, strings.Join(why, ", "))
	}
	return nil
}

// SkipSlice returns a NAL unit (header included, emulation prevention applied) holding one
// P slice that covers the whole picture with skipped macroblocks, as a reference picture
// with nal_ref_idc refIdc (1..3) and the given frame_num. Call it only when SkipSupported
// returns nil.
func (p *SliceParams) SkipSlice(frameNum uint32, refIdc uint8) []byte {
	var w bitWriter
	w.ue(0) // first_mb_in_slice
	w.ue(0) // slice_type P
	w.ue(p.ppsID)
	w.u(uint64(frameNum%p.MaxFrameNum()), p.log2MaxFrameNum)
	// pic_order_cnt_type 2: no picture order count fields; no redundant_pic_cnt.
	if p.numRefIdxL0Default == 1 {
		w.flag(false) // num_ref_idx_active_override_flag
	} else {
		w.flag(true)
		w.ue(0) // num_ref_idx_l0_active_minus1: one reference
	}
	w.flag(false) // ref_pic_list_modification_flag_l0
	// No pred_weight_table (no weighted prediction). dec_ref_pic_marking, non-IDR:
	w.flag(false) // adaptive_ref_pic_marking_mode_flag: sliding window
	w.se(0)       // slice_qp_delta
	if p.deblockingControl {
		w.ue(1) // disable_deblocking_filter_idc: off (nothing to filter anyway)
	}
	// slice_data, CAVLC: one run of skipped macroblocks to the end of the picture.
	w.ue(p.picSizeInMbs) // mb_skip_run
	w.trailing()
	out := make([]byte, 1, len(w.buf)+4)
	out[0] = (refIdc&3)<<5 | byte(h264.NALUTypeNonIDR)
	return EscapeRBSP(out, w.buf)
}

// frameNumPos returns the unescaped payload of a slice NAL unit and the bit offset of
// frame_num in it.
func (p *SliceParams) frameNumPos(nalu []byte) ([]byte, int, error) {
	switch NALUType(nalu) {
	case h264.NALUTypeNonIDR, h264.NALUTypeIDR:
	default:
		return nil, 0, fmt.Errorf("%w: NAL unit type %d is not a slice", ErrBadSlice, NALUType(nalu))
	}
	// The header fields up to frame_num are within the first bytes: unescape a prefix only.
	// 32 bytes hold three ue(v) of 65 bits at most, a colour plane and a 16-bit frame_num.
	head := nalu[1:min(len(nalu), 1+32)]
	buf := UnescapeRBSP(head)
	pos := 0
	for _, name := range []string{"first_mb_in_slice", "slice_type", "pic_parameter_set_id"} {
		v, err := bits.ReadGolombUnsigned(buf, &pos)
		if err != nil {
			return nil, 0, fmt.Errorf("%w: %s: %w", ErrBadSlice, name, err)
		}
		if name == "pic_parameter_set_id" && v != p.ppsID {
			return nil, 0, fmt.Errorf("%w: slice refers to PPS %d, the stream's is %d", ErrBadSlice, v, p.ppsID)
		}
	}
	if p.separateColourPlane {
		pos += 2
	}
	if err := bits.HasSpace(buf, pos, p.log2MaxFrameNum); err != nil {
		return nil, 0, fmt.Errorf("%w: frame_num: %w", ErrBadSlice, err)
	}
	return buf, pos, nil
}

// FrameNum returns the frame_num of a slice NAL unit of this stream.
func (p *SliceParams) FrameNum(nalu []byte) (uint32, error) {
	buf, pos, err := p.frameNumPos(nalu)
	if err != nil {
		return 0, err
	}
	return uint32(bits.ReadBitsUnsafe(buf, &pos, p.log2MaxFrameNum)), nil
}

// SetFrameNum returns a copy of the slice NAL unit with frame_num set to frameNum (modulo
// MaxFrameNum). frame_num has a fixed width, so only emulation prevention bytes around it
// may change.
func (p *SliceParams) SetFrameNum(nalu []byte, frameNum uint32) ([]byte, error) {
	_, pos, err := p.frameNumPos(nalu)
	if err != nil {
		return nil, err
	}
	// Bit offsets are the same in the unescaped prefix and the unescaped whole.
	rbsp := UnescapeRBSP(nalu[1:])
	v := frameNum % p.MaxFrameNum()
	for i := p.log2MaxFrameNum - 1; i >= 0; i-- {
		mask := byte(0x80) >> uint(pos%8)
		if v>>uint(i)&1 != 0 {
			rbsp[pos/8] |= mask
		} else {
			rbsp[pos/8] &^= mask
		}
		pos++
	}
	// Unescaping the whole payload and escaping it again reproduces the original bytes
	// outside the header: encoders insert emulation prevention bytes exactly where
	// EscapeRBSP does.
	out := make([]byte, 1, len(nalu)+4)
	out[0] = nalu[0]
	return EscapeRBSP(out, rbsp), nil
}
