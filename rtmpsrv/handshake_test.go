package rtmpsrv

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"encoding/binary"
	"io"
	"net"
	"testing"
	"time"
)

// digestC1 builds a C1 as Flash Player does: non-zero version, digest at the scheme's place.
func digestC1(t *testing.T, scheme int) []byte {
	t.Helper()
	c1 := make([]byte, handshakeSize)
	rand.Read(c1[8:])
	binary.BigEndian.PutUint32(c1[4:8], 0x80000702) // Flash Player 10-ish
	off := digestOffset(c1, scheme)
	copy(c1[off:], hmacSHA256(clientKeyName, c1[:off], c1[off+digestLen:]))
	return c1
}

func runHandshake(t *testing.T, c1 []byte) (s1, s2 []byte, digest bool) {
	t.Helper()
	cli, srv := net.Pipe()
	defer cli.Close()
	type res struct {
		digest bool
		err    error
	}
	done := make(chan res, 1)
	go func() {
		d, err := serverHandshake(srv)
		srv.Close()
		done <- res{d, err}
	}()
	cli.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := cli.Write(append([]byte{3}, c1...)); err != nil {
		t.Fatal(err)
	}
	resp := make([]byte, 1+2*handshakeSize)
	if _, err := io.ReadFull(cli, resp); err != nil {
		t.Fatal(err)
	}
	if resp[0] != 3 {
		t.Fatalf("S0 = %d, want 3", resp[0])
	}
	if _, err := cli.Write(resp[1 : 1+handshakeSize]); err != nil { // C2 = S1 echo
		t.Fatal(err)
	}
	r := <-done
	if r.err != nil {
		t.Fatalf("server handshake: %v", r.err)
	}
	return resp[1 : 1+handshakeSize], resp[1+handshakeSize:], r.digest
}

func TestHandshakePlain(t *testing.T) {
	c1 := make([]byte, handshakeSize)
	rand.Read(c1[8:]) // time and version zero: the plain handshake
	s1, s2, digest := runHandshake(t, c1)
	if digest {
		t.Fatal("plain C1 answered with the digest handshake")
	}
	if !bytes.Equal(s2, c1) {
		t.Fatal("S2 does not echo C1")
	}
	if binary.BigEndian.Uint32(s1[4:8]) != 0 {
		t.Fatal("plain S1 should carry version zero")
	}
}

func TestHandshakeDigest(t *testing.T) {
	for _, scheme := range []int{0, 1} {
		c1 := digestC1(t, scheme)
		s1, s2, digest := runHandshake(t, c1)
		if !digest {
			t.Fatalf("scheme %d: digest C1 not recognised", scheme)
		}
		// The client validates S1's digest with the server key, at the same scheme's place.
		off := digestOffset(s1, scheme)
		want := hmacSHA256(serverKeyName, s1[:off], s1[off+digestLen:])
		if !hmac.Equal(want, s1[off:off+digestLen]) {
			t.Fatalf("scheme %d: S1 digest invalid", scheme)
		}
		// And S2's signature: HMAC over S2 minus its tail, keyed by HMAC(full server key, C1 digest).
		coff := digestOffset(c1, scheme)
		key := hmacSHA256(serverKeyFull, c1[coff:coff+digestLen])
		sig := hmacSHA256(key, s2[:handshakeSize-digestLen])
		if !hmac.Equal(sig, s2[handshakeSize-digestLen:]) {
			t.Fatalf("scheme %d: S2 signature invalid", scheme)
		}
	}
}

func TestHandshakeFallbackOnBadDigest(t *testing.T) {
	c1 := digestC1(t, 1)
	off := digestOffset(c1, 1)
	c1[off] ^= 0xff // corrupt the digest: a client with a non-zero version but no valid digest
	_, s2, digest := runHandshake(t, c1)
	if digest || !bytes.Equal(s2, c1) {
		t.Fatal("a C1 without a valid digest must get the plain handshake")
	}
}

func TestHandshakeRejectsOtherVersions(t *testing.T) {
	cli, srv := net.Pipe()
	defer cli.Close()
	done := make(chan error, 1)
	go func() { _, err := serverHandshake(srv); srv.Close(); done <- err }()
	cli.Write(append([]byte{6}, make([]byte, handshakeSize)...))
	if err := <-done; err == nil {
		t.Fatal("version 6 (RTMPE) accepted")
	}
}

func FuzzServerHandshake(f *testing.F) {
	plain := make([]byte, 1+3*handshakeSize)
	plain[0] = 3
	f.Add(plain)
	f.Add([]byte{3, 0, 0})
	f.Add([]byte{6})
	f.Fuzz(func(t *testing.T, b []byte) {
		rw := struct {
			io.Reader
			io.Writer
		}{bytes.NewReader(b), io.Discard}
		serverHandshake(rw) // must not panic; errors are expected
	})
}

func FuzzDecodeCommand(f *testing.F) {
	f.Add([]byte{0x02, 0x00, 0x04, 'p', 'l', 'a', 'y', 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0x05}, false)
	f.Add([]byte{0x00, 0x02, 0x00, 0x01, 'x', 0x00, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0}, true)
	f.Add([]byte{0x03, 0x00, 0x00, 0x09}, false)
	f.Fuzz(func(t *testing.T, b []byte, amf3 bool) {
		name, _, _, args, err := decodeCommand(b, amf3)
		if err == nil && args == nil {
			t.Fatalf("decoded %q with nil args", name)
		}
	})
}
