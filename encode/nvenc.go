package encode

/*
#cgo LDFLAGS: -ldl
#include <dlfcn.h>
#include <stdlib.h>

static int rc_can_load(const char *name) {
	void *h = dlopen(name, RTLD_LAZY | RTLD_LOCAL);
	if (h == NULL) {
		return 0;
	}
	dlclose(h);
	return 1;
}
*/
import "C"

import (
	"strings"
	"unsafe"
)

// NVENC needs these two libraries from the NVIDIA driver; in a container they appear only
// when it runs with the NVIDIA runtime and video capability.
const (
	libCUDA         = "libcuda.so.1"
	libNVIDIAEncode = "libnvidia-encode.so.1"
)

// canLoad reports whether the dynamic loader finds a shared library.
func canLoad(name string) bool {
	c := C.CString(name)
	defer C.free(unsafe.Pointer(c))
	return C.rc_can_load(c) != 0
}

// nvencMissing explains why h264_nvenc failed to open, as far as this process can tell
// (FFmpeg logs its own reason through av_log only).
func nvencMissing() string {
	var missing []string
	for _, lib := range []string{libCUDA, libNVIDIAEncode} {
		if !canLoad(lib) {
			missing = append(missing, lib)
		}
	}
	if len(missing) > 0 {
		return "the NVIDIA driver is missing (" + strings.Join(missing, ", ") + " not found): install the NVIDIA driver, " +
			"or run the container with the NVIDIA runtime and NVIDIA_DRIVER_CAPABILITIES including video; " +
			"NVENC also needs a GPU with an NVENC unit (H100/H200 have none)"
	}
	return "the NVIDIA driver is present, so no usable NVENC was found: the GPU may have no NVENC unit " +
		"(H100/H200 have none), no GPU may be visible, or its encoder sessions may be in use"
}
