package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"

	"github.com/rendercast/rendercast/render"
	"github.com/rendercast/rendercast/scenes"
)

// runSnapshot implements `streamer snapshot`: render one frame of a scene to a PNG file.
func runSnapshot(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("streamer snapshot", flag.ContinueOnError)
	fs.SetOutput(stderr)
	scene := fs.String("scene", "demo", "scene name (built in: demo, testcard) or NAME=PATH.glb")
	size := fs.String("size", "1280x720", "image size WIDTHxHEIGHT")
	out := fs.String("o", "snapshot.png", "output PNG file")
	gl := fs.String("gl", "", "force the EGL platform: device or surfaceless")
	msaa := fs.Int("msaa", 4, "multisample anti-aliasing samples (snapshots are not real-time: 4 by default)")
	at := fs.Float64("t", 1, "animation time in seconds")
	shading := fs.String("shading", "pbr", "pbr, fast (per-vertex, what software renderers stream by default) or auto (snapshots are not real-time: pbr by default)")
	detail := fs.String("detail", "full", "built-in scenes' level of detail: full, or low (what software renderers stream by default)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *detail != "full" && *detail != "low" {
		fmt.Fprintf(stderr, "streamer snapshot: -detail %q: want full or low\n", *detail)
		return 2
	}
	c := &config{}
	for _, o := range options() {
		if o.name == "size" {
			if err := o.set(c, *size); err != nil {
				fmt.Fprintln(stderr, "streamer snapshot: -size:", err)
				return 2
			}
		}
	}
	lib := scenes.NewLibraryDetail(sceneDetail(*detail, false))
	name := *scene
	if n, p, ok := cut(name); ok {
		if err := lib.Add(n, p); err != nil {
			fmt.Fprintln(stderr, "streamer snapshot:", err)
			return 1
		}
		name = n
	}
	sc, err := lib.Get(name)
	if err != nil {
		fmt.Fprintln(stderr, "streamer snapshot:", err)
		return 1
	}
	if sc.Animate != nil {
		sc.Animate(sc, *at)
	}
	r, err := render.New(render.Config{Platform: *gl, MSAA: *msaa, Shading: renderShading(*shading), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		fmt.Fprintln(stderr, "streamer snapshot:", err)
		return 1
	}
	defer r.Close()
	v, err := r.NewView(c.Width, c.Height)
	if err != nil {
		fmt.Fprintln(stderr, "streamer snapshot:", err)
		return 1
	}
	defer v.Close()
	if err := v.Draw(sc); err != nil {
		fmt.Fprintln(stderr, "streamer snapshot:", err)
		return 1
	}
	img, err := v.ReadRGBA(nil)
	if err == nil {
		err = render.SavePNG(*out, img)
	}
	if err != nil {
		fmt.Fprintln(stderr, "streamer snapshot:", err)
		return 1
	}
	fmt.Fprintln(stdout, "wrote", *out)
	return 0
}

func cut(s string) (string, string, bool) {
	for i := range s {
		if s[i] == '=' {
			return s[:i], s[i+1:], true
		}
	}
	return "", "", false
}
