package main

import (
	"flag"
	"fmt"
	"github.com/rendercast/rendercast/internal/app"
	"image"
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
	shadows := fs.String("shadows", "on", "the key light's shadows: on, off or auto (what streams get: on GPUs, none on software renderers while moving); snapshots are not real-time: on by default")
	detail := fs.String("detail", "full", "built-in scenes' level of detail: full, or low (what software renderers stream by default)")
	readback := fs.String("readback", "", "read the frame back as viewers get it (I420), through this read-back: auto, sync or pbo (default: the exact RGBA frame)")
	convert := fs.String("convert", "", "read the frame back as viewers get it (I420), converted here: auto, gpu or cpu (default: the exact RGBA frame)")
	gpu := fs.String("gpu", "all", "GPU to render on (nvidia-smi numbering): all (the first), or a number")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *detail != "full" && *detail != "low" {
		fmt.Fprintf(stderr, "streamer snapshot: -detail %q: want full or low\n", *detail)
		return 2
	}
	c := &config{Readback: "auto", Convert: "auto"}
	viaI420 := *readback != "" || *convert != ""
	for _, o := range options() {
		v, ok := map[string]string{"size": *size, "readback": *readback, "convert": *convert, "gpu": *gpu, "shadows": *shadows}[o.name]
		if !ok || v == "" {
			continue
		}
		if err := o.set(c, v); err != nil {
			fmt.Fprintf(stderr, "streamer snapshot: -%s: %v\n", o.name, err)
			return 2
		}
	}
	if len(c.GPUs) > 1 {
		fmt.Fprintf(stderr, "streamer snapshot: -gpu %s: one GPU renders a snapshot\n", *gpu)
		return 2
	}
	lib := scenes.NewLibraryDetail(app.SceneDetail(*detail, false))
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
	if len(sc.Animations) > 0 {
		sc.PlayAllAnimations(0)
		sc.ApplyAnimations(*at)
	}
	r, err := render.NewPool(render.PoolConfig{Contexts: 1, GPUs: c.GPUs, Config: render.Config{
		Platform: *gl, MSAA: *msaa, Shading: app.RenderShading(*shading), Shadows: app.RenderShadows(c.Shadows),
		Readback: app.RenderReadback(c.Readback), Convert: app.RenderConvert(c.Convert),
		Logger: slog.New(slog.DiscardHandler),
	}})
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
	var img *image.RGBA
	if viaI420 {
		// What a viewer's encoder gets: the I420 frame, shown as RGBA.
		var yuv *image.YCbCr
		if yuv, err = v.Render(sc, nil); err == nil {
			img = render.YCbCrToRGBA(yuv)
		}
	} else if err = v.Draw(sc); err == nil {
		img, err = v.ReadRGBA(nil)
	}
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
