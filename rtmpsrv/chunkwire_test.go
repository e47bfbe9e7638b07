package rtmpsrv

import "encoding/binary"

// Hand-built chunk headers for tests of the chunk reader and of hostile clients: every
// format, every basic header form, extended timestamps where the test wants them.

// basicHeader encodes the 1-, 2- or 3-byte basic header of csid.
func basicHeader(format byte, csid uint32) []byte {
	switch {
	case csid >= 2 && csid <= 63:
		return []byte{format<<6 | byte(csid)}
	case csid >= 64 && csid <= 319:
		return []byte{format << 6, byte(csid - 64)}
	default:
		v := csid - 64
		return []byte{format<<6 | 1, byte(v), byte(v >> 8)}
	}
}

func put24(b []byte, v uint32) []byte { return append(b, byte(v>>16), byte(v>>8), byte(v)) }

// tsField returns the 24-bit field for v and whether an extended timestamp must follow.
func tsField(v uint32) (uint32, bool) {
	if v >= 0xffffff {
		return 0xffffff, true
	}
	return v, false
}

// hdr0 is a type 0 header: absolute timestamp, length, type, message stream id.
func hdr0(csid, ts, length uint32, typ uint8, msid uint32) []byte {
	b := basicHeader(0, csid)
	f, ext := tsField(ts)
	b = put24(b, f)
	b = put24(b, length)
	b = append(b, typ)
	b = binary.LittleEndian.AppendUint32(b, msid)
	if ext {
		b = binary.BigEndian.AppendUint32(b, ts)
	}
	return b
}

// hdr1 is a type 1 header: timestamp delta, length, type.
func hdr1(csid, delta, length uint32, typ uint8) []byte {
	b := basicHeader(1, csid)
	f, ext := tsField(delta)
	b = put24(b, f)
	b = put24(b, length)
	b = append(b, typ)
	if ext {
		b = binary.BigEndian.AppendUint32(b, delta)
	}
	return b
}

// hdr2 is a type 2 header: timestamp delta only.
func hdr2(csid, delta uint32) []byte {
	b := basicHeader(2, csid)
	f, ext := tsField(delta)
	b = put24(b, f)
	if ext {
		b = binary.BigEndian.AppendUint32(b, delta)
	}
	return b
}

// hdr3 is a type 3 header; ext, when not nil, is the extended timestamp it repeats.
func hdr3(csid uint32, ext *uint32) []byte {
	b := basicHeader(3, csid)
	if ext != nil {
		b = binary.BigEndian.AppendUint32(b, *ext)
	}
	return b
}

// chunked encodes one message as a type 0 chunk and type 3 continuations of chunkSize.
func chunked(csid, ts uint32, typ uint8, msid uint32, body []byte, chunkSize int) []byte {
	out := hdr0(csid, ts, uint32(len(body)), typ, msid)
	var ext *uint32
	if ts >= 0xffffff {
		ext = &ts
	}
	for i := 0; ; {
		n := min(chunkSize, len(body)-i)
		out = append(out, body[i:i+n]...)
		i += n
		if i >= len(body) {
			return out
		}
		out = append(out, hdr3(csid, ext)...)
	}
}
