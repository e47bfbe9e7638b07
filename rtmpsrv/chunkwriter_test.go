package rtmpsrv

import (
	"bytes"
	"math/rand"
	"net"
	"testing"
	"time"

	"github.com/bluenviron/gortmplib/pkg/bytecounter"
	"github.com/bluenviron/gortmplib/pkg/rawmessage"
)

// The chunk writer's output reads back, message for message, through gortmplib's chunk
// reader (an independent implementation): every header form (types 0 to 3), several chunk
// streams interleaved, bodies across many chunks, empty bodies, timestamps that go back,
// extended timestamps (absolute and delta), chunk size changes, and both the vectored
// (TCP) and the coalescing (any other writer) paths.
func TestChunkWriterRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	type step struct {
		m         *rawmessage.Message
		chunkSize uint32 // set before writing m, when not 0
	}
	var steps []step
	ts := map[byte]time.Duration{}
	for i := range 400 {
		cs := []byte{3, 4, 6, 7}[rng.Intn(4)]
		switch rng.Intn(10) {
		case 0:
			ts[cs] -= time.Duration(rng.Intn(50)) * time.Millisecond // back: a type 0 header
		case 1:
			ts[cs] += 0x1000000 * time.Millisecond // past 24 bits: extended
		case 2, 3, 4:
			ts[cs] += 33 * time.Millisecond // the same delta: type 3
		default:
			ts[cs] += time.Duration(rng.Intn(100)) * time.Millisecond
		}
		ts[cs] = max(ts[cs], 0)
		size := []int{0, 1, 5, 127, 128, 129, 4096, 10_000, 70_000}[rng.Intn(9)]
		if rng.Intn(3) > 0 {
			size = 200 // the same length: types 2 and 3
		}
		body := make([]byte, size)
		rng.Read(body)
		m := &rawmessage.Message{ChunkStreamID: cs, Timestamp: ts[cs], Type: []uint8{8, 9, 18, 20}[rng.Intn(4)],
			MessageStreamID: wireStreamID(uint32(1 + rng.Intn(3))), Body: body}
		if rng.Intn(4) > 0 {
			m.Type = msgVideo // the same type: more compression
			m.MessageStreamID = wireStreamID(1)
		}
		st := step{m: m}
		if i > 0 && rng.Intn(40) == 0 {
			st.chunkSize = []uint32{128, 1000, 4096, 60000}[rng.Intn(4)]
		}
		steps = append(steps, st)
	}

	check := func(t *testing.T, read func() (*rawmessage.Message, error), r *rawmessage.Reader) {
		for i, st := range steps {
			if st.chunkSize != 0 {
				if err := r.SetChunkSize(st.chunkSize); err != nil {
					t.Fatal(err)
				}
			}
			got, err := read()
			if err != nil {
				t.Fatalf("message %d: %v", i, err)
			}
			m := st.m
			if got.ChunkStreamID != m.ChunkStreamID || got.Type != m.Type || got.MessageStreamID != m.MessageStreamID ||
				got.Timestamp != m.Timestamp || !bytes.Equal(got.Body, m.Body) {
				t.Fatalf("message %d: read cs %d type %d msid %d ts %v len %d; wrote cs %d type %d msid %d ts %v len %d",
					i, got.ChunkStreamID, got.Type, got.MessageStreamID, got.Timestamp, len(got.Body),
					m.ChunkStreamID, m.Type, m.MessageStreamID, m.Timestamp, len(m.Body))
			}
		}
	}

	t.Run("coalesced", func(t *testing.T) {
		var buf bytes.Buffer
		written := 0
		cw := newChunkWriter(&buf, func(n int) { written += n })
		for _, st := range steps {
			if st.chunkSize != 0 {
				cw.setChunkSize(st.chunkSize)
			}
			if err := cw.write(st.m); err != nil {
				t.Fatal(err)
			}
		}
		if written != buf.Len() {
			t.Fatalf("counted %d bytes, wrote %d", written, buf.Len())
		}
		r := rawmessage.NewReader(&buf, bytecounter.NewReader(&buf), nil)
		check(t, r.Read, r)
	})

	t.Run("vectored", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		done := make(chan error, 1)
		go func() {
			c, err := ln.Accept()
			if err != nil {
				done <- err
				return
			}
			defer c.Close()
			cw := newChunkWriter(c, nil)
			if !cw.vectored {
				done <- errNotVectored
				return
			}
			for _, st := range steps {
				if st.chunkSize != 0 {
					cw.setChunkSize(st.chunkSize)
				}
				if err := cw.write(st.m); err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(30 * time.Second))
		r := rawmessage.NewReader(c, bytecounter.NewReader(c), nil)
		check(t, r.Read, r)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	})
}

var errNotVectored = &net.OpError{Op: "write", Err: errString("a TCP connection did not take the vectored path")}

type errString string

func (e errString) Error() string { return string(e) }
