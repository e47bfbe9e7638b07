package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"regexp"
	"time"
)

// validSessionName reports whether s is a session name the streamer accepts: 1 to 64
// characters of A-Z, a-z, 0-9, '_' and '-'.
func validSessionName(s string) bool {
	if len(s) < 1 || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// sessionFlag matches the -session flag in the streamer's usage text.
var sessionFlag = regexp.MustCompile(`(?m)^\s+-session\b`)

// streamerHasSessions reports whether bin lists a -session flag in its usage.
func streamerHasSessions(bin string) bool {
	out, _ := exec.Command(bin, "-h").CombinedOutput()
	return sessionFlag.Match(out)
}

// sessionStatus is what the streamer's status.json says of one named session.
type sessionStatus struct {
	Found   bool
	Shared  bool
	Viewers int
	Frames  float64
}

// parseSessionStatus finds the session called name in a status.json document. Viewers are
// a list (status.json) or a count (viewerCount, as server.info gives them).
func parseSessionStatus(doc []byte, name string) (sessionStatus, error) {
	var st struct {
		Sessions []struct {
			Name        string          `json:"name"`
			Shared      bool            `json:"shared"`
			Viewers     json.RawMessage `json:"viewers"`
			ViewerCount *float64        `json:"viewerCount"`
			Frames      float64         `json:"frames"`
		} `json:"sessions"`
	}
	if err := json.Unmarshal(doc, &st); err != nil {
		return sessionStatus{}, fmt.Errorf("status.json: %w", err)
	}
	for _, s := range st.Sessions {
		if s.Name != name || name == "" {
			continue
		}
		out := sessionStatus{Found: true, Shared: s.Shared, Frames: s.Frames}
		var list []json.RawMessage
		var count float64
		switch {
		case s.ViewerCount != nil:
			out.Viewers = int(*s.ViewerCount)
		case json.Unmarshal(s.Viewers, &list) == nil:
			out.Viewers = len(list)
		case json.Unmarshal(s.Viewers, &count) == nil:
			out.Viewers = int(count)
		}
		return out, nil
	}
	return sessionStatus{}, nil
}

// fetchSessionStatus reads the streamer's /status.json and finds the session called name.
func fetchSessionStatus(ctx context.Context, httpAddr, name string) (sessionStatus, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+httpAddr+"/status.json", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return sessionStatus{}, err
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	if _, err := b.ReadFrom(resp.Body); err != nil {
		return sessionStatus{}, err
	}
	return parseSessionStatus(b.Bytes(), name)
}
