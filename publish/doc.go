// Package publish pushes an H.264 stream to an external RTMP server (nginx-rtmp, a
// streaming service's ingest, another Rendercast relay): a [Publisher] is one outgoing
// stream to one rtmp:// or rtmps:// URL.
//
// A Publisher is fed encoded frames by [Publisher.WriteFrame], which never blocks: frames go
// to a bounded queue drained by one goroutine that dials, publishes and writes, and
// reconnects with exponential backoff after any failure or when the server closes the
// connection. After every connect it starts the stream at a keyframe with its configuration
// (sequence header and onMetaData first), with timestamps from 0. WriteFrame reports when it
// needs a keyframe to go on, so the frame source can make one.
package publish
