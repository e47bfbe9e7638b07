package rtmpsrv

import (
	"encoding/binary"
	"io"
	"net"
	"time"

	"github.com/bluenviron/gortmplib/pkg/rawmessage"
)

// chunkWriter writes messages as RTMP chunks without copying their bodies: each message's
// chunk headers and the slices of its body between them go out in one vectored write
// (writev on a TCP connection). A body is only read, so one body may be shared by the
// messages of many connections (a frame fanned out to every viewer of a session).
//
// Headers are compressed as the RTMP specification allows, per chunk stream: type 0 (full
// header) for the first message, a new message stream or a timestamp going back; type 1
// when the type or the length change; type 2 when only the timestamp delta changes; type 3
// otherwise, and for every chunk after a message's first. A timestamp (or delta) of
// 0xFFFFFF or more is sent in the extended field, repeated in the message's type 3 chunks.
// The message stream id field carries MessageStreamID's bytes in big-endian order
// (wireStreamID gives the little-endian id the specification asks for).
//
// A chunkWriter is used by one goroutine (the connection's writer).
type chunkWriter struct {
	w         io.Writer
	vectored  bool      // w takes a vectored write in one system call (a TCP connection)
	count     func(int) // adds the bytes written
	flat      []byte    // the message coalesced, for writers without vectored writes (TLS)
	chunkSize uint32
	streams   map[byte]*chunkState
	hdr       []byte      // the headers of the message being written
	bufs      net.Buffers // headers and body slices of one message
}

// chunkState is what the last message of a chunk stream left for header compression.
type chunkState struct {
	msid     uint32
	typ      uint8
	length   uint32
	ts       uint32 // the message's timestamp, milliseconds
	delta    uint32
	hasDelta bool
	ext      bool // the last message used the extended timestamp field
}

// newChunkWriter writes to w, calling count with the bytes of each write. A *net.TCPConn
// gets one vectored write per message; any other writer (TLS) one write of the message
// coalesced in a buffer the writer keeps.
func newChunkWriter(w io.Writer, count func(int)) *chunkWriter {
	_, vectored := w.(*net.TCPConn)
	return &chunkWriter{w: w, vectored: vectored, count: count, chunkSize: 128, streams: map[byte]*chunkState{}}
}

// setChunkSize changes the size of the chunks written from the next message on.
func (cw *chunkWriter) setChunkSize(n uint32) {
	if n > 0 {
		cw.chunkSize = n
	}
}

// basicHeader appends a chunk's basic header (format and chunk stream id).
func appendBasicHeader(b []byte, format byte, csid byte) []byte {
	switch {
	case csid >= 2 && csid < 64:
		return append(b, format<<6|csid)
	default: // 64..255 take the two-byte form
		return append(b, format<<6, csid-64)
	}
}

func append24(b []byte, v uint32) []byte { return append(b, byte(v>>16), byte(v>>8), byte(v)) }

// write writes one message.
func (cw *chunkWriter) write(m *rawmessage.Message) error {
	st := cw.streams[m.ChunkStreamID]
	ts := uint32(m.Timestamp / time.Millisecond)
	length := uint32(len(m.Body))
	hasDelta := st != nil && ts >= st.ts
	var delta uint32
	if hasDelta {
		delta = ts - st.ts
	}
	format := byte(3)
	switch {
	case st == nil || !hasDelta || st.msid != m.MessageStreamID:
		format = 0
	case st.typ != m.Type || st.length != length:
		format = 1
	case !st.hasDelta || st.delta != delta:
		format = 2
	}
	field := delta // what the timestamp field and the extended field carry
	if format == 0 {
		field = ts
	}
	ext := field >= 0xFFFFFF
	if format == 3 && st != nil {
		ext = st.ext // a type 3 chunk repeats the extended field of the header it reuses
	}

	hdr := appendBasicHeader(cw.hdr[:0], format, m.ChunkStreamID)
	short := min(field, 0xFFFFFF)
	switch format {
	case 0:
		hdr = append24(hdr, short)
		hdr = append24(hdr, length)
		hdr = append(hdr, m.Type)
		hdr = binary.BigEndian.AppendUint32(hdr, m.MessageStreamID)
	case 1:
		hdr = append24(hdr, short)
		hdr = append24(hdr, length)
		hdr = append(hdr, m.Type)
	case 2:
		hdr = append24(hdr, short)
	}
	if ext {
		hdr = binary.BigEndian.AppendUint32(hdr, field)
	}
	first := len(hdr)
	// The type 3 headers of the continuation chunks follow the first header in hdr.
	n := (max(length, 1) + cw.chunkSize - 1) / cw.chunkSize
	for range n - 1 {
		hdr = appendBasicHeader(hdr, 3, m.ChunkStreamID)
		if ext {
			hdr = binary.BigEndian.AppendUint32(hdr, field)
		}
	}
	cont := (len(hdr) - first) / max(int(n-1), 1)
	bufs := append(cw.bufs[:0], hdr[:first])
	for i := uint32(0); i < n; i++ {
		if i > 0 {
			at := first + int(i-1)*cont
			bufs = append(bufs, hdr[at:at+cont])
		}
		start := i * cw.chunkSize
		end := min(start+cw.chunkSize, length)
		if end > start {
			bufs = append(bufs, m.Body[start:end])
		}
	}
	cw.hdr = hdr
	cw.bufs = bufs
	var written int
	var err error
	if cw.vectored {
		toWrite := bufs // WriteTo consumes the slice it is given
		var n int64
		n, err = toWrite.WriteTo(cw.w)
		written = int(n)
	} else {
		flat := cw.flat[:0]
		for _, b := range bufs {
			flat = append(flat, b...)
		}
		written, err = cw.w.Write(flat)
		if cap(flat) <= 1<<20 {
			cw.flat = flat[:0] // kept for the next message, unless a huge one grew it
		}
	}
	clear(cw.bufs) // keep no reference to the body
	if cw.count != nil {
		cw.count(written)
	}
	if err != nil {
		return err
	}
	if st == nil {
		st = &chunkState{}
		cw.streams[m.ChunkStreamID] = st
	}
	st.msid, st.typ, st.length, st.ts, st.ext = m.MessageStreamID, m.Type, length, ts, ext
	if format == 0 {
		st.hasDelta = false // the next message's delta is measured from this timestamp
	} else {
		st.delta, st.hasDelta = delta, true
	}
	return nil
}
