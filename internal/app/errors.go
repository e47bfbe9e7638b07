package app

import "errors"

// ErrDraining refuses a viewer while the streamer drains (SIGTERM): it stops and takes
// no new viewers. Its text is what the refused client reads.
var ErrDraining = errors.New("the streamer is stopping (draining): connect again to reach another")
