package rtmpsrv

import (
	"image"
	"time"

	"github.com/bluenviron/gortmplib/pkg/amf0"

	"github.com/rendercast/rendercast/avc"
)

// AMF values as handlers see them, whether the client sent AMF0 or AMF3 (objectEncoding 3):
// nil (null), Undefined (undefined, AMF0's unsupported), float64 (every number, AMF3
// integers too), bool, string (also long strings, XML), time.Time (dates, UTC), []byte (AMF3
// ByteArray), Object (anonymous, typed and externalizable Flex objects, AMF3 Dictionary with
// string keys), ECMAArray (arrays with named keys; dense elements keyed "0", "1", ...),
// StrictArray (dense arrays, AMF3 vectors). Handlers' answers go back in the client's
// encoding: Go numbers, strings, bools, slices, maps with string keys, structs, time.Time and
// []byte are converted (see CallHandler).
type (
	// Object is an AMF0 anonymous object: ordered key/value entries.
	Object = amf0.Object
	// ObjectEntry is one key/value entry of an Object.
	ObjectEntry = amf0.ObjectEntry
	// ECMAArray is an AMF0 associative array (decoded like an Object).
	ECMAArray = amf0.ECMAArray
	// StrictArray is an AMF0 dense array.
	StrictArray = amf0.StrictArray
	// Undefined is the AMF0 undefined value.
	Undefined = amf0.Undefined
)

// ConnectHandler decides whether a new connection is accepted (neuray's
// IConnect_event_handler). Installed connect handlers are asked in install order with
// created=true; the first to return true owns the connection and is called again, once, with
// created=false when the connection ends (its return value is then ignored).
//
// cmd is the connect command object (app, tcUrl, flashVer, swfUrl, pageUrl, objectEncoding and
// any custom properties); args are the extra user arguments that followed it.
// The *Conn is valid only during the call: keep Conn.ID() instead of the pointer.
type ConnectHandler interface {
	HandleConnect(c *Conn, created bool, cmd Object, args []any) bool
}

// ConnectHandlerFunc adapts a function to a ConnectHandler.
type ConnectHandlerFunc func(c *Conn, created bool, cmd Object, args []any) bool

// HandleConnect calls f.
func (f ConnectHandlerFunc) HandleConnect(c *Conn, created bool, cmd Object, args []any) bool {
	return f(c, created, cmd, args)
}

// CallHandler answers a client's remote procedure call (NetConnection.call).
// It returns the response carried by _result; a non-nil error makes the client get _error
// whose description is the error's text (a *CallError controls code and payload).
type CallHandler interface {
	HandleCall(c *Conn, procedure string, cmd any, args []any) (any, error)
}

// CallHandlerFunc adapts a function to a CallHandler.
type CallHandlerFunc func(c *Conn, procedure string, cmd any, args []any) (any, error)

// HandleCall calls f.
func (f CallHandlerFunc) HandleCall(c *Conn, procedure string, cmd any, args []any) (any, error) {
	return f(c, procedure, cmd, args)
}

// StreamHandler sees streams created (createStream) and removed (deleteStream, closeStream,
// connection end). Returning false on creation refuses the stream. While handling creation it
// registers the stream's play, pause, render and frame handlers.
type StreamHandler interface {
	HandleStream(s *Stream, created bool, cmd any) bool
}

// StreamHandlerFunc adapts a function to a StreamHandler.
type StreamHandlerFunc func(s *Stream, created bool, cmd any) bool

// HandleStream calls f.
func (f StreamHandlerFunc) HandleStream(s *Stream, created bool, cmd any) bool {
	return f(s, created, cmd)
}

// PlayHandler filters play (play=true) and stop (play=false). A nil error starts (or stops)
// the render and frame loops; on play it may return video data to send first. An error
// changes nothing and is reported to the client: NetStream.Play.StreamNotFound when it wraps
// ErrStreamNotFound, NetStream.Play.Failed otherwise.
// When the server stops a stream itself (its render or frame handler failed, its
// connection ended) the play handler is called with play=false and its answer is ignored.
type PlayHandler interface {
	HandlePlay(s *Stream, play bool) (*VideoData, error)
}

// PlayHandlerFunc adapts a function to a PlayHandler.
type PlayHandlerFunc func(s *Stream, play bool) (*VideoData, error)

// HandlePlay calls f.
func (f PlayHandlerFunc) HandlePlay(s *Stream, play bool) (*VideoData, error) { return f(s, play) }

// PlayStartedHandler is an optional method of a PlayHandler: it is called once a play
// has started (the player has NetStream.Play.Start and the stream accepts frames), from
// the goroutine that handled the play. A handler that feeds the stream from elsewhere
// (Stream.WriteFrame) starts feeding it here.
type PlayStartedHandler interface {
	HandlePlayStarted(s *Stream)
}

// PauseHandler filters pause (pause=true) and resume (pause=false). Returning true pauses or
// resumes the render loop; the stream's state is kept.
type PauseHandler interface {
	HandlePause(s *Stream, pause bool) bool
}

// PauseHandlerFunc adapts a function to a PauseHandler.
type PauseHandlerFunc func(s *Stream, pause bool) bool

// HandlePause calls f.
func (f PauseHandlerFunc) HandlePause(s *Stream, pause bool) bool { return f(s, pause) }

// RenderHandler is called at the stream's render_rate while it plays and is not paused,
// and sooner after Stream.RenderNow. ErrUnchanged means nothing new was drawn; any other
// non-nil error stops the stream (NetStream.Play.Failed). After each successful call the
// frame loop is woken so the new canvas is encoded without waiting for a tick.
type RenderHandler interface {
	HandleRender(s *Stream) error
}

// RenderHandlerFunc adapts a function to a RenderHandler.
type RenderHandlerFunc func(s *Stream) error

// HandleRender calls f.
func (f RenderHandlerFunc) HandleRender(s *Stream) error { return f(s) }

// FrameHandler produces the next frame to send. It runs in its own goroutine, not the render
// loop's, so any canvas it shares with the render handler needs user synchronisation.
// queueFull reports a send queue that is backing up: then it should return nil (nothing new)
// or a tiny frame. Returning nil data sends nothing; an error stops the stream.
type FrameHandler interface {
	HandleFrame(s *Stream, queueFull bool) (*VideoData, error)
}

// FrameHandlerFunc adapts a function to a FrameHandler.
type FrameHandlerFunc func(s *Stream, queueFull bool) (*VideoData, error)

// HandleFrame calls f.
func (f FrameHandlerFunc) HandleFrame(s *Stream, queueFull bool) (*VideoData, error) {
	return f(s, queueFull)
}

// VideoData is one frame to send (neuray's IVideo_data).
type VideoData struct {
	// Frame is an encoded H.264 frame, sent as an FLV AVC video message (preceded by a
	// sequence header when Frame.Config is set or the player has not had one yet).
	Frame *avc.Frame
	// Raw, used when Frame is nil, is sent unchanged as the body of an FLV video message
	// with timestamp Timestamp: the pass-through mode of a stream with no codec chosen.
	Raw       []byte
	Timestamp time.Duration
}

// VideoEncoder encodes a stream's canvases (neuray's IVideo_encoder). The rtmpsrv package
// declares it; package encode provides H.264 encoders that satisfy it.
type VideoEncoder interface {
	// Encode encodes one canvas (*image.YCbCr 4:2:0 or *image.RGBA) presented at pts from
	// the stream start. It returns nil when the encoder produced no output for this input.
	Encode(img image.Image, pts time.Duration) (*avc.Frame, error)
	// RequestKeyframe makes the next frame out an IDR.
	RequestKeyframe()
	// SetBitrate changes the target bitrate (bits/s) at run time.
	SetBitrate(bitsPerSecond int) error
	// Name is the encoder's name for metadata and statistics (e.g. "libx264").
	Name() string
	// Close frees the encoder's resources.
	Close() error
}

// CodecFactory makes the encoder for a stream's chosen codec (Stream.UseCodec). It is called
// on the goroutine that called UseCodec; s is valid only during the call.
type CodecFactory interface {
	NewVideoEncoder(codec string, s *Stream) (VideoEncoder, error)
}

// CodecFactoryFunc adapts a function to a CodecFactory.
type CodecFactoryFunc func(codec string, s *Stream) (VideoEncoder, error)

// NewVideoEncoder calls f.
func (f CodecFactoryFunc) NewVideoEncoder(codec string, s *Stream) (VideoEncoder, error) {
	return f(codec, s)
}
