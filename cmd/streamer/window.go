//go:build !nopreview

package main

import (
	"context"
	"fmt"
	"image"
	"log/slog"
	"time"

	"github.com/rendercast/rendercast/internal/app"
	"github.com/rendercast/rendercast/render/preview"
)

// openWindow opens the preview window for -window at once, so a missing display is
// reported at start.
func openWindow(a *app.App, log *slog.Logger) (*preview.Window, error) {
	w, h, _ := a.Size()
	win, err := preview.Open(preview.Config{
		Title:  "Rendercast preview",
		Width:  w,
		Height: h,
		Logger: log.With("part", "preview"),
	})
	if err != nil {
		return nil, fmt.Errorf("-window: %w", err)
	}
	return win, nil
}

// runWindow shows the oldest session's latest canvas in the window until ctx ends or the
// window is closed.
func runWindow(ctx context.Context, a *app.App, w *preview.Window, log *slog.Logger) {
	defer w.Close()
	_, _, fps := a.Size()
	tick := time.NewTicker(time.Duration(float64(time.Second) / fps))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.Closed():
			log.Info("preview window closed")
			return
		case <-tick.C:
		}
		a.WithCanvas(func(img *image.YCbCr) {
			if img != nil {
				w.Show(img) // copies the frame
			}
		})
	}
}
