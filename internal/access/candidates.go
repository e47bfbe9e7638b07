package access

import (
	"net/http"
	"net/url"
	"strings"
)

// Names under which clients present secrets.
const (
	// KeyToken is the viewing token's name in queries and RTMP connect properties.
	KeyToken = "token"
	// KeyControlToken is the control token's name in queries and RTMP connect properties.
	KeyControlToken = "control_token"
	// HeaderControlToken is the HTTP header that carries the control token.
	HeaderControlToken = "X-Control-Token"
)

// FromRequest collects the secrets an HTTP request presents, for Secret.Match: the token
// of an "Authorization: Bearer <token>" header, the value of the header named header and
// the value of the query parameter named query (either name may be empty: not looked at).
// Only the first value of each is taken, so one request tries at most three guesses; empty
// values are left out.
func FromRequest(r *http.Request, query, header string) []string {
	out := make([]string, 0, 3)
	if scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " "); ok && strings.EqualFold(scheme, "Bearer") {
		out = appendNonEmpty(out, strings.TrimSpace(tok))
	}
	if header != "" {
		out = appendNonEmpty(out, r.Header.Get(header))
	}
	if query != "" {
		out = appendNonEmpty(out, r.URL.Query().Get(query))
	}
	return out
}

// FromRTMPConnect collects the secrets named key that an RTMP connect command presents, for
// Secret.Match: the key parameter of the tcUrl query
// ("rtmp://host/live?token=T"), of the query some clients leave in app ("live?token=T"),
// the connect object's property key (read with prop, which may be nil; an rtmpsrv.Object's
// GetString fits), and, for KeyToken only, the first extra connect argument when it is a
// string (ffmpeg's -rtmp_conn S:T). Only the first value of each query parameter is taken;
// empty values and unparsable URLs are left out.
func FromRTMPConnect(key, tcURL, app string, prop func(name string) (string, bool), args []any) []string {
	out := make([]string, 0, 4)
	if tcURL != "" {
		if u, err := url.Parse(tcURL); err == nil {
			out = appendNonEmpty(out, u.Query().Get(key))
		}
	}
	if _, q, ok := strings.Cut(app, "?"); ok {
		if v, err := url.ParseQuery(q); err == nil {
			out = appendNonEmpty(out, v.Get(key))
		}
	}
	if prop != nil {
		if v, ok := prop(key); ok {
			out = appendNonEmpty(out, v)
		}
	}
	if key == KeyToken && len(args) > 0 {
		if v, ok := args[0].(string); ok {
			out = appendNonEmpty(out, v)
		}
	}
	return out
}

func appendNonEmpty(out []string, v string) []string {
	if v == "" {
		return out
	}
	return append(out, v)
}
