package rtmpclient

import (
	"context"
	"fmt"
	"time"

	"github.com/bluenviron/gortmplib/pkg/amf0"
	"github.com/bluenviron/gortmplib/pkg/rawmessage"

	"github.com/rendercast/rendercast/avc"
)

// CodePublishStart ends a successful Publish.
const CodePublishStart = "NetStream.Publish.Start"

// chunkStreamMedia carries the video and data messages of a published stream, apart from
// the NetStream commands so that their chunk headers do not interleave.
const chunkStreamMedia = 6

// maxTimestamp is the largest RTMP timestamp: 32 bits of milliseconds (about 49.7 days).
const maxTimestamp = time.Duration(1<<32-1) * time.Millisecond

// Publish starts publishing the stream name (live) on a stream from CreateStream, the way
// FFmpeg and OBS do: it sends releaseStream and FCPublish for the name (servers that know
// them free a stale publisher; their answers are not waited for and errors in them are
// ignored), then publish with type "live", and waits for NetStream.Publish.Start. An
// error-level status (e.g. NetStream.Publish.BadName: the name is taken or refused) returns
// a *StatusError, an _error response a *CallError. The wait is bounded by ctx and
// Options.Timeout.
//
// The name is sent as given; a query in it ("stream?key=...") reaches the server, as FFmpeg
// sends the query of its URL.
func (c *Client) Publish(ctx context.Context, streamID uint32, name string) error {
	for _, cmd := range []string{"releaseStream", "FCPublish"} {
		msg, err := encodeCommand(chunkStreamCommand, 0, cmd, c.nextTransaction(), nil, []any{name})
		if err != nil {
			return err
		}
		if err := c.writeMsg(msg); err != nil {
			return fmt.Errorf("rtmpclient: %s: %w", cmd, err)
		}
	}
	return c.streamRequest(ctx, streamID, "publish", []any{name, "live"}, CodePublishStart)
}

// nextTransaction returns a fresh transaction id for a command whose answer nobody waits
// for: the answer is logged and dropped by the reader.
func (c *Client) nextTransaction() float64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.nextTx++
	return float64(c.nextTx)
}

// WriteMetadata sends the stream's metadata as a data message "@setDataFrame" "onMetaData"
// meta at timestamp 0, as FFmpeg does when it publishes: the server keeps it and hands it
// to every player. meta is usually an amf0.ECMAArray (FFmpeg's choice) or amf0.Object with
// width, height, framerate and videocodecid; values are converted as for Call.
func (c *Client) WriteMetadata(streamID uint32, meta any) error {
	v, err := amfValue(meta)
	if err != nil {
		return fmt.Errorf("rtmpclient: metadata: %w", err)
	}
	body, err := amf0.Data{"@setDataFrame", "onMetaData", v}.Marshal()
	if err != nil {
		return fmt.Errorf("rtmpclient: metadata: %w", err)
	}
	msg := &rawmessage.Message{
		ChunkStreamID:   chunkStreamMedia,
		Type:            typeDataAMF0,
		MessageStreamID: wireStreamID(streamID),
		Body:            body,
	}
	if err := c.writeMsg(msg); err != nil {
		return fmt.Errorf("rtmpclient: metadata: %w", err)
	}
	return nil
}

// WriteVideo sends one video message: body is a whole FLV video tag body (VIDEODATA: frame
// type and codec byte, then the codec's payload) and ts its decoding timestamp, written in
// milliseconds. The write is bounded by Options.Timeout; a failed write ends the connection.
func (c *Client) WriteVideo(streamID uint32, ts time.Duration, body []byte) error {
	msg, err := videoMessage(streamID, ts, body)
	if err != nil {
		return err
	}
	if err := c.writeMsg(msg); err != nil {
		return fmt.Errorf("rtmpclient: video at %v: %w", ts, err)
	}
	return nil
}

// WriteAVC sends one H.264 access unit as FLV AVC video tags at decoding timestamp ts: first
// an AVC sequence header tag when f carries Config (the AVCDecoderConfigurationRecord), then
// the NALU tag with f's NAL units, keyframe flag and composition time f.PTS - f.DTS. Both go
// out in one write. f is read, never modified.
func (c *Client) WriteAVC(streamID uint32, ts time.Duration, f *avc.Frame) error {
	var msgs []*rawmessage.Message
	if f.Config != nil {
		m, err := videoMessage(streamID, ts, AVCTag(true, AVCSequenceHeader, 0, f.Config))
		if err != nil {
			return err
		}
		msgs = append(msgs, m)
	}
	m, err := videoMessage(streamID, ts, AVCTag(f.Keyframe, AVCNALU, f.PTS-f.DTS, f.NALUs))
	if err != nil {
		return err
	}
	msgs = append(msgs, m)
	if err := c.writeMsg(msgs...); err != nil {
		return fmt.Errorf("rtmpclient: video at %v: %w", ts, err)
	}
	return nil
}

// videoMessage builds a video message, refusing timestamps RTMP cannot carry.
func videoMessage(streamID uint32, ts time.Duration, body []byte) (*rawmessage.Message, error) {
	if ts < 0 || ts > maxTimestamp {
		return nil, fmt.Errorf("rtmpclient: video timestamp %v outside 0..%v", ts, maxTimestamp)
	}
	return &rawmessage.Message{
		ChunkStreamID:   chunkStreamMedia,
		Type:            typeVideo,
		MessageStreamID: wireStreamID(streamID),
		Timestamp:       ts,
		Body:            body,
	}, nil
}

// AVCTag builds an FLV AVC video tag body (VIDEODATA with an AVCVIDEOPACKET): the frame type
// (keyframe or inter frame) and codec id 7, the AVC packet type (AVCSequenceHeader, AVCNALU
// or AVCEndOfSequence), the composition time in milliseconds as a signed 24-bit number
// (clamped to its range), then payload.
func AVCTag(keyframe bool, packetType uint8, cts time.Duration, payload []byte) []byte {
	ft := byte(FrameTypeInter)
	if keyframe {
		ft = FrameTypeKey
	}
	ms := min(max(cts.Milliseconds(), -1<<23), 1<<23-1)
	b := make([]byte, 5, 5+len(payload))
	b[0] = ft<<4 | CodecAVC
	b[1] = packetType
	b[2], b[3], b[4] = byte(ms>>16), byte(ms>>8), byte(ms)
	return append(b, payload...)
}
