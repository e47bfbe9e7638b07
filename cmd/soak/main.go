// Command soak runs the streamer binary for a long time under steady load, with attackers
// mixed in, and checks that it does not grow and that honest viewers keep their frame rate.
// Honest clients (from 127.0.0.1): RTMP viewers that decode nothing (they count frames),
// each sending a steady stream of calls; WebRTC (WHEP) viewers; a churn client that
// connects, plays and leaves every few seconds. Attackers, from addresses of their own:
// RTMP connections that never send a handshake, re-opened as the streamer closes them
// (127.0.0.2, -attack-rtmp), and WHEP offers that are never connected (127.0.0.3,
// -attack-whep). It samples the process's resident memory, goroutines (go_goroutines from
// /metrics), open files (/proc/PID/fd), threads, CPU and each honest viewer's frame rate;
// at the end it prints a summary with slopes per hour, writes soak.csv and soak.png to
// -out, and exits 1 when memory, goroutines or open files grew beyond noise, an honest
// viewer fell under -min-fps in a sample, or lost its connection.
//
//	soak -bin bin/streamer -duration 10m -viewers 4 -attack-rtmp 120 -out out/soak -- -size 640x360
//
// Everything after -- goes to the streamer. `make soak` runs it (scripts/soak.sh).
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"
)

type options struct {
	bin        string
	duration   time.Duration
	warmup     time.Duration
	interval   time.Duration
	viewers    int
	callsPerS  float64
	churnEvery time.Duration
	churnPlay  time.Duration
	out        string
	fps        float64
	args       []string

	whepViewers int           // honest WebRTC viewers
	minFPS      float64       // an honest viewer under this in a sample fails the soak
	attackRTMP  int           // connections held without a handshake
	attackWHEP  float64       // unconnected WHEP offers a second
	attackAfter time.Duration // the attacks start this long after the honest load
}

func main() {
	var o options
	flag.StringVar(&o.bin, "bin", "bin/streamer", "streamer binary")
	flag.DurationVar(&o.duration, "duration", 10*time.Minute, "how long to run")
	flag.DurationVar(&o.warmup, "warmup", 0, "start of the run left out of the growth checks (0: a tenth of -duration, at most 1m)")
	flag.DurationVar(&o.interval, "interval", 5*time.Second, "sampling interval")
	flag.IntVar(&o.viewers, "viewers", 4, "viewers playing the whole time")
	flag.Float64Var(&o.callsPerS, "calls", 5, "calls per second per viewer")
	flag.DurationVar(&o.churnEvery, "churn", 3*time.Second, "a short-lived viewer connects this often (0: none), one at a time")
	flag.DurationVar(&o.churnPlay, "churn-play", time.Second, "how long a short-lived viewer plays")
	flag.StringVar(&o.out, "out", "out/soak", "directory for soak.csv, soak.png and streamer.log")
	flag.Float64Var(&o.fps, "fps", 30, "the streamer's frame rate (pass -fps to it too if you change it)")
	flag.IntVar(&o.whepViewers, "whep-viewers", 1, "WebRTC (WHEP) viewers playing the whole time")
	flag.Float64Var(&o.minFPS, "min-fps", 29, "an honest viewer receiving fewer frames a second than this in a sample after the warm-up fails the soak")
	flag.IntVar(&o.attackRTMP, "attack-rtmp", 120, "RTMP connections from 127.0.0.2 that never send a handshake, each re-opened when the streamer closes it (0: none)")
	flag.Float64Var(&o.attackWHEP, "attack-whep", 5, "WHEP offers a second from 127.0.0.3 that are never connected (0: none)")
	flag.DurationVar(&o.attackAfter, "attack-after", 5*time.Second, "start the attacks this long after the honest viewers")
	flag.Parse()
	o.args = flag.Args()
	if o.warmup == 0 {
		o.warmup = min(o.duration/10, time.Minute)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o, log); err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options, log *slog.Logger) error {
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return err
	}
	st, err := startStreamer(o.bin, o.args, filepath.Join(o.out, "streamer.log"))
	if err != nil {
		return err
	}
	defer st.kill()
	log.Info("streamer running", "pid", st.pid(), "rtmp", st.rtmpAddr, "http", st.httpAddr, "args", o.args)

	var offer string
	if o.attackWHEP > 0 {
		if offer, err = attackOffer(); err != nil {
			return fmt.Errorf("making the attack's WHEP offer: %w", err)
		}
	}
	loadCtx, stopLoad := context.WithCancel(ctx)
	ld := startLoad(loadCtx, st.rtmpAddr, st.httpAddr, o, log)
	at := &attack{}
	attackStarted := make(chan struct{})
	go func() {
		defer close(attackStarted)
		sleep(loadCtx, o.attackAfter)
		if loadCtx.Err() == nil && (o.attackRTMP > 0 || o.attackWHEP > 0) {
			log.Info("attacks starting", "rtmp_connections", o.attackRTMP, "rtmp_from", rtmpAttackerIP.String(),
				"whep_offers_per_s", o.attackWHEP, "whep_from", whepAttackerIP.String())
			at = startAttack(loadCtx, st.rtmpAddr, st.httpAddr, o, offer)
		}
	}()
	samples, err := sample(ctx, st, ld, func() *attack {
		select {
		case <-attackStarted:
			return at
		default:
			return nil
		}
	}, o, log)
	stopLoad()
	<-attackStarted
	ld.wait()
	at.wait()
	exitErr := st.terminate(10 * time.Second)

	rep := analyse(samples, o)
	rep.shutdownErr = exitErr
	rep.calls, rep.callErrors, rep.viewerErrors, rep.churns = ld.calls.Load(), ld.callErrors.Load(), ld.viewerErrors.Load(), ld.churns.Load()
	rep.attack = at
	if err != nil { // the streamer exited, or could not be read
		rep.failures = append(rep.failures, err.Error())
	}
	if err := writeCSV(filepath.Join(o.out, "soak.csv"), samples, o); err != nil {
		return err
	}
	if err := writePlot(filepath.Join(o.out, "soak.png"), samples, o); err != nil {
		return err
	}
	rep.print(os.Stdout)
	fmt.Printf("wrote %s, %s, %s\n", filepath.Join(o.out, "soak.csv"), filepath.Join(o.out, "soak.png"), filepath.Join(o.out, "streamer.log"))
	if len(rep.failures) > 0 {
		return fmt.Errorf("%d checks failed", len(rep.failures))
	}
	return nil
}
