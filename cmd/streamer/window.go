//go:build !nopreview

package main

import (
	"context"
	"fmt"
	"image"
	"sort"
	"time"

	"github.com/rendercast/rendercast/render/preview"
)

// openWindow opens the preview window for -window; runWindow shows the oldest playing viewer's latest canvas in a desktop window (-window)
// until ctx ends or the window is closed. It opens the window at once, so a missing display
// is reported at start.
func (a *app) openWindow() (*preview.Window, error) {
	w, err := preview.Open(preview.Config{
		Title:  "Rendercast preview",
		Width:  a.cfg.Width,
		Height: a.cfg.Height,
		Logger: a.log.With("part", "preview"),
	})
	if err != nil {
		return nil, fmt.Errorf("-window: %w", err)
	}
	return w, nil
}

func (a *app) runWindow(ctx context.Context, w *preview.Window) {
	defer w.Close()
	tick := time.NewTicker(time.Duration(float64(time.Second) / a.cfg.FPS))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.Closed():
			a.log.Info("preview window closed")
			return
		case <-tick.C:
		}
		v := a.firstViewer()
		if v == nil {
			continue
		}
		v.sess.WithCanvas(func(img *image.YCbCr) {
			if img != nil {
				w.Show(img) // copies the frame
			}
		})
	}
}

// firstViewer returns the viewer that started playing first, or nil.
func (a *app) firstViewer() *viewer {
	a.mu.Lock()
	defer a.mu.Unlock()
	var list []*viewer
	for _, v := range a.sessions {
		list = append(list, v)
	}
	if len(list) == 0 {
		return nil
	}
	sort.Slice(list, func(i, j int) bool { return list[i].started.Before(list[j].started) })
	return list[0]
}
