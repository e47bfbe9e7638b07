package encode

// ReopenOnBitrate makes SetBitrate reopen the encoder, as it does for NVENC, so tests can
// exercise that path with x264.
func ReopenOnBitrate(e *H264Encoder) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.codec.inline = false
}
