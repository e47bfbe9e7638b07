// Package rtmpclient is a small RTMP client for tests, tools and benchmarks: it connects
// (with custom connect properties and user arguments), calls remote procedures and reads their
// results or errors, creates, plays, pauses and deletes streams, and reads the video messages
// a server sends, with their timestamps. It also publishes: [Client.Publish] starts a live
// stream, [Client.WriteMetadata], [Client.WriteVideo] and [Client.WriteAVC] send its data.
//
// It is built on gortmplib's low-level packages (handshake, rawmessage, amf0, bytecounter) and
// speaks the plain (unencrypted, undigested) handshake over TCP. It is not a player: it decodes
// nothing beyond the FLV video tag header.
//
// # Goroutines and backpressure
//
// Dial starts one reader goroutine per connection. It answers pings, sends window
// acknowledgements, applies chunk sizes, routes call responses and status events, and hands
// media messages (video, audio, data) to a bounded buffer that [Client.ReadMedia] and
// [Client.ReadVideo] drain. When that buffer is full the reader waits for the caller to read
// (unless [Options.DropMedia] is set): the socket is then no longer read, so TCP pushes back
// on the server, and call responses and status events wait too. That is how a test simulates a
// client that stops reading. Writes are serialised by a mutex and bounded by a write deadline.
//
// [Client.Close] closes the connection and waits for the reader goroutine to end.
package rtmpclient
