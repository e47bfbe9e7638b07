package rtmpsrv

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
)

// The RTMP handshake: C0/S0 (version byte 3), C1/S1 and C2/S2 (1536 bytes each).
//
// Two variants exist. The plain one (RTMP specification 5.2) echoes C1 as S2. The digest
// ("complex") variant, sent by Flash Player, OBS and librtmp builds with FP9 handshake, puts
// an HMAC-SHA256 digest inside C1 at a position derived from its own bytes and expects one in
// S1 and a signed S2. A client whose C1 carries no valid digest gets the plain handshake.

const (
	handshakeSize   = 1536
	rtmpVersion     = 3
	digestLen       = sha256.Size
	serverVersion   = 0x04050001 // announced in S1 bytes 4..7 of a digest handshake
	digestBlockSize = 764
)

// The well-known keys of the digest handshake: an ASCII name, then 32 fixed bytes.
var (
	handshakeKeyTail = []byte{
		0xF0, 0xEE, 0xC2, 0x4A, 0x80, 0x68, 0xBE, 0xE8, 0x2E, 0x00, 0xD0, 0xD1,
		0x02, 0x9E, 0x7E, 0x57, 0x6E, 0xEC, 0x5D, 0x2D, 0x29, 0x80, 0x6F, 0xAB,
		0x93, 0xB8, 0xE6, 0x36, 0xCF, 0xEB, 0x31, 0xAE,
	}
	clientKeyName = []byte("Genuine Adobe Flash Player 001")       // 30 bytes
	serverKeyName = []byte("Genuine Adobe Flash Media Server 001") // 36 bytes
	serverKeyFull = append(append([]byte{}, serverKeyName...), handshakeKeyTail...)
)

// digestOffset returns where the digest lies in a 1536-byte C1/S1 for one of the two layouts:
// scheme 0 puts the digest block at byte 8, scheme 1 at byte 772. The first 4 bytes of the
// block, summed, pick the digest's place inside it.
func digestOffset(b []byte, scheme int) int {
	base := 8
	if scheme == 1 {
		base = 8 + digestBlockSize
	}
	sum := int(b[base]) + int(b[base+1]) + int(b[base+2]) + int(b[base+3])
	return base + 4 + sum%(digestBlockSize-digestLen-4)
}

func hmacSHA256(key []byte, parts ...[]byte) []byte {
	m := hmac.New(sha256.New, key)
	for _, p := range parts {
		m.Write(p)
	}
	return m.Sum(nil)
}

// findDigest returns the client's digest and its layout, or ok=false for a plain C1.
func findDigest(c1 []byte) (digest []byte, scheme int, ok bool) {
	if binary.BigEndian.Uint32(c1[4:8]) == 0 {
		return nil, 0, false // version zero: a plain handshake
	}
	for _, s := range []int{1, 0} {
		off := digestOffset(c1, s)
		want := hmacSHA256(clientKeyName, c1[:off], c1[off+digestLen:])
		if hmac.Equal(want, c1[off:off+digestLen]) {
			return c1[off : off+digestLen], s, true
		}
	}
	return nil, 0, false
}

// serverHandshake performs the server side of the handshake on rw and reports whether the
// digest variant was used.
func serverHandshake(rw io.ReadWriter) (digest bool, err error) {
	// C0 is read alone so that a client speaking something else (an HTTP request, RTMPE)
	// is refused at its first byte rather than at the handshake deadline.
	c0c1 := make([]byte, 1+handshakeSize)
	if _, err := io.ReadFull(rw, c0c1[:1]); err != nil {
		return false, fmt.Errorf("%w: reading C0: %w", ErrHandshake, err)
	}
	if c0c1[0] != rtmpVersion {
		return false, fmt.Errorf("%w: client version %d, want %d (RTMPE and RTMPT are not supported)",
			ErrHandshake, c0c1[0], rtmpVersion)
	}
	if _, err := io.ReadFull(rw, c0c1[1:]); err != nil {
		return false, fmt.Errorf("%w: reading C1: %w", ErrHandshake, err)
	}
	c1 := c0c1[1:]

	out := make([]byte, 1+2*handshakeSize)
	out[0] = rtmpVersion
	s1 := out[1 : 1+handshakeSize]
	s2 := out[1+handshakeSize:]
	if _, err := rand.Read(s1[8:]); err != nil {
		return false, err
	}
	// S1 time and version stay zero for a plain handshake.

	clientDigest, scheme, isDigest := findDigest(c1)
	if isDigest {
		binary.BigEndian.PutUint32(s1[4:8], serverVersion)
		off := digestOffset(s1, scheme)
		copy(s1[off:], hmacSHA256(serverKeyName, s1[:off], s1[off+digestLen:]))

		if _, err := rand.Read(s2); err != nil {
			return false, err
		}
		key := hmacSHA256(serverKeyFull, clientDigest)
		copy(s2[handshakeSize-digestLen:], hmacSHA256(key, s2[:handshakeSize-digestLen]))
	} else {
		copy(s2, c1)
	}
	if _, err := rw.Write(out); err != nil {
		return false, fmt.Errorf("%w: writing S0+S1+S2: %w", ErrHandshake, err)
	}
	c2 := make([]byte, handshakeSize)
	if _, err := io.ReadFull(rw, c2); err != nil {
		return false, fmt.Errorf("%w: reading C2: %w", ErrHandshake, err)
	}
	// C2 is not checked: many clients fill it loosely (librtmp, ffmpeg), and nothing in
	// RTMP's security rests on it.
	return isDigest, nil
}
