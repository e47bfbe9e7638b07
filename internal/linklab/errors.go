package linklab

import "errors"

var (
	// ErrNotRoot is returned when the lab is built without root: network namespaces, veth
	// pairs and qdiscs need CAP_NET_ADMIN and CAP_SYS_ADMIN.
	ErrNotRoot = errors.New("linklab: building network namespaces needs root (run the tests as root, as CI does)")
	// ErrMissingTool is returned when ip or tc (Debian's iproute2) is not installed.
	ErrMissingTool = errors.New("linklab: a tool is missing (scripts/setup.sh installs iproute2)")
	// ErrBadConfig is returned for a Config the lab cannot build (no links, a negative rate,
	// more links than the address plan holds, a prefix with characters a name cannot hold).
	ErrBadConfig = errors.New("linklab: bad config")
	// ErrUnknownNamespace is returned by Do for a namespace the lab did not create.
	ErrUnknownNamespace = errors.New("linklab: not a namespace of this lab")
)
