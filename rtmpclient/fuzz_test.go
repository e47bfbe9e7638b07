package rtmpclient

import (
	"bytes"
	"testing"

	"github.com/bluenviron/gortmplib/pkg/amf0"
)

// The seed corpora live in testdata/fuzz/FuzzXxx; f.Add adds a few more built in code.

func FuzzParseVideoTag(f *testing.F) {
	f.Add([]byte{0x17, 0, 0, 0, 0, 1, 0x42, 0xc0, 0x0d, 0xff, 0xe1})
	f.Fuzz(func(t *testing.T, b []byte) {
		tag, err := ParseVideoTag(b)
		if err != nil {
			return
		}
		// The payload is a suffix of the body, and keyframe agrees with the frame type.
		if !bytes.HasSuffix(b, tag.Payload) || len(tag.Payload) >= len(b) {
			t.Fatalf("payload of %d bytes is not a strict suffix of the %d-byte body", len(tag.Payload), len(b))
		}
		if tag.Keyframe != (tag.FrameType == FrameTypeKey) {
			t.Fatalf("keyframe %v with frame type %d", tag.Keyframe, tag.FrameType)
		}
	})
}

func FuzzDecodeUserControl(f *testing.F) {
	f.Add([]byte{0, 6, 1, 2, 3, 4})
	f.Fuzz(func(t *testing.T, b []byte) {
		u, err := decodeUserControl(b)
		if err != nil {
			return
		}
		switch u.Event {
		case ucStreamBegin, ucStreamEOF, ucStreamDry, ucStreamIsRecorded, ucSetBufferLength, ucPingRequest, ucPingResponse:
			// Known events re-encode to the bytes they were read from.
			enc := userControlMessage(u).Body
			if !bytes.HasPrefix(b, enc) {
				t.Fatalf("re-encoded % x is not a prefix of % x", enc, b)
			}
		}
	})
}

func FuzzDecodeCommand(f *testing.F) {
	body, _ := amf0.Data{"_result", 1.0, nil, amf0.Object{{Key: "code", Value: "x"}}}.Marshal()
	f.Add(uint8(typeCommandAMF0), body)
	f.Add(uint8(typeCommandAMF3), append([]byte{0}, body...))
	f.Fuzz(func(t *testing.T, typ uint8, b []byte) {
		c, err := decodeCommand(typ, b)
		if err != nil {
			return
		}
		// A decoded command encodes again (the client's own encoder accepts what amf0
		// decodes) and decodes to the same thing.
		m, err := encodeCommand(chunkStreamCommand, 0, c.Name, c.TransactionID, c.Object, c.Args)
		if err != nil {
			t.Fatalf("re-encoding %+v: %v", c, err)
		}
		c2, err := decodeCommand(m.Type, m.Body)
		if err != nil {
			t.Fatalf("decoding the re-encoded command: %v", err)
		}
		if c2.Name != c.Name || c2.TransactionID != c.TransactionID || len(c2.Args) != len(c.Args) {
			t.Fatalf("round trip changed %+v into %+v", c, c2)
		}
		// Status and error helpers accept any response.
		_ = statusFrom(c.Arg(0))
		_ = newCallError(c.Name, c).Error()
	})
}

func FuzzDecodeData(f *testing.F) {
	body, _ := amf0.Data{"@setDataFrame", "onMetaData", amf0.ECMAArray{{Key: "width", Value: 320.0}}}.Marshal()
	f.Add(uint8(typeDataAMF0), body)
	f.Fuzz(func(t *testing.T, typ uint8, b []byte) {
		name, vals, err := decodeData(typ, b)
		if err != nil {
			return
		}
		d := &DataMessage{Name: name, Values: vals}
		_ = d.Object()
	})
}

func FuzzParseURL(f *testing.F) {
	f.Add("rtmp://127.0.0.1:1935/app/inst/stream?token=1")
	f.Fuzz(func(t *testing.T, s string) {
		u, err := ParseURL(s)
		if err != nil {
			return
		}
		if u.App == "" || u.Host == "" {
			t.Fatalf("ParseURL(%q) = %+v: empty app or host", s, u)
		}
		// The tcUrl is itself a URL that parses to the same host and app.
		u2, err := ParseURL(u.TCURL + "/x")
		if err != nil {
			return // e.g. an app that needs escaping; the tcUrl is sent as is
		}
		if u2.Host != u.Host {
			t.Fatalf("tcUrl %q has host %q, want %q", u.TCURL, u2.Host, u.Host)
		}
	})
}
