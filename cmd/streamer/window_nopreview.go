//go:build nopreview

package main

import (
	"context"
	"errors"
	"log/slog"

	"github.com/rendercast/rendercast/internal/app"
)

// errNoPreview is what -window says in a streamer built with the nopreview tag (the
// container image's: it links neither GLFW nor the X11 libraries).
var errNoPreview = errors.New("-window: this streamer was built without the preview window (build tag nopreview, as in the container image): there is no display to show it on; watch with ffplay or the browser viewer instead")

// noWindow stands for the preview window in a streamer built without it.
type noWindow struct{}

// openWindow refuses -window: the preview is not built in.
func openWindow(a *app.App, log *slog.Logger) (*noWindow, error) { return nil, errNoPreview }

// runWindow is never reached: openWindow always fails.
func runWindow(ctx context.Context, a *app.App, w *noWindow, log *slog.Logger) {}
