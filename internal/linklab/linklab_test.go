package linklab

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// The lab's own tests: the limit holds, the unthrottled link is much faster, and nothing is
// left behind after a test that passes, panics or is killed.

// testPrefix keeps these tests' namespaces apart from the streamer tests' (which may run at
// the same time in another package).
const testPrefix = "rclabt-"

// helperEnv makes the test binary, re-executed, build a lab and then panic or hang.
const helperEnv = "LINKLAB_HELPER"

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) != "" {
		helper(os.Getenv(helperEnv))
		return
	}
	if err := Check(); err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: %v\n", err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

// helper builds a lab, prints its namespaces, then panics inside a test ("panic") or
// waits to be killed ("hang").
func helper(mode string) {
	testing.Main(func(string, string) (bool, error) { return true, nil }, []testing.InternalTest{{
		Name: "TestHelper",
		F: func(t *testing.T) {
			lab := New(t, Config{Prefix: testPrefix, Links: []LinkConfig{{Name: "a", RateKbit: 1000}, {Name: "b"}}})
			fmt.Println(strings.Join(lab.Namespaces(), " "))
			os.Stdout.Sync()
			if mode == "hang" {
				time.Sleep(time.Minute)
			}
			panic("the helper panics with a lab built")
		},
	}}, nil, nil)
}

// transfer sends from the server namespace to link l's viewer for d and returns the
// rate the viewer received after the first second (kbit/s).
func transfer(t *testing.T, lab *Lab, l Link, port int, d time.Duration) (float64, error) {
	ln, err := lab.Listen(lab.Server, "tcp", fmt.Sprintf("%s:%d", l.ServerAddr, port))
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		buf := make([]byte, 64<<10)
		c.SetWriteDeadline(time.Now().Add(d + 5*time.Second))
		for {
			if _, err := c.Write(buf); err != nil {
				return
			}
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := lab.DialContext(l.Namespace)(ctx, "tcp", fmt.Sprintf("%s:%d", l.ServerAddr, port))
	if err != nil {
		return 0, err
	}
	defer c.Close()
	buf := make([]byte, 64<<10)
	start := time.Now()
	var counted int64
	var from time.Time
	for time.Since(start) < d {
		n, err := c.Read(buf)
		if err != nil {
			return 0, err
		}
		if time.Since(start) >= time.Second {
			if from.IsZero() {
				from = time.Now()
			}
			counted += int64(n)
		}
	}
	return float64(counted) * 8 / 1000 / time.Since(from).Seconds(), nil
}

func TestRateLimitHolds(t *testing.T) {
	lab := New(t, Config{Prefix: testPrefix, Links: []LinkConfig{{Name: "2M", RateKbit: 2000}, {Name: "free"}}})
	var wg sync.WaitGroup
	rates := make([]float64, len(lab.Links))
	errs := make([]error, len(lab.Links))
	for i, l := range lab.Links {
		wg.Go(func() { rates[i], errs[i] = transfer(t, lab, l, 9000+i, 5*time.Second) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	t.Logf("TCP through the 2 Mbit/s link: %.0f kbit/s; through the unthrottled one: %.0f kbit/s", rates[0], rates[1])
	if rates[0] < 1700 || rates[0] > 2100 {
		t.Errorf("2 Mbit/s link carried %.0f kbit/s, want 1700..2100", rates[0])
	}
	if rates[1] < 20*rates[0] {
		t.Errorf("unthrottled link carried %.0f kbit/s, want at least 20x the 2 Mbit/s link's %.0f", rates[1], rates[0])
	}
}

func TestLayout(t *testing.T) {
	lab := New(t, Config{Prefix: testPrefix, Links: []LinkConfig{{Name: "1M", RateKbit: 1000}, {RateKbit: 0}}})
	if l := lab.Link("link2"); l == nil || l.Burst != 0 {
		t.Fatalf("unnamed link: %+v, want link2 without a bucket", l)
	}
	l := lab.Link("1M")
	if l == nil || l.Burst != 4542 || l.Latency != 100*time.Millisecond {
		t.Fatalf("1M link: %+v, want burst 4542, latency 100ms", l)
	}
	out, err := exec.Command("tc", "-n", lab.Server, "qdisc", "show", "dev", l.ServerDevice).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "tbf") || !strings.Contains(string(out), "rate 1Mbit") {
		t.Fatalf("qdisc on %s: %v %s, want tbf rate 1Mbit", l.ServerDevice, err, out)
	}
	// The viewer reaches the server's address on the other link through its own.
	out, err = lab.Command(context.Background(), l.Namespace, "ip", "route", "get", lab.Links[1].ServerAddr.String()).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "via "+l.ServerAddr.String()) {
		t.Fatalf("route from %s to %s: %v %s", l.Namespace, lab.Links[1].ServerAddr, err, out)
	}
	// The root namespace has no device of the lab.
	root, err := net.Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	for _, ifc := range root {
		if ifc.Name == l.ServerDevice || ifc.Name == "v0" {
			t.Errorf("device %s in the root namespace", ifc.Name)
		}
	}
	if err := lab.Do("nosuch", func() error { return nil }); !errors.Is(err, ErrUnknownNamespace) {
		t.Errorf("Do in an unknown namespace: %v, want ErrUnknownNamespace", err)
	}
}

func TestCleanupRemovesEverything(t *testing.T) {
	var names []string
	var lab *Lab
	t.Run("lab", func(t *testing.T) {
		lab = New(t, Config{Prefix: testPrefix, Links: []LinkConfig{{RateKbit: 5000}, {}}})
		names = lab.Namespaces()
		cmd := lab.Command(context.Background(), lab.Links[0].Namespace, "sleep", "60")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		go cmd.Wait()
	})
	assertGone(t, names)
	// The server namespace's devices went with it.
	if err := exec.Command("ip", "-n", lab.Server, "link", "show", "l1").Run(); err == nil {
		t.Errorf("device l1 of %s still exists", lab.Server)
	}
}

func TestCleanupAfterPanic(t *testing.T) {
	names, err := runHelper(t, "panic", false)
	if err == nil {
		t.Fatal("the panicking helper exited 0")
	}
	assertGone(t, names)
}

func TestPruneDeadRemovesKilledRuns(t *testing.T) {
	names, _ := runHelper(t, "hang", true)
	left, err := List(testPrefix)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if !slices.Contains(left, n) {
			t.Fatalf("killed run's namespace %s is gone before the prune: the test proves nothing", n)
		}
	}
	removed, err := PruneDead(testPrefix)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if !slices.Contains(removed, n) {
			t.Errorf("PruneDead removed %v, not %s", removed, n)
		}
	}
	assertGone(t, names)
}

// runHelper re-executes the test binary in helper mode and returns the namespaces it
// built; with kill, it kills the helper (SIGKILL: no cleanup runs) once they exist.
func runHelper(t *testing.T, mode string, kill bool) ([]string, error) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+mode)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	first := make(chan string, 1)
	go func() {
		b := make([]byte, 4096)
		n, _ := stdout.Read(b)
		first <- string(b[:n])
		io.Copy(io.Discard, stdout)
	}()
	var line string
	select {
	case line = <-first:
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		t.Fatal("the helper built no lab within 60 s")
	}
	names := strings.Fields(strings.SplitN(line, "\n", 2)[0])
	if len(names) != 3 || !strings.HasPrefix(names[0], testPrefix) {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("helper printed %q, want three namespaces", line)
	}
	if kill {
		cmd.Process.Kill()
	}
	err = cmd.Wait()
	t.Logf("helper (%s): %v", mode, err)
	return names, err
}

func assertGone(t *testing.T, names []string) {
	t.Helper()
	left, err := List(testPrefix)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if slices.Contains(left, n) {
			t.Errorf("namespace %s left after the cleanup", n)
		}
		if out, err := exec.Command("ip", "netns", "list").Output(); err != nil || strings.Contains(string(out), n) {
			t.Errorf("ip netns list still shows %s (%v)", n, err)
		}
	}
}
