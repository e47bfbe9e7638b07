// Package encode turns images into low-latency H.264 for RTMP through FFmpeg (go-astiav
// v0.16.0, FFmpeg 5.1): x264 on the CPU, NVENC on NVIDIA GPUs, chosen at New.
//
// One image in gives one access unit out, at once: no B-frames, no lookahead, slice threads
// only, a VBV of a few frame intervals so no frame takes much longer than that to send. Output
// is what an FLV video tag carries (avc.Frame): AVCC NAL units, keyframe flag, timestamps in
// milliseconds, and the AVCDecoderConfigurationRecord whenever a new one applies.
//
// Input is *image.YCbCr 4:2:0 (copied as is) or *image.RGBA (converted with swscale). The
// stream is tagged BT.709 limited range, which is what the renderer's shader writes and what
// RGBA input is converted to.
//
// Repeat sends an unchanged picture again without encoding it: a P picture whose macroblocks
// are all skipped, about 10 bytes, which decoders turn into an exact copy of the picture
// before it. Repeats are reference pictures, and the slices the encoder writes after them get
// a frame_num that runs on across them until the next IDR. Repeat works with libx264 streams
// that use CAVLC, frame macroblocks only, one reference frame, picture order count type 2 and
// no weighted prediction: the default preset "ultrafast" with any profile (x264 writes
// Constrained Baseline there) and "superfast" or "veryfast" with profile "baseline". It does
// not work (CanRepeat is false and Repeat returns ErrNoRepeat with the reason) with CABAC
// (every other preset under "main" or "high"), several reference frames ("faster" and
// slower presets), weighted prediction, or NVENC; the caller encodes again then.
//
// Resize reopens the encoder at a new picture size; the next frame is an IDR with the new
// configuration record.
//
// *H264Encoder satisfies rtmpsrv.VideoEncoder; this package does not import rtmpsrv.
package encode
