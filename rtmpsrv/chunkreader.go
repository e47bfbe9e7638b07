package rtmpsrv

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
)

// The chunk layer of RTMP (specification section 5.3), read defensively: every length is
// checked in the chunk header before a byte of the body is buffered, the chunk streams a
// client may use and the bytes of unfinished messages it may make the server hold are
// bounded, and a read interrupted by a deadline can be resumed (headers are parsed from
// peeked bytes and consumed only whole; bodies are read into the message as they come).

// message is one RTMP message as read from a client.
type message struct {
	csid      uint32 // chunk stream id, 2..65599
	timestamp uint32 // milliseconds; wraps at 2^32
	typ       uint8
	streamID  uint32 // message stream id
	body      []byte
}

// chunkLimits bound what a chunkReader holds for one connection.
type chunkLimits struct {
	maxMessage   uint32 // longest message accepted, checked in the header
	maxStreams   int    // distinct chunk stream ids a client may use
	maxBuffered  int    // declared bytes of unfinished messages, over all chunk streams
	maxChunkSize uint32 // largest chunk size a client may set
}

// chunkStream is the state RTMP keeps per chunk stream id: the fields of the last header
// (later headers may omit them) and the message being assembled.
type chunkStream struct {
	id         uint32
	timestamp  uint32
	delta      uint32
	length     uint32
	typ        uint8
	streamID   uint32
	extended   bool // the last header carried an extended timestamp: type 3 chunks repeat it
	inProgress bool // a message is being assembled in body
	body       []byte
}

// chunkReader reads messages from a client. It is used by one goroutine.
type chunkReader struct {
	br        *bufio.Reader
	lim       chunkLimits
	chunkSize uint32
	streams   map[uint32]*chunkStream
	buffered  int // declared lengths of the messages in progress

	// The chunk whose body is being read (nil between chunks) and its bytes still to come.
	cur  *chunkStream
	left uint32

	// Acknowledgements: after every window of bytes read, onAck gets the byte count.
	count     func() uint64
	ackWindow uint32
	lastAck   uint64
	onAck     func(uint32) error
}

// defaultInChunkSize is the chunk size until the client sets one (specification 5.4.1).
const defaultInChunkSize = 128

// maxChunkHeader is the longest chunk header: a 3-byte basic header, an 11-byte type 0
// message header and a 4-byte extended timestamp.
const maxChunkHeader = 3 + 11 + 4

// messageHeaderLen returns the message header length of chunk type format (0 to 3).
func messageHeaderLen(format byte) int {
	switch format {
	case 0:
		return 11
	case 1:
		return 7
	case 2:
		return 3
	}
	return 0
}

func newChunkReader(r io.Reader, lim chunkLimits, count func() uint64, onAck func(uint32) error) *chunkReader {
	return &chunkReader{
		br:        bufio.NewReaderSize(r, 4096),
		lim:       lim,
		chunkSize: defaultInChunkSize,
		streams:   map[uint32]*chunkStream{},
		count:     count,
		onAck:     onAck,
	}
}

// setChunkSize applies a client's Set Chunk Size (its top bit already cleared).
func (r *chunkReader) setChunkSize(v uint32) error {
	if v < 1 || v > r.lim.maxChunkSize {
		return fmt.Errorf("%w: chunk size %d outside [1, %d]", ErrLimit, v, r.lim.maxChunkSize)
	}
	r.chunkSize = v
	return nil
}

// setAckWindow applies a client's Window Acknowledgement Size.
func (r *chunkReader) setAckWindow(v uint32) {
	r.ackWindow = v
	if r.count != nil {
		r.lastAck = r.count()
	}
}

// abort discards the message in progress on chunk stream csid (Abort Message).
func (r *chunkReader) abort(csid uint32) {
	cs := r.streams[csid]
	if cs == nil || !cs.inProgress || cs == r.cur {
		return
	}
	r.buffered -= int(cs.length)
	cs.inProgress, cs.body = false, nil
}

// read returns the next complete message. After an error from the underlying reader (a
// deadline, say) read may be called again and continues where it stopped; after any other
// error the connection must be closed.
func (r *chunkReader) read() (*message, error) {
	for {
		if r.cur == nil {
			if err := r.readHeader(); err != nil {
				return nil, err
			}
		}
		cs := r.cur
		for r.left > 0 {
			have := len(cs.body)
			need := have + int(r.left)
			if cap(cs.body) < need {
				// Grow with the data that arrived, never past the declared length.
				nb := make([]byte, have, min(max(need, 2*cap(cs.body)), int(cs.length)))
				copy(nb, cs.body)
				cs.body = nb
			}
			n, err := r.br.Read(cs.body[have:need])
			cs.body = cs.body[:have+n]
			r.left -= uint32(n)
			if err != nil {
				return nil, err
			}
		}
		r.cur = nil
		if err := r.maybeAck(); err != nil {
			return nil, err
		}
		if uint32(len(cs.body)) < cs.length {
			continue // more chunks to come, possibly interleaved with other chunk streams
		}
		m := &message{csid: cs.id, timestamp: cs.timestamp, typ: cs.typ, streamID: cs.streamID, body: cs.body}
		r.buffered -= int(cs.length)
		cs.inProgress, cs.body = false, nil
		return m, nil
	}
}

func (r *chunkReader) maybeAck() error {
	if r.ackWindow == 0 || r.count == nil || r.onAck == nil {
		return nil
	}
	n := r.count()
	if n-r.lastAck < uint64(r.ackWindow) {
		return nil
	}
	r.lastAck = n
	return r.onAck(uint32(n))
}

// readHeader parses one chunk header from peeked bytes, validates it against the chunk
// stream's state and the limits, and only then consumes it and updates the state.
func (r *chunkReader) readHeader() error {
	b, err := r.br.Peek(1)
	if err != nil {
		return err
	}
	format := b[0] >> 6
	basic := 1
	switch b[0] & 0x3f {
	case 0:
		basic = 2
	case 1:
		basic = 3
	}
	n := basic + messageHeaderLen(format)
	if b, err = r.br.Peek(n); err != nil {
		return err
	}
	var csid uint32
	switch basic {
	case 1:
		csid = uint32(b[0] & 0x3f)
	case 2:
		csid = 64 + uint32(b[1])
	default:
		csid = 64 + uint32(b[1]) + uint32(b[2])<<8
	}
	h := b[basic:]
	cs := r.streams[csid]
	if cs == nil && format != 0 {
		return fmt.Errorf("%w: chunk type %d on chunk stream %d, which had no type 0 chunk", ErrProtocol, format, csid)
	}
	if cs != nil && cs.inProgress && format != 3 {
		return fmt.Errorf("%w: chunk type %d on chunk stream %d in the middle of a message (%d of %d bytes)",
			ErrProtocol, format, csid, len(cs.body), cs.length)
	}
	if cs == nil && len(r.streams) >= r.lim.maxStreams {
		return fmt.Errorf("%w: more than %d chunk streams", ErrLimit, r.lim.maxStreams)
	}

	var tsField, length, streamID uint32
	var typ uint8
	if format < 3 {
		tsField = uint32(h[0])<<16 | uint32(h[1])<<8 | uint32(h[2])
	}
	if format < 2 {
		length = uint32(h[3])<<16 | uint32(h[4])<<8 | uint32(h[5])
		typ = h[6]
	}
	if format == 0 {
		streamID = binary.LittleEndian.Uint32(h[7:11])
	}
	extended := tsField == 0xffffff
	if format == 3 {
		extended = cs.extended
	}
	var ext uint32
	if extended {
		if b, err = r.br.Peek(n + 4); err != nil {
			return err
		}
		ext = binary.BigEndian.Uint32(b[n:])
		n += 4
	}

	// Validate before changing anything.
	newMessage := format != 3 || !cs.inProgress
	if format >= 2 {
		length = cs.length
	}
	if newMessage {
		if length > r.lim.maxMessage {
			return fmt.Errorf("%w: message of %d bytes on chunk stream %d, max %d", ErrLimit, length, csid, r.lim.maxMessage)
		}
		if r.buffered+int(length) > r.lim.maxBuffered {
			return fmt.Errorf("%w: %d bytes of unfinished messages, max %d", ErrLimit, r.buffered+int(length), r.lim.maxBuffered)
		}
	}
	if _, err := r.br.Discard(n); err != nil {
		return err // cannot happen: the bytes were peeked
	}

	if cs == nil {
		cs = &chunkStream{id: csid}
		r.streams[csid] = cs
	}
	if extended {
		tsField = ext
	}
	switch format {
	case 0:
		cs.timestamp, cs.delta = tsField, 0
		cs.length, cs.typ, cs.streamID = length, typ, streamID
	case 1:
		cs.delta = tsField
		cs.timestamp += tsField // wraps modulo 2^32, as RTMP timestamps do
		cs.length, cs.typ = length, typ
	case 2:
		cs.delta = tsField
		cs.timestamp += tsField
	case 3:
		if newMessage {
			cs.timestamp += cs.delta
		}
	}
	if format < 3 {
		cs.extended = extended
	}
	if newMessage {
		r.buffered += int(length)
		cs.inProgress = true
		cs.body = nil
	}
	r.cur = cs
	r.left = min(cs.length-uint32(len(cs.body)), r.chunkSize)
	return nil
}
