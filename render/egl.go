package render

/*
#cgo pkg-config: egl
#include <stdlib.h>
#include <EGL/egl.h>
#include <EGL/eglext.h>

#ifndef EGL_PLATFORM_SURFACELESS_MESA
#define EGL_PLATFORM_SURFACELESS_MESA 0x31DD
#endif
#ifndef EGL_NO_CONFIG_KHR
#define EGL_NO_CONFIG_KHR ((EGLConfig)0)
#endif

static const char *rc_client_extensions(void) {
	return eglQueryString(EGL_NO_DISPLAY, EGL_EXTENSIONS);
}

// rc_query_devices fills devs with up to max devices; -1 if eglQueryDevicesEXT is missing.
static int rc_query_devices(EGLDeviceEXT *devs, int max) {
	PFNEGLQUERYDEVICESEXTPROC query = (PFNEGLQUERYDEVICESEXTPROC)eglGetProcAddress("eglQueryDevicesEXT");
	if (query == NULL) {
		return -1;
	}
	EGLint n = 0;
	if (!query(max, devs, &n)) {
		return -2;
	}
	return n;
}

static const char *rc_device_string(EGLDeviceEXT dev, EGLint name) {
	PFNEGLQUERYDEVICESTRINGEXTPROC query = (PFNEGLQUERYDEVICESTRINGEXTPROC)eglGetProcAddress("eglQueryDeviceStringEXT");
	if (query == NULL) {
		return NULL;
	}
	return query(dev, name);
}

static EGLDisplay rc_platform_display(EGLenum platform, void *native) {
	PFNEGLGETPLATFORMDISPLAYEXTPROC get = (PFNEGLGETPLATFORMDISPLAYEXTPROC)eglGetProcAddress("eglGetPlatformDisplayEXT");
	if (get == NULL) {
		return EGL_NO_DISPLAY;
	}
	return get(platform, native, NULL);
}

static EGLDisplay rc_device_display(EGLDeviceEXT *devs, int i) {
	return rc_platform_display(EGL_PLATFORM_DEVICE_EXT, devs[i]);
}

static EGLDisplay rc_surfaceless_display(void) {
	return rc_platform_display(EGL_PLATFORM_SURFACELESS_MESA, EGL_DEFAULT_DISPLAY);
}

// rc_choose_config picks an RGBA8 OpenGL config, with pbuffer support when asked.
static EGLConfig rc_choose_config(EGLDisplay d, int pbuffer) {
	EGLint attrs[] = {
		EGL_RENDERABLE_TYPE, EGL_OPENGL_BIT,
		EGL_SURFACE_TYPE, pbuffer ? EGL_PBUFFER_BIT : EGL_DONT_CARE,
		EGL_RED_SIZE, 8, EGL_GREEN_SIZE, 8, EGL_BLUE_SIZE, 8,
		EGL_NONE,
	};
	EGLConfig cfg = NULL;
	EGLint n = 0;
	if (!eglChooseConfig(d, attrs, &cfg, 1, &n) || n < 1) {
		return NULL;
	}
	return cfg;
}

static EGLContext rc_create_context(EGLDisplay d, EGLConfig cfg, int major, int minor) {
	EGLint attrs[] = {
		EGL_CONTEXT_MAJOR_VERSION, major,
		EGL_CONTEXT_MINOR_VERSION, minor,
		EGL_CONTEXT_OPENGL_PROFILE_MASK, EGL_CONTEXT_OPENGL_CORE_PROFILE_BIT,
		EGL_NONE,
	};
	return eglCreateContext(d, cfg, EGL_NO_CONTEXT, attrs);
}

static EGLSurface rc_create_pbuffer(EGLDisplay d, EGLConfig cfg) {
	EGLint attrs[] = { EGL_WIDTH, 16, EGL_HEIGHT, 16, EGL_NONE };
	return eglCreatePbufferSurface(d, cfg, attrs);
}

static EGLConfig rc_no_config(void) { return EGL_NO_CONFIG_KHR; }
static EGLSurface rc_no_surface(void) { return EGL_NO_SURFACE; }
static EGLContext rc_no_context(void) { return EGL_NO_CONTEXT; }
static EGLDisplay rc_no_display(void) { return EGL_NO_DISPLAY; }
*/
import "C"

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"unsafe"
)

// Platform names accepted by Config.Platform and reported in Info.Platform.
const (
	// PlatformAuto tries the EGL device platform, then Mesa's surfaceless platform.
	PlatformAuto = ""
	// PlatformDevice is EGL_EXT_platform_device: GPUs (NVIDIA, Mesa DRM drivers) and Mesa's
	// software device.
	PlatformDevice = "device"
	// PlatformSurfaceless is EGL_MESA_platform_surfaceless.
	PlatformSurfaceless = "surfaceless"
)

// installHint is what the "no context" error tells the operator to do.
const installHint = "install Mesa's EGL and software rasteriser (Debian/Ubuntu: apt-get install libegl1 libegl-mesa0 libgl1-mesa-dri) " +
	"or, on an NVIDIA GPU, the NVIDIA driver (in a container: the NVIDIA container toolkit with NVIDIA_DRIVER_CAPABILITIES including graphics)"

// glVersions are the core profiles asked for, best first.
var glVersions = [...]struct{ major, minor int }{{4, 5}, {3, 3}}

// eglContext is a current EGL context on the calling OS thread.
type eglContext struct {
	display  C.EGLDisplay
	context  C.EGLContext
	surface  C.EGLSurface // EGL_NO_SURFACE unless the display lacks surfaceless contexts
	platform string
	device   string // device description (extensions or DRM node); empty for surfaceless
	gpu      int    // GPU number (nvidia-smi order); -1 for software devices and surfaceless
	version  string // "4.5 core"
}

// openEGL creates an OpenGL core context and makes it current on the calling (locked) OS
// thread. It tries the platforms platform allows, in order, and every device of the device
// platform (only GPU gpu when gpu >= 0); the error lists each attempt.
func openEGL(platform string, gpu int, log *slog.Logger) (*eglContext, error) {
	clientExt := C.GoString(C.rc_client_extensions())
	var tried []string
	fail := func(what string, err error) {
		tried = append(tried, what+": "+err.Error())
		log.Debug("render: EGL attempt failed", "attempt", what, "err", err)
	}
	if platform == PlatformAuto || platform == PlatformDevice || gpu >= 0 {
		ctx, err := openDevices(clientExt, gpu, log, fail)
		if err == nil {
			return ctx, nil
		}
	}
	if gpu < 0 && (platform == PlatformAuto || platform == PlatformSurfaceless) {
		if !hasExtension(clientExt, "EGL_MESA_platform_surfaceless") {
			fail("EGL surfaceless platform", fmt.Errorf("EGL_MESA_platform_surfaceless not offered (client extensions: %q)", clientExt))
		} else {
			d := C.rc_surfaceless_display()
			if ctx, err := openDisplay(d, PlatformSurfaceless, ""); err != nil {
				fail("EGL surfaceless platform", err)
			} else {
				ctx.gpu = -1
				return ctx, nil
			}
		}
	}
	return nil, &NoContextError{Tried: tried, Hint: installHint}
}

// Device is an EGL device: a GPU or Mesa's software rasteriser.
type Device struct {
	// GPU is the GPU's number: NVIDIA GPUs first, counted as nvidia-smi counts them (by PCI
	// bus address), then other GPUs (e.g. an integrated one) likewise; -1 for a software
	// device.
	GPU int
	// Software reports a software rasteriser (EGL_MESA_device_software).
	Software bool
	// NVIDIA reports an NVIDIA GPU (EGL_NV_device_cuda).
	NVIDIA bool
	// Name is the DRM node (/dev/dri/cardN), "software", or the device's extensions.
	Name string
	// PCI is the PCI bus address ("0000:3b:00.0"), when the DRM node leads to one.
	PCI string
	// egl is the index in eglQueryDevicesEXT's list.
	egl int
}

// Devices lists the EGL devices: NVIDIA GPUs in nvidia-smi's order, then other GPUs, then
// software devices. A GPU listed twice (by two drivers, same PCI address) appears once, the
// NVIDIA driver's entry kept. Without a PCI address for every GPU (no /sys/class/drm, as in
// some containers) GPUs keep EGL's order, which may differ from nvidia-smi's on hosts with
// several. It needs no context.
func Devices() ([]Device, error) {
	clientExt := C.GoString(C.rc_client_extensions())
	if !hasExtension(clientExt, "EGL_EXT_platform_device") || !hasExtension(clientExt, "EGL_EXT_device_enumeration") && !hasExtension(clientExt, "EGL_EXT_device_base") {
		return nil, fmt.Errorf("%w: EGL_EXT_platform_device or EGL_EXT_device_enumeration not offered (client extensions: %q)", ErrNoContext, clientExt)
	}
	devs, n, free := queryDevices()
	defer free()
	if n <= 0 {
		return nil, fmt.Errorf("%w: eglQueryDevicesEXT found no device (%d, %s)", ErrNoContext, n, eglError())
	}
	var gpus, soft []Device
	for i := 0; i < n; i++ {
		d := Device{GPU: -1, Name: describeDevice(devs, i), egl: i}
		if d.Name == "software" {
			d.Software = true
			soft = append(soft, d)
			continue
		}
		d.NVIDIA = hasExtension(deviceString(devs, i, C.EGL_EXTENSIONS), "EGL_NV_device_cuda")
		if node := deviceString(devs, i, C.EGL_DRM_DEVICE_FILE_EXT); strings.HasPrefix(node, "/dev/dri/") {
			d.PCI = pciAddress(node)
		}
		gpus = append(gpus, d)
	}
	gpus = mergeByPCI(gpus)
	byPCI := true
	for _, g := range gpus {
		byPCI = byPCI && g.PCI != ""
	}
	sort.SliceStable(gpus, func(a, b int) bool {
		if gpus[a].NVIDIA != gpus[b].NVIDIA {
			return gpus[a].NVIDIA
		}
		return byPCI && gpus[a].PCI < gpus[b].PCI
	})
	for i := range gpus {
		gpus[i].GPU = i
	}
	return append(gpus, soft...), nil
}

// mergeByPCI keeps one entry per PCI address, preferring the NVIDIA driver's.
func mergeByPCI(gpus []Device) []Device {
	seen := map[string]int{}
	out := gpus[:0:0]
	for _, g := range gpus {
		if g.PCI == "" {
			out = append(out, g)
			continue
		}
		if i, ok := seen[g.PCI]; ok {
			if g.NVIDIA && !out[i].NVIDIA {
				out[i] = g
			}
			continue
		}
		seen[g.PCI] = len(out)
		out = append(out, g)
	}
	return out
}

// pciAddress returns the PCI bus address behind a DRM node, from sysfs ("" if unknown).
func pciAddress(node string) string {
	link, err := os.Readlink(filepath.Join("/sys/class/drm", filepath.Base(node), "device"))
	if err != nil {
		return ""
	}
	return filepath.Base(link)
}

// queryDevices returns EGL's device list (n < 0: the query failed) and a function that frees it.
func queryDevices() (*[maxDevices]C.EGLDeviceEXT, int, func()) {
	devs := (*[maxDevices]C.EGLDeviceEXT)(C.malloc(C.size_t(maxDevices * unsafe.Sizeof(C.EGLDeviceEXT(nil)))))
	n := int(C.rc_query_devices(&devs[0], maxDevices))
	return devs, n, func() { C.free(unsafe.Pointer(devs)) }
}

const maxDevices = 64

// openDevices tries every EGL device, GPUs first, or only GPU gpu when gpu >= 0.
func openDevices(clientExt string, gpu int, log *slog.Logger, fail func(string, error)) (*eglContext, error) {
	list, err := Devices()
	if err != nil {
		fail("EGL device platform", err)
		return nil, err
	}
	devs, n, free := queryDevices()
	defer free()
	if n <= 0 {
		err := fmt.Errorf("eglQueryDevicesEXT found no device (%d, %s)", n, eglError())
		fail("EGL device platform", err)
		return nil, err
	}
	var lastErr error = fmt.Errorf("%w: GPU %d (found %d GPUs)", ErrNoGPU, gpu, countGPUs(list))
	for _, dev := range list {
		if gpu >= 0 && dev.GPU != gpu || dev.egl >= n {
			continue
		}
		what := fmt.Sprintf("EGL device %d (%s)", dev.egl, dev.Name)
		d := C.rc_device_display(&devs[0], C.int(dev.egl))
		ctx, err := openDisplay(d, PlatformDevice, dev.Name)
		if err != nil {
			fail(what, err)
			lastErr = err
			continue
		}
		ctx.gpu = dev.GPU
		log.Debug("render: EGL device selected", "device", dev.egl, "gpu", dev.GPU, "desc", dev.Name)
		return ctx, nil
	}
	if gpu >= 0 && len(list) > 0 {
		fail(fmt.Sprintf("GPU %d", gpu), lastErr)
	}
	return nil, lastErr
}

func countGPUs(list []Device) int {
	n := 0
	for _, d := range list {
		if !d.Software {
			n++
		}
	}
	return n
}

func deviceString(devs *[maxDevices]C.EGLDeviceEXT, i int, name C.EGLint) string {
	s := C.rc_device_string(devs[i], name)
	if s == nil {
		return ""
	}
	return C.GoString(s)
}

func describeDevice(devs *[maxDevices]C.EGLDeviceEXT, i int) string {
	ext := deviceString(devs, i, C.EGL_EXTENSIONS)
	if hasExtension(ext, "EGL_MESA_device_software") {
		return "software"
	}
	if hasExtension(ext, "EGL_EXT_device_drm") {
		if node := deviceString(devs, i, C.EGL_DRM_DEVICE_FILE_EXT); node != "" {
			return node
		}
	}
	if ext == "" {
		return "unknown"
	}
	return ext
}

// openDisplay initialises d and creates a current core context on it (4.5, then 3.3).
func openDisplay(d C.EGLDisplay, platform, device string) (*eglContext, error) {
	if d == C.rc_no_display() {
		return nil, fmt.Errorf("eglGetPlatformDisplayEXT: %s", eglError())
	}
	// Count the display as used before initialising it, so that another renderer's release
	// cannot terminate it in between.
	displays.acquire(d)
	var major, minor C.EGLint
	if C.eglInitialize(d, &major, &minor) == C.EGL_FALSE {
		err := fmt.Errorf("eglInitialize: %s", eglError())
		displays.release(d)
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			displays.release(d)
		}
	}()
	if C.eglBindAPI(C.EGL_OPENGL_API) == C.EGL_FALSE {
		return nil, fmt.Errorf("eglBindAPI(EGL_OPENGL_API): %s", eglError())
	}
	dispExt := C.GoString(C.eglQueryString(d, C.EGL_EXTENSIONS))
	surfaceless := hasExtension(dispExt, "EGL_KHR_surfaceless_context")
	var cfg C.EGLConfig
	switch {
	case surfaceless && hasExtension(dispExt, "EGL_KHR_no_config_context"):
		cfg = C.rc_no_config()
	default:
		if cfg = C.rc_choose_config(d, boolInt(!surfaceless)); cfg == 0 {
			return nil, fmt.Errorf("eglChooseConfig (OpenGL, RGB8): no config: %s", eglError())
		}
	}
	var errs []string
	for _, v := range glVersions {
		c := C.rc_create_context(d, cfg, C.int(v.major), C.int(v.minor))
		if c == C.rc_no_context() {
			errs = append(errs, fmt.Sprintf("eglCreateContext %d.%d core: %s", v.major, v.minor, eglError()))
			continue
		}
		surface := C.rc_no_surface()
		if !surfaceless {
			if surface = C.rc_create_pbuffer(d, cfg); surface == C.rc_no_surface() {
				errs = append(errs, "eglCreatePbufferSurface: "+eglError())
				C.eglDestroyContext(d, c)
				break
			}
		}
		if C.eglMakeCurrent(d, surface, surface, c) == C.EGL_FALSE {
			errs = append(errs, fmt.Sprintf("eglMakeCurrent %d.%d core: %s", v.major, v.minor, eglError()))
			if surface != C.rc_no_surface() {
				C.eglDestroySurface(d, surface)
			}
			C.eglDestroyContext(d, c)
			continue
		}
		ok = true
		return &eglContext{
			display: d, context: c, surface: surface, platform: platform, device: device,
			version: fmt.Sprintf("%d.%d core", v.major, v.minor),
		}, nil
	}
	return nil, fmt.Errorf("EGL %d.%d: %s", major, minor, strings.Join(errs, "; "))
}

// close releases the context from the thread and destroys it; the display is terminated
// when no other renderer of the process uses it.
func (e *eglContext) close() {
	C.eglMakeCurrent(e.display, C.rc_no_surface(), C.rc_no_surface(), C.rc_no_context())
	if e.surface != C.rc_no_surface() {
		C.eglDestroySurface(e.display, e.surface)
	}
	C.eglDestroyContext(e.display, e.context)
	displays.release(e.display)
	C.eglReleaseThread()
}

// displayRefs counts the renderers using each initialised EGL display. EGL displays are
// process-wide (the same device gives the same EGLDisplay) and eglTerminate is not counted,
// so terminating one renderer's display would break every other renderer on it.
type displayRefs struct {
	mu   sync.Mutex
	refs map[C.EGLDisplay]int
}

// displays is process-wide on purpose: it mirrors EGL's process-wide displays.
var displays = displayRefs{refs: map[C.EGLDisplay]int{}}

func (r *displayRefs) acquire(d C.EGLDisplay) {
	r.mu.Lock()
	r.refs[d]++
	r.mu.Unlock()
}

func (r *displayRefs) release(d C.EGLDisplay) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.refs[d]--
	if r.refs[d] <= 0 {
		delete(r.refs, d)
		C.eglTerminate(d)
	}
}

func hasExtension(list, name string) bool {
	for _, e := range strings.Fields(list) {
		if e == name {
			return true
		}
	}
	return false
}

func boolInt(b bool) C.int {
	if b {
		return 1
	}
	return 0
}

// eglError names the calling thread's last EGL error.
func eglError() string {
	code := C.eglGetError()
	names := map[C.EGLint]string{
		C.EGL_SUCCESS: "EGL_SUCCESS", C.EGL_NOT_INITIALIZED: "EGL_NOT_INITIALIZED",
		C.EGL_BAD_ACCESS: "EGL_BAD_ACCESS", C.EGL_BAD_ALLOC: "EGL_BAD_ALLOC",
		C.EGL_BAD_ATTRIBUTE: "EGL_BAD_ATTRIBUTE", C.EGL_BAD_CONTEXT: "EGL_BAD_CONTEXT",
		C.EGL_BAD_CONFIG: "EGL_BAD_CONFIG", C.EGL_BAD_CURRENT_SURFACE: "EGL_BAD_CURRENT_SURFACE",
		C.EGL_BAD_DISPLAY: "EGL_BAD_DISPLAY", C.EGL_BAD_SURFACE: "EGL_BAD_SURFACE",
		C.EGL_BAD_MATCH: "EGL_BAD_MATCH", C.EGL_BAD_PARAMETER: "EGL_BAD_PARAMETER",
		C.EGL_BAD_NATIVE_PIXMAP: "EGL_BAD_NATIVE_PIXMAP", C.EGL_BAD_NATIVE_WINDOW: "EGL_BAD_NATIVE_WINDOW",
		C.EGL_CONTEXT_LOST: "EGL_CONTEXT_LOST",
	}
	if n, ok := names[code]; ok {
		return n
	}
	return fmt.Sprintf("EGL error 0x%x", int(code))
}
