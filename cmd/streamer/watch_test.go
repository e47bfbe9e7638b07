package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// watcher runs web/test/watch.mjs: Chromium playing the browser viewer while the page's
// video size and receiver figures are sampled.
type watcher struct{ node, chromium, dir string }

// newWatcher fails the test when Node.js, Chromium or playwright-core is missing.
func newWatcher(t *testing.T) watcher {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node (Node.js) is not installed: `make test` installs it through scripts/setup.sh")
	}
	const chromium = "/usr/bin/chromium"
	if _, err := os.Stat(chromium); err != nil {
		t.Fatalf("%s is missing: `make test` installs Debian's chromium through scripts/setup.sh (apt-get install chromium)", chromium)
	}
	dir := filepath.Join(root, "web", "test")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "playwright-core", "package.json")); err != nil {
		t.Fatalf("playwright-core is not installed in %s: run `npm ci` there (scripts/setup.sh does it)", dir)
	}
	return watcher{node: node, chromium: chromium, dir: dir}
}

// watchSample is one sample of watch.mjs.
type watchSample struct {
	T         float64 `json:"t"`
	W         int     `json:"w"`
	H         int     `json:"h"`
	Presented int     `json:"presented"`
	Paused    bool    `json:"paused"`
	Error     string  `json:"error"`
	Decoded   int     `json:"decoded"`
	Dropped   int     `json:"dropped"`
	Keyframes int     `json:"keyframes"`
	PLI       int     `json:"pli"`
	FIR       int     `json:"fir"`
}

// watchResult is what watch.mjs prints.
type watchResult struct {
	OK            bool          `json:"ok"`
	Error         string        `json:"error"`
	Samples       []watchSample `json:"samples"`
	Logs          []string      `json:"logs"`
	RequestedSize *struct {
		Width  int `json:"width"`
		Height int `json:"height"`
	} `json:"requestedSize"`
	SizeError string `json:"sizeError"`
}

// watchRun is a watch.mjs run in the background.
type watchRun struct {
	cmd            *exec.Cmd
	stdout, stderr bytes.Buffer
	done           chan error
}

// start watches url for seconds; with setSize ("WxH") the page asks for it after at
// seconds.
func (w watcher) start(t *testing.T, url string, seconds int, setSize string, at float64) *watchRun {
	t.Helper()
	args := []string{"watch.mjs", "--url", url, "--seconds", strconv.Itoa(seconds), "--chromium", w.chromium}
	if setSize != "" {
		args = append(args, "--set-size", setSize, "--at", fmt.Sprint(at))
	}
	return w.run(t, args)
}

// startViewport watches url for seconds in a window of viewport ("WxH").
func (w watcher) startViewport(t *testing.T, url string, seconds int, viewport string) *watchRun {
	t.Helper()
	return w.run(t, []string{"watch.mjs", "--url", url, "--seconds", strconv.Itoa(seconds), "--viewport", viewport, "--chromium", w.chromium})
}

func (w watcher) run(t *testing.T, args []string) *watchRun {
	t.Helper()
	r := &watchRun{cmd: exec.Command(w.node, args...), done: make(chan error, 1)}
	r.cmd.Dir = w.dir
	r.cmd.Stdout, r.cmd.Stderr = &r.stdout, &r.stderr
	if err := r.cmd.Start(); err != nil {
		t.Fatalf("node watch.mjs: %v", err)
	}
	go func() { r.done <- r.cmd.Wait() }()
	t.Cleanup(func() {
		r.cmd.Process.Kill()
		select {
		case <-r.done:
		default:
		}
	})
	return r
}

// result waits for the run and decodes what it printed; a page that did not play fails
// the test.
func (r *watchRun) result(t *testing.T) watchResult {
	t.Helper()
	var err error
	select {
	case err = <-r.done:
		r.done <- err
	case <-time.After(120 * time.Second):
		r.cmd.Process.Kill()
		t.Fatal("watch.mjs did not end within 120 s")
	}
	line := strings.TrimSpace(r.stdout.String())
	if i := strings.LastIndex(line, "\n"); i >= 0 {
		line = line[i+1:]
	}
	var res watchResult
	if jerr := json.Unmarshal([]byte(line), &res); jerr != nil {
		t.Fatalf("watch.mjs: %v (%v)\nstdout: %s\nstderr: %s", err, jerr, r.stdout.String(), r.stderr.String())
	}
	if err != nil || !res.OK || len(res.Samples) == 0 {
		t.Fatalf("watch.mjs failed: %s (%v)\npage console: %s\nstderr: %s", res.Error, err, strings.Join(res.Logs, "\n"), r.stderr.String())
	}
	return res
}

// checkBrowserPlayed fails unless the page presented at least minFrames frames, kept
// decoding until its last sample, showed no media error and asked for at most one
// keyframe (PLI or FIR: a decoder that lost its references asks again and again).
func checkBrowserPlayed(t *testing.T, res watchResult, minFrames int) {
	t.Helper()
	first, last := res.Samples[0], res.Samples[len(res.Samples)-1]
	quarter := res.Samples[len(res.Samples)*3/4]
	if got := last.Presented - first.Presented; got < minFrames || last.Decoded <= quarter.Decoded {
		t.Errorf("Chromium presented %d frames in %.1f s (want >= %d); decoded %d at 3/4, %d at the end", got, last.T-first.T, minFrames, quarter.Decoded, last.Decoded)
	}
	for _, s := range res.Samples {
		if s.Error != "" || s.Paused {
			t.Errorf("Chromium's video at %.1f s: error %q, paused %v", s.T, s.Error, s.Paused)
			break
		}
	}
	if last.PLI+last.FIR > 1 {
		t.Errorf("Chromium asked for %d keyframes (PLI %d, FIR %d): its decoder lost pictures", last.PLI+last.FIR, last.PLI, last.FIR)
	}
}

// httpGet returns the body of a GET that answered 200.
func httpGet(url string) ([]byte, error) {
	resp, err := http.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	return b, nil
}
