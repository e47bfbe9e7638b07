package rtmpsrv

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math/bits"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/bluenviron/gortmplib/pkg/bytecounter"
	"github.com/bluenviron/gortmplib/pkg/rawmessage"
)

func testChunkLimits() chunkLimits {
	return chunkLimits{maxMessage: 64 << 10, maxStreams: 64, maxBuffered: 256 << 10, maxChunkSize: 65536}
}

// readAll reads messages until the input ends, applying Set Chunk Size and Abort as the
// connection does.
func readAll(t *testing.T, r *chunkReader) []*message {
	t.Helper()
	var out []*message
	for {
		m, err := r.read()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("after %d messages: %v", len(out), err)
		}
		switch m.typ {
		case msgSetChunkSize:
			if err := r.setChunkSize(binary.BigEndian.Uint32(m.body) & 0x7fffffff); err != nil {
				t.Fatal(err)
			}
		case msgAbort:
			r.abort(binary.BigEndian.Uint32(m.body))
		}
		out = append(out, m)
	}
}

// gortmplib's writer is the reference encoder: it compresses headers (types 1, 2, 3),
// writes extended timestamps and splits messages at the chunk size.
func TestChunkReaderReadsWhatGortmplibWrites(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, chunkSize := range []uint32{1, 7, 128, 4096, 65536} {
		var buf bytes.Buffer
		w := rawmessage.NewWriter(&buf, bytecounter.NewWriter(&buf), false)
		var want []*rawmessage.Message
		if chunkSize != 128 {
			m := &rawmessage.Message{ChunkStreamID: 2, Type: msgSetChunkSize, Body: binary.BigEndian.AppendUint32(nil, chunkSize)}
			if err := w.Write(m); err != nil {
				t.Fatal(err)
			}
			w.SetChunkSize(chunkSize)
			want = append(want, m)
		}
		ts := map[byte]uint32{}
		for i := range 300 {
			cs := byte(3 + rng.IntN(5))
			switch rng.IntN(4) { // steady spacing (types 2 and 3), jumps, extended timestamps
			case 0:
				ts[cs] += 33
			case 1:
				ts[cs] += uint32(rng.IntN(1000))
			case 2:
				ts[cs] = 0xfffff0 + uint32(rng.IntN(100)) // around 2^24: extended from here
			case 3:
				ts[cs] += 0x01000000 // a delta that itself needs the extended field
			}
			size := []int{0, 1, 17, 200, 5000}[rng.IntN(5)]
			if i%50 == 0 {
				size = 64 << 10
			}
			body := make([]byte, size)
			for j := range body {
				body[j] = byte(rng.Uint32())
			}
			m := &rawmessage.Message{ChunkStreamID: cs, Type: msgCommandAMF0, MessageStreamID: uint32(cs) << 24,
				Timestamp: time.Duration(ts[cs]) * time.Millisecond, Body: body}
			if err := w.Write(m); err != nil {
				t.Fatal(err)
			}
			want = append(want, m)
		}
		r := newChunkReader(&buf, testChunkLimits(), nil, nil)
		got := readAll(t, r)
		if len(got) != len(want) {
			t.Fatalf("chunk size %d: read %d messages, wrote %d", chunkSize, len(got), len(want))
		}
		for i, g := range got {
			w := want[i]
			// gortmplib writes the message stream id big-endian; RTMP is little-endian.
			if g.csid != uint32(w.ChunkStreamID) || g.typ != w.Type || g.streamID != bits.ReverseBytes32(w.MessageStreamID) ||
				g.timestamp != uint32(w.Timestamp/time.Millisecond) || !bytes.Equal(g.body, w.Body) {
				t.Fatalf("chunk size %d, message %d: got csid %d type %d stream %d ts %d len %d; want csid %d type %d stream %d ts %d len %d",
					chunkSize, i, g.csid, g.typ, g.streamID, g.timestamp, len(g.body),
					w.ChunkStreamID, w.Type, bits.ReverseBytes32(w.MessageStreamID), w.Timestamp/time.Millisecond, len(w.Body))
			}
		}
		if r.buffered != 0 {
			t.Fatalf("%d bytes still counted as buffered", r.buffered)
		}
	}
}

func TestChunkReaderHeaderForms(t *testing.T) {
	ext := func(v uint32) *uint32 { return &v }
	type want struct {
		csid, ts uint32
		typ      uint8
		msid     uint32
		body     string
	}
	cases := []struct {
		name      string
		chunkSize uint32
		input     [][]byte
		want      []want
	}{
		{"basic header forms", 128, [][]byte{
			hdr0(2, 1, 1, 20, 0), []byte("a"),
			hdr0(63, 2, 1, 20, 1), []byte("b"),
			hdr0(64, 3, 1, 20, 2), []byte("c"), // 2-byte form, lowest
			hdr0(319, 4, 1, 20, 3), []byte("d"), // 2-byte form, highest
			hdr0(320, 5, 1, 20, 4), []byte("e"), // 3-byte form
			hdr0(65599, 6, 1, 20, 0x01020304), []byte("f"), // 3-byte form, highest
		}, []want{{2, 1, 20, 0, "a"}, {63, 2, 20, 1, "b"}, {64, 3, 20, 2, "c"}, {319, 4, 20, 3, "d"}, {320, 5, 20, 4, "e"}, {65599, 6, 20, 0x01020304, "f"}}},
		{"types 1, 2, 3 reuse fields and add deltas", 128, [][]byte{
			hdr0(3, 1000, 2, 20, 1), []byte("aa"),
			hdr1(3, 10, 3, 17), []byte("bbb"), // new length and type
			hdr2(3, 20), []byte("ccc"), // same length and type
			hdr3(3, nil), []byte("ddd"), // same delta again
		}, []want{{3, 1000, 20, 1, "aa"}, {3, 1010, 17, 1, "bbb"}, {3, 1030, 17, 1, "ccc"}, {3, 1050, 17, 1, "ddd"}}},
		{"extended timestamp repeated in type 3 continuations", 2, [][]byte{
			hdr0(4, 0x12345678, 5, 20, 1), []byte("ab"),
			hdr3(4, ext(0x12345678)), []byte("cd"),
			hdr3(4, ext(0x12345678)), []byte("e"),
		}, []want{{4, 0x12345678, 20, 1, "abcde"}}},
		{"extended delta in type 2 and in the type 3 after it", 2, [][]byte{
			hdr0(4, 5, 1, 20, 1), []byte("a"),
			hdr2(4, 0x01000000), []byte("b"),
			hdr3(4, ext(0x01000000)), []byte("c"),
		}, []want{{4, 5, 20, 1, "a"}, {4, 0x01000005, 20, 1, "b"}, {4, 0x02000005, 20, 1, "c"}}},
		{"timestamp wraps at 2^32", 128, [][]byte{
			hdr0(5, 0xfffffff0, 1, 20, 1), []byte("a"),
			hdr1(5, 0x20, 1, 20), []byte("b"),
		}, []want{{5, 0xfffffff0, 20, 1, "a"}, {5, 0x10, 20, 1, "b"}}},
		{"interleaved chunk streams", 2, [][]byte{
			hdr0(3, 0, 4, 20, 0), []byte("ab"),
			hdr0(5, 0, 2, 20, 1), []byte("xy"),
			hdr3(3, nil), []byte("cd"),
		}, []want{{5, 0, 20, 1, "xy"}, {3, 0, 20, 0, "abcd"}}},
		{"zero-length message", 128, [][]byte{
			hdr0(6, 0, 0, 99, 0),
			hdr0(3, 0, 1, 20, 0), []byte("z"),
		}, []want{{6, 0, 99, 0, ""}, {3, 0, 20, 0, "z"}}},
		{"abort drops the message in progress", 2, [][]byte{
			hdr0(3, 0, 4, 20, 0), []byte("ab"),
			hdr0(2, 0, 4, msgAbort, 0), {0, 0}, hdr3(2, nil), {0, 3},
			hdr0(3, 0, 1, 20, 0), []byte("q"),
		}, []want{{2, 0, msgAbort, 0, "\x00\x00\x00\x03"}, {3, 0, 20, 0, "q"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := append(hdr0(2, 0, 4, msgSetChunkSize, 0), binary.BigEndian.AppendUint32(nil, tc.chunkSize)...)
			in = append(in, bytes.Join(tc.input, nil)...)
			r := newChunkReader(bytes.NewReader(in), testChunkLimits(), nil, nil)
			got := readAll(t, r)[1:]
			if len(got) != len(tc.want) {
				t.Fatalf("read %d messages, want %d", len(got), len(tc.want))
			}
			for i, g := range got {
				w := tc.want[i]
				if g.csid != w.csid || g.timestamp != w.ts || g.typ != w.typ || g.streamID != w.msid || string(g.body) != w.body {
					t.Fatalf("message %d: got %+v %q, want %+v", i, *g, g.body, w)
				}
			}
		})
	}
}

// failAfter yields its data, then fails the test if the reader asks for more: the reader
// must refuse a header without reading the body behind it.
type failAfter struct {
	t    *testing.T
	data []byte
}

func (f *failAfter) Read(p []byte) (int, error) {
	if len(f.data) == 0 {
		f.t.Error("the reader asked for bytes beyond the header it should have refused")
		return 0, io.EOF
	}
	n := copy(p, f.data)
	f.data = f.data[n:]
	return n, nil
}

func TestChunkReaderRefusals(t *testing.T) {
	lim := chunkLimits{maxMessage: 1000, maxStreams: 4, maxBuffered: 2500, maxChunkSize: 65536}
	cases := []struct {
		name  string
		input []byte
		want  error
	}{
		{"message longer than the limit", hdr0(3, 0, 1001, 20, 0), ErrLimit},
		{"largest length RTMP can express", hdr0(3, 0, 0xffffff, 20, 0), ErrLimit},
		{"type 1 first on a chunk stream", hdr1(3, 0, 1, 20), ErrProtocol},
		{"type 2 first on a chunk stream", hdr2(3, 0), ErrProtocol},
		{"type 3 first on a chunk stream", hdr3(3, nil), ErrProtocol},
		{"type 0 in the middle of a message", append(append(hdr0(3, 0, 300, 20, 0), make([]byte, 128)...), hdr0(3, 0, 1, 20, 0)...), ErrProtocol},
		{"too many chunk streams", bytes.Join([][]byte{hdr0(3, 0, 0, 20, 0), hdr0(4, 0, 0, 20, 0), hdr0(5, 0, 0, 20, 0), hdr0(6, 0, 0, 20, 0), hdr0(7, 0, 0, 20, 0)}, nil), ErrLimit},
		{"too many unfinished bytes", bytes.Join([][]byte{hdr0(3, 0, 1000, 20, 0), make([]byte, 128), hdr0(4, 0, 1000, 20, 0), make([]byte, 128), hdr0(5, 0, 1000, 20, 0)}, nil), ErrLimit},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newChunkReader(&failAfter{t: t, data: tc.input}, lim, nil, nil)
			var err error
			for err == nil {
				_, err = r.read()
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
		})
	}
	r := newChunkReader(bytes.NewReader(nil), lim, nil, nil)
	for _, v := range []uint32{0, 65537, 0x7fffffff} {
		if err := r.setChunkSize(v); !errors.Is(err, ErrLimit) {
			t.Errorf("chunk size %d: %v, want ErrLimit", v, err)
		}
	}
	for _, v := range []uint32{1, 65536} {
		if err := r.setChunkSize(v); err != nil {
			t.Errorf("chunk size %d: %v", v, err)
		}
	}
}

// timeoutEvery returns a timeout error after every few bytes, like a socket whose read
// deadline passes while a client trickles a message in.
type timeoutEvery struct {
	data []byte
	n, i int
}

type timeoutError struct{}

func (timeoutError) Error() string   { return "i/o timeout" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }

func (r *timeoutEvery) Read(p []byte) (int, error) {
	r.i++
	if r.i%2 == 0 {
		return 0, timeoutError{}
	}
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), r.n)], r.data)
	r.data = r.data[n:]
	return n, nil
}

func TestChunkReaderResumesAfterTimeouts(t *testing.T) {
	var in []byte
	in = append(in, hdr0(2, 0, 4, msgSetChunkSize, 0)...)
	in = append(in, 0, 0, 0, 5)
	ts := uint32(0xfffffff)
	in = append(in, chunked(3, ts, 20, 1, []byte("hello, chunked world"), 5)...)
	in = append(in, chunked(400, 7, 20, 2, bytes.Repeat([]byte("x"), 40), 5)...)
	for step := 1; step <= 20; step++ {
		r := newChunkReader(&timeoutEvery{data: in, n: step}, testChunkLimits(), nil, nil)
		var got []*message
		for {
			m, err := r.read()
			var te timeoutError
			if errors.As(err, &te) {
				continue
			}
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("step %d: %v", step, err)
			}
			if m.typ == msgSetChunkSize {
				r.setChunkSize(binary.BigEndian.Uint32(m.body))
			}
			got = append(got, m)
		}
		if len(got) != 3 || string(got[1].body) != "hello, chunked world" || got[1].timestamp != ts ||
			got[2].csid != 400 || len(got[2].body) != 40 {
			t.Fatalf("step %d: got %d messages", step, len(got))
		}
	}
}

func TestChunkReaderAcknowledges(t *testing.T) {
	var in []byte
	for range 100 {
		in = append(in, chunked(3, 0, 20, 0, make([]byte, 300), 128)...)
	}
	src := bytecounter.NewReader(bytes.NewReader(in))
	var acks []uint32
	r := newChunkReader(src, testChunkLimits(), src.Count, func(n uint32) error { acks = append(acks, n); return nil })
	r.setAckWindow(5000)
	readAll(t, r)
	// Counts include what the reader buffered ahead (up to 4 KiB), so an acknowledgement
	// may come that much later than the window, never earlier.
	if len(acks) < len(in)/(5000+4096) || len(acks) > len(in)/5000 {
		t.Fatalf("%d acknowledgements for %d bytes at a window of 5000: %v", len(acks), len(in), acks)
	}
	for i := 1; i < len(acks); i++ {
		if acks[i]-acks[i-1] < 5000 {
			t.Fatalf("acknowledgements %d and %d less than a window apart", acks[i-1], acks[i])
		}
	}
}

// FuzzChunkReader feeds arbitrary bytes to the chunk reader (small limits, so the fuzzer
// reaches them), acting on Set Chunk Size and Abort as a connection does. It must never
// panic, never hand out a message above the limit and keep its byte accounting exact.
func FuzzChunkReader(f *testing.F) {
	f.Add(chunked(3, 0, 20, 0, []byte("\x02\x00\x07connect"), 128))
	f.Add(append(append(hdr0(2, 0, 4, msgSetChunkSize, 0), 0, 0, 0, 1), chunked(3, 0x1ffffff, 20, 1, []byte("abc"), 1)...))
	f.Add(bytes.Join([][]byte{hdr0(64, 1, 2, 20, 0), []byte("ab"), hdr1(64, 5, 1, 9), []byte("c"), hdr2(64, 0xffffff), {0, 0xff, 0xff, 0xff}, []byte("d"), hdr3(64, nil), {0, 0xff, 0xff, 0xff}, []byte("e")}, nil))
	f.Add(bytes.Join([][]byte{hdr0(65599, 0, 50, 20, 0), []byte("abc"), hdr0(2, 0, 4, msgAbort, 0), {0, 1, 0, 0xff}}, nil))
	f.Add(hdr0(3, 0, 0xffffff, 20, 0))
	f.Fuzz(func(t *testing.T, b []byte) {
		lim := chunkLimits{maxMessage: 300, maxStreams: 6, maxBuffered: 700, maxChunkSize: 1024}
		r := newChunkReader(bytes.NewReader(b), lim, nil, nil)
		for {
			m, err := r.read()
			if err != nil {
				return
			}
			if uint32(len(m.body)) > lim.maxMessage {
				t.Fatalf("message of %d bytes past the limit %d", len(m.body), lim.maxMessage)
			}
			sum := 0
			for _, cs := range r.streams {
				if cs.inProgress {
					sum += int(cs.length)
					if len(cs.body) > int(cs.length) || cap(cs.body) > int(cs.length) {
						t.Fatalf("chunk stream %d holds %d (cap %d) of a %d-byte message", cs.id, len(cs.body), cap(cs.body), cs.length)
					}
				}
			}
			if sum != r.buffered || r.buffered > lim.maxBuffered || len(r.streams) > lim.maxStreams {
				t.Fatalf("accounting: %d in progress, %d counted, max %d; %d streams", sum, r.buffered, lim.maxBuffered, len(r.streams))
			}
			switch m.typ {
			case msgSetChunkSize:
				if len(m.body) < 4 || r.setChunkSize(binary.BigEndian.Uint32(m.body)&0x7fffffff) != nil {
					return
				}
			case msgAbort:
				if len(m.body) >= 4 {
					r.abort(binary.BigEndian.Uint32(m.body))
				}
			}
		}
	})
}
