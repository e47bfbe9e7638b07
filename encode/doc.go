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
// *H264Encoder satisfies rtmpsrv.VideoEncoder; this package does not import rtmpsrv.
package encode
