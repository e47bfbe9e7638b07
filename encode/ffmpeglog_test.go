package encode

import (
	"log/slog"
	"testing"

	"github.com/asticode/go-astiav"
)

func TestSetLibraryLogLevel(t *testing.T) {
	defer astiav.SetLogLevel(astiav.GetLogLevel())
	for _, c := range []struct {
		in   slog.Level
		want astiav.LogLevel
	}{
		{slog.LevelDebug, astiav.LogLevelInfo},
		{slog.LevelInfo, astiav.LogLevelError},
		{slog.LevelWarn, astiav.LogLevelError},
		{slog.LevelError, astiav.LogLevelQuiet},
	} {
		SetLibraryLogLevel(c.in)
		if got := astiav.GetLogLevel(); got != c.want {
			t.Errorf("slog %v: FFmpeg level %v, want %v", c.in, got, c.want)
		}
	}
}
