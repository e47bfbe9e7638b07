// Package linklab builds a small network for a test: a server namespace joined to one
// viewer namespace per link by a veth pair, each link with its own token-bucket rate limit
// (tc tbf) on the server-to-viewer direction, and removes it after.
//
// Layout (link i counts from 1):
//
//	namespace <prefix><pid>-<n>-s     device l<i>  10.213.<i>.1/24   tbf on egress (server to viewer)
//	namespace <prefix><pid>-<n>-c<i>  device v0    10.213.<i>.2/24   default route via 10.213.<i>.1
//
// Both ends of every veth pair are created inside the lab's namespaces, so the root
// namespace (where the test runs) keeps its devices, addresses and routes untouched. A
// viewer namespace reaches every address of the server namespace through its own link, so
// what the server sends a viewer (TCP or UDP, any of its addresses) crosses that link's
// limit; what the viewer sends (acknowledgements, RTCP, calls) is not limited.
//
// Programs run inside a namespace with Command (ip netns exec); Go code of the test itself
// opens sockets inside one with Do, Listen, DialContext or HTTPClient (a goroutine locked
// to an OS thread that entered the namespace: the sockets it creates belong to that
// namespace and may be used from any goroutine after).
//
// Names carry the process id, so a run killed before its cleanup never blocks the next
// one: PruneDead removes what dead runs left, and New calls it first.
package linklab

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// DefaultPrefix starts the name of every namespace a lab creates when Config.Prefix is
// empty.
const DefaultPrefix = "rclab-"

// maxLinks is what the address plan (10.213.<i>.0/24, and the device names) holds.
const maxLinks = 250

// seq numbers the labs of one process, so several may exist at once.
var seq atomic.Int64

// LinkConfig is one viewer's link.
type LinkConfig struct {
	// Name labels the link in logs and results (e.g. "2M"); empty means "link<i>".
	Name string
	// RateKbit is the limit of the server-to-viewer direction in kbit/s; 0 means none.
	RateKbit int
}

// Config describes a lab. The zero value of every field but Links is a documented default.
type Config struct {
	// Prefix starts every namespace name; empty means DefaultPrefix. Letters, digits and
	// '-' only; PruneDead takes the same prefix.
	Prefix string
	// Links are the viewer namespaces, each with its own link to the server namespace.
	Links []LinkConfig
	// Burst is the token bucket's size in bytes; 0 means 20 ms at the link's rate, at
	// least 3 full-size Ethernet frames (4542 bytes): enough for the kernel's timer to keep
	// the rate, small enough that no frame of video passes at line rate.
	Burst int
	// Latency bounds the time a packet may wait in the bucket's queue (tbf latency, which
	// sets the queue's length in bytes: rate x latency + burst); 0 means 100 ms, the
	// buffer of a typical access link, so a sender that overruns the link sees both delay
	// and losses.
	Latency time.Duration
	// Logger receives one line per lab built and removed; nil means discard.
	Logger *slog.Logger
}

// Link is one built link.
type Link struct {
	LinkConfig
	// Namespace is the viewer's namespace.
	Namespace string
	// ServerDevice is the server namespace's end of the pair (where the limit sits).
	ServerDevice string
	// ServerAddr and ViewerAddr are the two ends' addresses (a /24 of their own).
	ServerAddr, ViewerAddr netip.Addr
	// Burst and Latency are the token bucket's parameters (0 on an unthrottled link).
	Burst   int
	Latency time.Duration
}

// Lab is a built lab: remove it with Close (New does that in the test's cleanup).
type Lab struct {
	// Server is the server's namespace.
	Server string
	// Links are the viewers' links, in Config.Links order.
	Links []Link

	prefix string
	log    *slog.Logger
	closed atomic.Bool
}

// New builds the lab described by cfg for t and removes it when t ends (passed, failed or
// panicked). Without root, or without ip and tc, t fails with a message that says so.
func New(t testing.TB, cfg Config) *Lab {
	t.Helper()
	lab, err := Build(cfg)
	if err != nil {
		t.Fatalf("link lab: %v", err)
	}
	t.Cleanup(func() {
		if err := lab.Close(); err != nil {
			t.Errorf("link lab: removing: %v", err)
		}
	})
	return lab
}

// Check reports whether this process can build a lab: root, ip and tc.
func Check() error {
	if os.Geteuid() != 0 {
		return ErrNotRoot
	}
	for _, tool := range []string{"ip", "tc"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%w: %s not found", ErrMissingTool, tool)
		}
	}
	return nil
}

// Build creates the namespaces, links, addresses, routes and limits of cfg, after removing
// what dead runs with the same prefix left. On error, what it created is removed.
func Build(cfg Config) (*Lab, error) {
	if err := Check(); err != nil {
		return nil, err
	}
	prefix := cfg.Prefix
	if prefix == "" {
		prefix = DefaultPrefix
	}
	if err := checkPrefix(prefix); err != nil {
		return nil, err
	}
	if len(cfg.Links) == 0 || len(cfg.Links) > maxLinks {
		return nil, fmt.Errorf("%w: %d links, want 1..%d", ErrBadConfig, len(cfg.Links), maxLinks)
	}
	if cfg.Burst < 0 || cfg.Latency < 0 {
		return nil, fmt.Errorf("%w: negative burst %d or latency %v", ErrBadConfig, cfg.Burst, cfg.Latency)
	}
	for _, l := range cfg.Links {
		if l.RateKbit < 0 {
			return nil, fmt.Errorf("%w: link %q has rate %d kbit/s", ErrBadConfig, l.Name, l.RateKbit)
		}
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if _, err := PruneDead(prefix); err != nil {
		log.Warn("link lab: removing leftovers of dead runs", "err", err)
	}

	base := fmt.Sprintf("%s%d-%d-", prefix, os.Getpid(), seq.Add(1))
	lab := &Lab{Server: base + "s", prefix: prefix, log: log}
	if err := lab.build(base, cfg); err != nil {
		return nil, errors.Join(err, lab.Close())
	}
	log.Info("link lab built", "server", lab.Server, "links", len(lab.Links))
	return lab, nil
}

func (lab *Lab) build(base string, cfg Config) error {
	if err := ip("netns", "add", lab.Server); err != nil {
		return err
	}
	if err := ip("-n", lab.Server, "link", "set", "lo", "up"); err != nil {
		return err
	}
	for i, lc := range cfg.Links {
		n := i + 1
		if lc.Name == "" {
			lc.Name = "link" + strconv.Itoa(n)
		}
		l := Link{
			LinkConfig:   lc,
			Namespace:    base + "c" + strconv.Itoa(n),
			ServerDevice: "l" + strconv.Itoa(n),
			ServerAddr:   netip.AddrFrom4([4]byte{10, 213, byte(n), 1}),
			ViewerAddr:   netip.AddrFrom4([4]byte{10, 213, byte(n), 2}),
		}
		// Appended before its commands run, so a failure half-way still removes it.
		lab.Links = append(lab.Links, l)
		steps := [][]string{
			{"netns", "add", l.Namespace},
			{"-n", l.Namespace, "link", "set", "lo", "up"},
			{"-n", lab.Server, "link", "add", l.ServerDevice, "type", "veth", "peer", "name", "v0", "netns", l.Namespace},
			{"-n", lab.Server, "addr", "add", l.ServerAddr.String() + "/24", "dev", l.ServerDevice},
			{"-n", l.Namespace, "addr", "add", l.ViewerAddr.String() + "/24", "dev", "v0"},
			{"-n", lab.Server, "link", "set", l.ServerDevice, "up"},
			{"-n", l.Namespace, "link", "set", "v0", "up"},
			{"-n", l.Namespace, "route", "add", "default", "via", l.ServerAddr.String()},
		}
		for _, s := range steps {
			if err := ip(s...); err != nil {
				return err
			}
		}
		if lc.RateKbit > 0 {
			l.Burst, l.Latency = bucket(lc.RateKbit, cfg.Burst, cfg.Latency)
			lab.Links[i] = l
			if err := run("tc", "-n", lab.Server, "qdisc", "add", "dev", l.ServerDevice, "root", "tbf",
				"rate", strconv.Itoa(lc.RateKbit)+"kbit", "burst", strconv.Itoa(l.Burst),
				"latency", strconv.FormatInt(l.Latency.Microseconds(), 10)+"us"); err != nil {
				return err
			}
		}
	}
	return nil
}

// bucket returns the token bucket's burst (bytes) and latency for a rate, with the
// Config's defaults.
func bucket(rateKbit, burst int, latency time.Duration) (int, time.Duration) {
	if burst == 0 {
		burst = max(rateKbit*1000/8/50, 3*1514)
	}
	if latency == 0 {
		latency = 100 * time.Millisecond
	}
	return burst, latency
}

// Namespaces returns the server's namespace, then the viewers'.
func (lab *Lab) Namespaces() []string {
	ns := []string{lab.Server}
	for _, l := range lab.Links {
		ns = append(ns, l.Namespace)
	}
	return ns
}

// Link returns the link named name, or nil.
func (lab *Lab) Link(name string) *Link {
	for i := range lab.Links {
		if lab.Links[i].Name == name {
			return &lab.Links[i]
		}
	}
	return nil
}

// Command returns a command that runs name with args inside namespace ns (ip netns exec,
// which execs the program: the command's process is the program's).
func (lab *Lab) Command(ctx context.Context, ns, name string, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", ns, name}, args...)...)
}

// Do runs fn on an OS thread that entered namespace ns, and returns its error. Sockets fn
// opens belong to ns; fn must not start goroutines that open more (they would run on
// other threads). The thread is discarded after, so no other goroutine ever runs in ns.
func (lab *Lab) Do(ns string, fn func() error) error {
	if !lab.has(ns) {
		return fmt.Errorf("%w: %q", ErrUnknownNamespace, ns)
	}
	done := make(chan error, 1)
	go func() {
		// No UnlockOSThread: the thread ends with the goroutine, in the namespace.
		runtime.LockOSThread()
		f, err := os.Open("/var/run/netns/" + ns)
		if err != nil {
			done <- fmt.Errorf("linklab: namespace %s: %w", ns, err)
			return
		}
		err = unix.Setns(int(f.Fd()), unix.CLONE_NEWNET)
		f.Close()
		if err != nil {
			done <- fmt.Errorf("linklab: entering namespace %s: %w", ns, err)
			return
		}
		done <- fn()
	}()
	return <-done
}

// Listen listens on addr inside namespace ns.
func (lab *Lab) Listen(ns, network, addr string) (net.Listener, error) {
	var ln net.Listener
	err := lab.Do(ns, func() (err error) {
		ln, err = net.Listen(network, addr)
		return err
	})
	return ln, err
}

// DialContext returns a dial function whose connections start inside namespace ns (for
// http.Transport.DialContext and clients that take one). Addresses must be IP literals:
// a name lookup would run on other threads.
func (lab *Lab) DialContext(ns string) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		var c net.Conn
		err := lab.Do(ns, func() (err error) {
			var d net.Dialer
			c, err = d.DialContext(ctx, network, addr)
			return err
		})
		return c, err
	}
}

// HTTPClient returns a client whose connections start inside namespace ns.
func (lab *Lab) HTTPClient(ns string) *http.Client {
	return &http.Client{
		Timeout:   30 * time.Second,
		Transport: &http.Transport{DialContext: lab.DialContext(ns), DisableKeepAlives: true},
	}
}

func (lab *Lab) has(ns string) bool {
	for _, n := range lab.Namespaces() {
		if n == ns {
			return true
		}
	}
	return false
}

// Close ends the processes still running inside the lab's namespaces and removes the
// namespaces (their devices, addresses, routes and qdiscs go with them). A second call does
// nothing.
func (lab *Lab) Close() error {
	if lab.closed.Swap(true) {
		return nil
	}
	var errs []error
	for _, ns := range lab.Namespaces() {
		if err := remove(ns); err != nil {
			errs = append(errs, err)
		}
	}
	lab.log.Info("link lab removed", "server", lab.Server, "errors", len(errs))
	return errors.Join(errs...)
}

// List returns the names of the namespaces that start with prefix (empty: DefaultPrefix).
func List(prefix string) ([]string, error) {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	entries, err := os.ReadDir("/var/run/netns")
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("linklab: listing namespaces: %w", err)
	}
	var names []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), prefix) {
			names = append(names, e.Name())
		}
	}
	return names, nil
}

// PruneDead removes the namespaces with prefix (empty: DefaultPrefix) whose creating
// process no longer exists, with the processes still inside them, and returns their
// names. (A process id reused since is taken for alive: its leftovers stay until then.)
func PruneDead(prefix string) ([]string, error) {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	names, err := List(prefix)
	if err != nil {
		return nil, err
	}
	var removed []string
	var errs []error
	for _, name := range names {
		pidText, _, _ := strings.Cut(strings.TrimPrefix(name, prefix), "-")
		pid, err := strconv.Atoi(pidText)
		if err != nil || pid <= 0 || alive(pid) {
			continue
		}
		if err := remove(name); err != nil {
			errs = append(errs, err)
			continue
		}
		removed = append(removed, name)
	}
	return removed, errors.Join(errs...)
}

func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// remove kills the processes inside namespace ns and deletes it.
func remove(ns string) error {
	if _, err := os.Stat("/var/run/netns/" + ns); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if out, err := exec.Command("ip", "netns", "pids", ns).Output(); err == nil {
		for _, f := range strings.Fields(string(out)) {
			if pid, err := strconv.Atoi(f); err == nil && pid != os.Getpid() {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	}
	return ip("netns", "del", ns)
}

func checkPrefix(p string) error {
	for _, r := range p {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
			return fmt.Errorf("%w: prefix %q: letters, digits and '-' only", ErrBadConfig, p)
		}
	}
	if len(p) > 32 {
		return fmt.Errorf("%w: prefix %q longer than 32 bytes", ErrBadConfig, p)
	}
	return nil
}

func ip(args ...string) error { return run("ip", args...) }

func run(name string, args ...string) error {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("linklab: %s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}
