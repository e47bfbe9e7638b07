package rtmpclient

// EventKind says what an Event reports.
type EventKind int

// Event kinds.
const (
	// EventStatus is an onStatus command: Status is set.
	EventStatus EventKind = iota + 1
	// EventStreamBegin is the StreamBegin user control event.
	EventStreamBegin
	// EventStreamEOF is the StreamEOF user control event.
	EventStreamEOF
	// EventStreamDry is the StreamDry user control event.
	EventStreamDry
	// EventStreamIsRecorded is the StreamIsRecorded user control event.
	EventStreamIsRecorded
	// EventCommand is any other command from the server that is not a response to a call
	// of this client (e.g. "close", "onBWDone"): Command is set.
	EventCommand
)

// String returns the kind's name.
func (k EventKind) String() string {
	switch k {
	case EventStatus:
		return "status"
	case EventStreamBegin:
		return "StreamBegin"
	case EventStreamEOF:
		return "StreamEOF"
	case EventStreamDry:
		return "StreamDry"
	case EventStreamIsRecorded:
		return "StreamIsRecorded"
	case EventCommand:
		return "command"
	}
	return "unknown"
}

// Event is a notification from the server, delivered in arrival order by
// [Client.ReadEvent].
type Event struct {
	// Kind says which of the fields below is set.
	Kind EventKind
	// StreamID is the stream concerned: the message stream of an onStatus or command, the
	// stream named by a user control event. 0 is the connection.
	StreamID uint32
	// Status is the information object of an EventStatus.
	Status Status
	// Command is the command of an EventCommand.
	Command *Command
}

// eventWaiter receives the events of one stream (and of stream 0) while an operation such as
// Play waits for its status. The reader sends without blocking; a waiter that falls more than
// cap(ch) events behind misses some, which the buffer size makes practically impossible.
type eventWaiter struct {
	streamID uint32
	ch       chan *Event
}

func userControlEvent(event uint16) EventKind {
	switch event {
	case ucStreamBegin:
		return EventStreamBegin
	case ucStreamEOF:
		return EventStreamEOF
	case ucStreamDry:
		return EventStreamDry
	case ucStreamIsRecorded:
		return EventStreamIsRecorded
	}
	return 0
}
