package encode

import (
	"log/slog"

	"github.com/asticode/go-astiav"
)

// SetLibraryLogLevel sets how much FFmpeg itself logs (its encoders' banners, "Cannot load
// libcuda.so.1" from every NVENC probe, warnings), on standard error or, after SetLogger,
// through slog: slog.LevelDebug
// lets FFmpeg's informational lines through, Info and Warn keep its errors only, and above
// Warn silences it. FFmpeg's log is process-wide, so programs (not libraries) should call
// this once at start. The encoder's own choice and errors are reported through slog and
// returned errors either way.
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
