package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// clockTicks is USER_HZ, the unit of /proc/PID/stat CPU times: 100 on every mainstream Linux
// (sysconf(_SC_CLK_TCK) would need cgo).
const clockTicks = 100

// procSample is a process's CPU time and resident memory at one moment.
type procSample struct {
	At  time.Time
	CPU time.Duration // user + system
	RSS int64         // bytes
}

// parseProcStat reads utime + stime and the resident set size (in pages) from the contents
// of /proc/PID/stat. The command name (field 2) may contain spaces and parentheses, so fields
// are counted after its last ')'.
func parseProcStat(b []byte) (cpuTicks uint64, rssPages int64, err error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, fmt.Errorf("proc stat: no command name in %q", b)
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state): utime is field 14, stime 15, rss 24.
	if len(f) < 22 {
		return 0, 0, fmt.Errorf("proc stat: %d fields after the command name, want >= 22", len(f))
	}
	ut, err1 := strconv.ParseUint(f[11], 10, 64)
	st, err2 := strconv.ParseUint(f[12], 10, 64)
	rss, err3 := strconv.ParseInt(f[21], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return 0, 0, fmt.Errorf("proc stat: bad utime/stime/rss %q %q %q", f[11], f[12], f[21])
	}
	return ut + st, rss, nil
}

// sampleProc reads /proc/PID/stat.
func sampleProc(pid int) (procSample, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procSample{}, err
	}
	ticks, pages, err := parseProcStat(b)
	if err != nil {
		return procSample{}, err
	}
	return procSample{
		At:  time.Now(),
		CPU: time.Duration(ticks) * time.Second / clockTicks,
		RSS: pages * int64(os.Getpagesize()),
	}, nil
}

// threadCPU returns the CPU time of a process's threads, summed by thread name with a
// trailing "-N" or digits removed (llvmpipe-0 and llvmpipe-1 count as llvmpipe).
func threadCPU(pid int) (map[string]time.Duration, error) {
	dir := fmt.Sprintf("/proc/%d/task", pid)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	out := map[string]time.Duration{}
	for _, e := range entries {
		b, err := os.ReadFile(dir + "/" + e.Name() + "/stat")
		if err != nil {
			continue // the thread ended
		}
		ticks, _, err := parseProcStat(b)
		if err != nil {
			continue
		}
		out[threadGroup(b)] += time.Duration(ticks) * time.Second / clockTicks
	}
	return out, nil
}

// threadGroup returns the thread name of a /proc stat line without a trailing number.
func threadGroup(stat []byte) string {
	i, j := bytes.IndexByte(stat, '('), bytes.LastIndexByte(stat, ')')
	if i < 0 || j <= i {
		return ""
	}
	name := strings.TrimRight(string(stat[i+1:j]), "0123456789")
	return strings.TrimRight(name, "-:_ ")
}

// renderShare is the part of the CPU used between two thread samples that llvmpipe's
// rasteriser threads used (0 when nothing was used).
func renderShare(a, b map[string]time.Duration) float64 {
	var total, render time.Duration
	for k, v := range b {
		d := v - a[k]
		total += d
		if k == "llvmpipe" {
			render += d
		}
	}
	if total <= 0 {
		return 0
	}
	return float64(render) / float64(total)
}

// cpuCores is the CPU used between two samples, in cores (1.0 = one core busy).
func cpuCores(a, b procSample) float64 {
	wall := b.At.Sub(a.At)
	if wall <= 0 {
		return 0
	}
	return float64(b.CPU-a.CPU) / float64(wall)
}

// parseCPUBusy reads the busy and total CPU ticks of all CPUs from the contents of
// /proc/stat (its "cpu" line: busy is everything but idle and iowait).
func parseCPUBusy(b []byte) (busy, total uint64, err error) {
	line, _, _ := bytes.Cut(b, []byte("\n"))
	f := strings.Fields(string(line))
	if len(f) < 5 || f[0] != "cpu" {
		return 0, 0, fmt.Errorf("proc stat: no cpu line in %q", line)
	}
	for i, v := range f[1:] {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("proc stat: cpu field %d: %q", i+1, v)
		}
		if i >= 8 { // guest and guest_nice are already counted in user and nice
			break
		}
		total += n
		if i != 3 && i != 4 { // idle, iowait
			busy += n
		}
	}
	return busy, total, nil
}

// machineSample is the machine's busy CPU time (every process, ours and others') at one
// moment.
type machineSample struct {
	At   time.Time
	Busy time.Duration
}

func sampleMachine() (machineSample, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return machineSample{}, err
	}
	busy, _, err := parseCPUBusy(b)
	if err != nil {
		return machineSample{}, err
	}
	return machineSample{At: time.Now(), Busy: time.Duration(busy) * time.Second / clockTicks}, nil
}

// machineCores is the busy CPU between two machine samples, in cores.
func machineCores(a, b machineSample) float64 {
	wall := b.At.Sub(a.At)
	if wall <= 0 {
		return 0
	}
	return float64(b.Busy-a.Busy) / float64(wall)
}

// Machine describes the computer the figures come from.
type Machine struct {
	CPU      string  `json:"cpu"`
	CPUs     int     `json:"cpus"`
	MemoryGB float64 `json:"memory_gib"`
	Kernel   string  `json:"kernel,omitempty"`
	LoadAvg  string  `json:"loadavg_at_start"`
	FFmpeg   string  `json:"ffmpeg,omitempty"`
	Nginx    string  `json:"nginx,omitempty"`
	GoVer    string  `json:"go"`
}

func describeMachine() Machine {
	m := Machine{CPUs: runtime.NumCPU(), GoVer: runtime.Version(), LoadAvg: loadAvg()}
	if out, err := exec.Command("lscpu").Output(); err == nil {
		sc := bufio.NewScanner(bytes.NewReader(out))
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "Model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if f := strings.Fields(line); len(f) >= 2 && f[0] == "MemTotal:" {
				kb, _ := strconv.ParseFloat(f[1], 64)
				m.MemoryGB = kb / (1 << 20)
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	if out, err := exec.Command("ffmpeg", "-hide_banner", "-version").Output(); err == nil {
		m.FFmpeg = firstLine(out)
	}
	if out, err := exec.Command(nginxBinary(), "-v").CombinedOutput(); err == nil {
		m.Nginx = firstLine(out)
	}
	return m
}

func firstLine(b []byte) string {
	s, _, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
	return s
}

// loadAvg returns the first three fields of /proc/loadavg.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}
