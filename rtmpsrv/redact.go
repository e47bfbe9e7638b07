package rtmpsrv

import "strings"

// redactQuery hides the query string of an app or stream name before it is logged: clients
// put credentials there ("demo?token=...", or a bare "demo?secret").
func redactQuery(s string) string {
	if path, _, ok := strings.Cut(s, "?"); ok {
		return path + "?REDACTED"
	}
	return s
}
