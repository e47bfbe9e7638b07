package encode

/*
#cgo pkg-config: libavutil
#include <libavutil/log.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

extern void rcFFmpegLog(int level, char *component, char *text, int n);

// rc_log formats one av_log message and hands it to Go. Messages of any length arrive
// whole: a 4 KiB buffer on the stack, a heap one when that is too short (x264's option
// banner is longer than the 1 KiB of go-astiav's callback).
static void rc_log(void *avcl, int level, const char *fmt, va_list vl) {
	level &= 0xff; // the high bits carry a colour hint
	if (level > av_log_get_level()) {
		return;
	}
	const char *component = "";
	if (avcl != NULL) {
		const AVClass *cls = *(const AVClass **)avcl;
		if (cls != NULL) {
			component = cls->item_name != NULL ? cls->item_name(avcl) : cls->class_name;
		}
	}
	char buf[4096];
	va_list again;
	va_copy(again, vl);
	int n = vsnprintf(buf, sizeof buf, fmt, vl);
	if (n < 0) {
		va_end(again);
		return;
	}
	if ((size_t)n < sizeof buf) {
		va_end(again);
		rcFFmpegLog(level, (char *)component, buf, n);
		return;
	}
	char *big = malloc((size_t)n + 1);
	if (big == NULL) {
		va_end(again);
		rcFFmpegLog(level, (char *)component, buf, (int)sizeof buf - 1);
		return;
	}
	vsnprintf(big, (size_t)n + 1, fmt, again);
	va_end(again);
	rcFFmpegLog(level, (char *)component, big, n);
	free(big);
}

static void rc_set_log_callback(void) {
	av_log_set_callback(rc_log);
}
*/
import "C"

import (
	"context"
	"log/slog"
	"strings"
	"sync"
)

// ffmpegLog is where FFmpeg's messages go. FFmpeg has one log callback per process, so
// this state is process-wide too.
var ffmpegLog struct {
	mu     sync.Mutex
	logger *slog.Logger // nil: discard
	// A message without a trailing newline is the start of a line that the next ones end.
	pending      strings.Builder
	pendingLevel int
	pendingFrom  string
}

// SetLogger routes the messages of FFmpeg's libraries (and of the encoders they wrap, such
// as x264's banner and the statistics it prints when it closes) to logger, line by line,
// instead of standard error; nil discards them. FFmpeg's own level filter still applies
// first (SetLibraryLogLevel sets it).
//
// Levels: FFmpeg's errors are Error, its warnings Warn, and everything below (information,
// verbose, debug: libraries describing themselves, x264's statistics) Debug. A library
// FFmpeg cannot load ("Cannot load libcuda.so.1" when NVENC is probed on a machine without
// the NVIDIA driver) is Debug too, said plainly: the encoder's choice and its reason are
// reported by whoever opens the encoder. Each line carries the FFmpeg component that wrote
// it ("libx264", "h264_nvenc") as the attribute component.
//
// FFmpeg has one log callback per process: programs (not libraries) call SetLogger once,
// at start, before opening encoders. go-astiav's SetLogCallback would replace this one (and
// formats into a 1 KiB buffer that x264's banner overflows): do not use both.
func SetLogger(logger *slog.Logger) {
	ffmpegLog.mu.Lock()
	ffmpegLog.logger = logger
	ffmpegLog.mu.Unlock()
	C.rc_set_log_callback()
}

//export rcFFmpegLog
func rcFFmpegLog(level C.int, component *C.char, text *C.char, n C.int) {
	logFFmpeg(int(level), C.GoString(component), C.GoStringN(text, n))
}

// logFFmpeg assembles FFmpeg's messages into lines and logs each complete one. A line's
// level is the most severe of its parts.
func logFFmpeg(level int, component, text string) {
	ffmpegLog.mu.Lock()
	defer ffmpegLog.mu.Unlock()
	p := &ffmpegLog.pending
	if p.Len() == 0 {
		ffmpegLog.pendingLevel, ffmpegLog.pendingFrom = level, component
	} else {
		ffmpegLog.pendingLevel = min(ffmpegLog.pendingLevel, level)
	}
	for {
		line, rest, complete := strings.Cut(text, "\n")
		p.WriteString(line)
		if !complete {
			return
		}
		emitFFmpegLine(ffmpegLog.logger, ffmpegLog.pendingLevel, ffmpegLog.pendingFrom, p.String())
		p.Reset()
		ffmpegLog.pendingLevel, ffmpegLog.pendingFrom = level, component
		if text = rest; text == "" {
			return
		}
	}
}

// emitFFmpegLine logs one complete line.
func emitFFmpegLine(logger *slog.Logger, level int, component, line string) {
	line = strings.TrimSpace(line)
	if logger == nil || line == "" {
		return
	}
	ctx := context.Background()
	if lib, ok := strings.CutPrefix(line, "Cannot load "); ok {
		lib = strings.TrimSpace(lib)
		msg := "FFmpeg cannot load a library: " + lib + " is not installed"
		if strings.HasPrefix(lib, "libcuda") || strings.HasPrefix(lib, "libnvidia") {
			msg = "NVENC unavailable: " + lib + " (NVIDIA driver) is not installed"
		}
		logger.Log(ctx, slog.LevelDebug, msg, "component", component, "library", lib)
		return
	}
	logger.Log(ctx, slogLevel(level), line, "component", component)
}

// slogLevel maps an FFmpeg log level (AV_LOG_*) to slog's.
func slogLevel(av int) slog.Level {
	switch {
	case av <= C.AV_LOG_ERROR:
		return slog.LevelError
	case av <= C.AV_LOG_WARNING:
		return slog.LevelWarn
	default:
		return slog.LevelDebug
	}
}
