package avc

import (
	"bytes"
	"slices"
)

// EscapeRBSP appends rbsp (a raw byte sequence payload) to dst with emulation prevention
// bytes inserted (ITU-T H.264 7.4.1), so that it can follow a NAL unit header: a 0x03 after
// every two zero bytes that precede a byte <= 0x03, and after two zero bytes that end the
// payload.
func EscapeRBSP(dst, rbsp []byte) []byte {
	dst = slices.Grow(dst, len(rbsp)+len(rbsp)/256+2)
	zeros := 0
	for len(rbsp) > 0 {
		if zeros == 0 {
			// Nothing to do up to the next zero byte.
			i := bytes.IndexByte(rbsp, 0)
			if i < 0 {
				return append(dst, rbsp...)
			}
			dst = append(dst, rbsp[:i+1]...)
			rbsp = rbsp[i+1:]
			zeros = 1
			continue
		}
		b := rbsp[0]
		rbsp = rbsp[1:]
		if zeros >= 2 && b <= 3 {
			dst = append(dst, 3)
			zeros = 0
		}
		dst = append(dst, b)
		if b == 0 {
			zeros++
		} else {
			zeros = 0
		}
	}
	if zeros >= 2 {
		dst = append(dst, 3)
	}
	return dst
}

// UnescapeRBSP removes the emulation prevention bytes of a NAL unit payload (the bytes after
// the NAL unit header): the 0x03 of every 0x000003. The result is a new slice.
func UnescapeRBSP(payload []byte) []byte {
	out := make([]byte, 0, len(payload))
	for {
		i := bytes.Index(payload, emulationPrevention)
		if i < 0 {
			return append(out, payload...)
		}
		out = append(out, payload[:i+2]...)
		payload = payload[i+3:]
	}
}

var emulationPrevention = []byte{0, 0, 3}

// bitWriter writes a bit string most significant bit first.
type bitWriter struct {
	buf  []byte
	bits int // bits written
}

// u writes the n low bits of v (n <= 64).
func (w *bitWriter) u(v uint64, n int) {
	for i := n - 1; i >= 0; i-- {
		if w.bits%8 == 0 {
			w.buf = append(w.buf, 0)
		}
		if v>>uint(i)&1 != 0 {
			w.buf[len(w.buf)-1] |= 0x80 >> uint(w.bits%8)
		}
		w.bits++
	}
}

// flag writes one bit.
func (w *bitWriter) flag(b bool) {
	if b {
		w.u(1, 1)
	} else {
		w.u(0, 1)
	}
}

// ue writes an unsigned Exp-Golomb code ue(v).
func (w *bitWriter) ue(v uint32) {
	x := uint64(v) + 1
	n := 0
	for x>>uint(n) > 1 {
		n++
	}
	w.u(0, n)
	w.u(x, n+1)
}

// se writes a signed Exp-Golomb code se(v).
func (w *bitWriter) se(v int32) {
	if v > 0 {
		w.ue(uint32(2*int64(v) - 1))
	} else {
		w.ue(uint32(-2 * int64(v)))
	}
}

// trailing writes rbsp_trailing_bits: a one, then zeros up to the next byte boundary.
func (w *bitWriter) trailing() {
	w.u(1, 1)
	for w.bits%8 != 0 {
		w.u(0, 1)
	}
}
