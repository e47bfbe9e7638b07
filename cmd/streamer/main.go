// Command streamer is Rendercast: it renders 3D scenes with OpenGL, encodes them to H.264
// and streams them over RTMP; clients steer the view with RTMP remote calls.
//
//	streamer [flags]                       serve (see streamer -h)
//	streamer call URL PROCEDURE [k=v ...]  send one remote call and print the result
//	streamer snapshot [-scene demo] [-size 1280x720] -o demo.png
//	streamer health [-http HOST:PORT]      exit 0 when a running streamer's /healthz answers 200
//	streamer check [flags]                 check the configuration (flags, environment, -config) and exit
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/rendercast/rendercast/encode"
	"github.com/rendercast/rendercast/internal/app"
)

// version is the streamer's version, reported by server.info and the status page.
var version = "0.1.0-dev"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "call":
			return runCall(args[1:], stdout, stderr)
		case "snapshot":
			return runSnapshot(args[1:], stdout, stderr)
		case "health":
			return runHealth(args[1:], os.LookupEnv, stdout, stderr)
		case "check":
			return runCheck(args[1:], stdout, stderr)
		case "version", "-version", "--version":
			fmt.Fprintln(stdout, "rendercast streamer", version)
			return 0
		}
	}
	cfg, err := parseConfig(args, os.Getenv, stderr)
	if errors.Is(err, errHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "streamer:", err)
		return 2
	}
	log := newLogger(cfg, stderr)
	encode.SetLibraryLogLevel(cfg.LogLevel)
	encode.SetLogger(log.With("part", "ffmpeg"))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := serve(ctx, cfg, log, nil); err != nil {
		log.Error("streamer stopped", "err", err)
		return 1
	}
	return 0
}

// runCheck reads the configuration as serving would (flags, STREAMER_* environment, the
// -config file) and exits 0 when it holds, or 2 naming what is wrong; it opens nothing
// (the Helm chart's tests check its ConfigMap and environment with it).
func runCheck(args []string, stdout, stderr io.Writer) int {
	if _, err := parseConfig(args, os.Getenv, stderr); err != nil {
		if errors.Is(err, errHelp) {
			return 0
		}
		fmt.Fprintln(stderr, "streamer check:", err)
		return 2
	}
	fmt.Fprintln(stdout, "configuration ok")
	return 0
}

func newLogger(cfg *config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// serve runs the streamer until ctx ends, then drains it (app.App.Drain: -drain-wait,
// -drain-timeout).
// ready, if not nil, receives the app once it listens (tests use it).
func serve(ctx context.Context, cfg *config, log *slog.Logger, ready chan<- *app.App) error {
	cfg.Version = version
	a, err := app.New(cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()
	if cfg.Window {
		w, err := openWindow(a, log)
		if err != nil {
			return err
		}
		wctx, stopWindow := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { runWindow(wctx, a, w, log); close(done) }()
		defer func() { stopWindow(); <-done }()
	}
	if cfg.ListenTLS != "" {
		defer reloadOnSIGHUP(a.ReloadCertificate)()
	}
	if err := a.Start(); err != nil {
		return err
	}
	if ready != nil {
		ready <- a
	}
	<-ctx.Done()
	log.Info("shutting down")
	return a.Drain()
}

// reloadOnSIGHUP calls reload on every SIGHUP until the returned function is called.
func reloadOnSIGHUP(reload func()) (stop func()) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGHUP)
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		for {
			select {
			case <-ch:
				reload()
			case <-done:
				return
			}
		}
	}()
	return func() {
		signal.Stop(ch)
		close(done)
		<-finished
	}
}
