package encode

import (
	"log/slog"

	"github.com/asticode/go-astiav"
)

// SetLibraryLogLevel sets how much FFmpeg itself prints on standard error (its encoders'
// banners, "Cannot load libcuda.so.1" from every NVENC probe, warnings): slog.LevelDebug
// lets FFmpeg's informational lines through, Info and Warn keep its errors only, and above
// Warn silences it. FFmpeg's log is process-wide, so programs (not libraries) should call
// this once at start. The encoder's own choice and errors are reported through slog and
// returned errors either way.
//
// FFmpeg's output is not routed into slog: go-astiav v0.16.0's log callback formats into a
// fixed 1 KiB C buffer, which x264's option banner can overflow.
func SetLibraryLogLevel(level slog.Level) {
	switch {
	case level <= slog.LevelDebug:
		astiav.SetLogLevel(astiav.LogLevelInfo)
	case level <= slog.LevelWarn:
		astiav.SetLogLevel(astiav.LogLevelError)
	default:
		astiav.SetLogLevel(astiav.LogLevelQuiet)
	}
}
