package access

import (
	"crypto/sha256"
	"fmt"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
)

func TestSecretMatch(t *testing.T) {
	s := NewSecret("s3cret")
	if !s.Required() {
		t.Fatal("a non-empty secret is not required")
	}
	for _, tc := range []struct {
		name       string
		candidates []string
		want       bool
	}{
		{"equal", []string{"s3cret"}, true},
		{"different, same length", []string{"s3creT"}, false},
		{"prefix", []string{"s3cre"}, false},
		{"longer", []string{"s3cret "}, false},
		{"much longer", []string{strings.Repeat("s3cret", 1000)}, false},
		{"empty candidate", []string{""}, false},
		{"no candidates", nil, false},
		{"match first of three", []string{"s3cret", "x", ""}, true},
		{"match last of three", []string{"", "x", "s3cret"}, true},
		{"none of three", []string{"a", "b", "c"}, false},
	} {
		if got := s.Match(tc.candidates...); got != tc.want {
			t.Errorf("%s: Match(%q) = %v, want %v", tc.name, tc.candidates, got, tc.want)
		}
	}
}

func TestSecretNotRequired(t *testing.T) {
	for name, s := range map[string]Secret{"zero": {}, "empty": NewSecret("")} {
		if s.Required() {
			t.Errorf("%s secret required", name)
		}
		if !s.Match() || !s.Match("anything") || !s.Match("") {
			t.Errorf("%s secret refused a request", name)
		}
	}
}

// TestMatchExaminesAll: every candidate is hashed and compared, wherever the match is, so
// that the time taken does not tell which candidate matched.
func TestMatchExaminesAll(t *testing.T) {
	want := sha256.Sum256([]byte("tok"))
	for _, candidates := range [][]string{
		{"tok", "a", "b", "c", "d"},
		{"a", "b", "tok", "c", "d"},
		{"a", "b", "c", "d", "tok"},
		{"a", "b", "c", "d", "e"},
	} {
		var hashed []string
		hash := func(c string) [sha256.Size]byte {
			hashed = append(hashed, c)
			return sha256.Sum256([]byte(c))
		}
		got := matchDigest(want, candidates, hash)
		if got != slices.Contains(candidates, "tok") {
			t.Errorf("%q: match %v", candidates, got)
		}
		if !slices.Equal(hashed, candidates) {
			t.Errorf("%q: hashed %q, want every candidate once, in order", candidates, hashed)
		}
	}
}

func TestSecretString(t *testing.T) {
	s := NewSecret("s3cret")
	for _, out := range []string{s.String(), fmt.Sprint(s), fmt.Sprintf("%v %+v", s, s)} {
		if strings.Contains(out, "s3cret") || strings.Contains(out, fmt.Sprintf("%x", sha256.Sum256([]byte("s3cret")))[:8]) {
			t.Errorf("printed secret reveals it: %q", out)
		}
	}
	if s.String() == (Secret{}).String() {
		t.Error("a required secret prints like none")
	}
}

func TestFromRequest(t *testing.T) {
	for _, tc := range []struct {
		name, target string
		headers      map[string]string
		want         []string
	}{
		{"nothing", "/whep/demo", nil, []string{}},
		{"bearer", "/whep/demo", map[string]string{"Authorization": "Bearer  tok "}, []string{"tok"}},
		{"bearer any case", "/whep/demo", map[string]string{"Authorization": "bearer tok"}, []string{"tok"}},
		{"basic is not a token", "/whep/demo", map[string]string{"Authorization": "Basic dG9rOg=="}, []string{}},
		{"query", "/whep/demo?token=q&token=second", nil, []string{"q"}},
		{"other query", "/whep/demo?control_token=c", nil, []string{}},
		{"header", "/whep/demo", map[string]string{"X-Control-Token": "h"}, []string{"h"}},
		{"all three", "/whep/demo?token=q", map[string]string{"Authorization": "Bearer b", "X-Control-Token": "h"}, []string{"b", "h", "q"}},
		{"empty values", "/whep/demo?token=", map[string]string{"Authorization": "Bearer ", "X-Control-Token": ""}, []string{}},
	} {
		r := httptest.NewRequest("POST", tc.target, nil)
		for k, v := range tc.headers {
			r.Header.Set(k, v)
		}
		if got := FromRequest(r, KeyToken, HeaderControlToken); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
	r := httptest.NewRequest("POST", "/whep/demo?token=q", nil)
	r.Header.Set("X-Control-Token", "h")
	if got := FromRequest(r, "", ""); len(got) != 0 {
		t.Errorf("no query or header named: %q, want nothing", got)
	}
	// The WHEP control token: query or header, and the secret matches either.
	ctl := NewSecret("c")
	r = httptest.NewRequest("POST", "/whep/demo?control_token=c", nil)
	if !ctl.Match(FromRequest(r, KeyControlToken, HeaderControlToken)...) {
		t.Error("control token in the query not found")
	}
	r = httptest.NewRequest("POST", "/whep/demo", nil)
	r.Header.Set(HeaderControlToken, "c")
	if !ctl.Match(FromRequest(r, KeyControlToken, HeaderControlToken)...) {
		t.Error("control token in the header not found")
	}
	r = httptest.NewRequest("POST", "/whep/demo?token=c", nil)
	if ctl.Match(FromRequest(r, KeyControlToken, HeaderControlToken)...) {
		t.Error("the control token was taken from the token parameter")
	}
}

func TestFromRTMPConnect(t *testing.T) {
	props := func(m map[string]string) func(string) (string, bool) {
		return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
	}
	for _, tc := range []struct {
		name, key, tcURL, app string
		prop                  map[string]string
		args                  []any
		want                  []string
	}{
		{"nothing", KeyToken, "rtmp://h/live", "live", nil, nil, []string{}},
		{"tcUrl query", KeyToken, "rtmp://h:1935/live?token=t1&token=t2", "live", nil, nil, []string{"t1"}},
		{"app query", KeyToken, "rtmp://h/live", "live?token=a", nil, nil, []string{"a"}},
		{"property", KeyToken, "", "live", map[string]string{"token": "p"}, nil, []string{"p"}},
		{"first argument", KeyToken, "", "live", nil, []any{"arg", "second"}, []string{"arg"}},
		{"first argument not a string", KeyToken, "", "live", nil, []any{1.0, "second"}, []string{}},
		{"all four", KeyToken, "rtmp://h/live?token=q", "live?token=a", map[string]string{"token": "p"}, []any{"arg"}, []string{"q", "a", "p", "arg"}},
		{"control: no argument", KeyControlToken, "rtmp://h/live?session=s&control_token=c", "live?control_token=a",
			map[string]string{"control_token": "p", "token": "x"}, []any{"arg"}, []string{"c", "a", "p"}},
		{"control: not the viewing token", KeyControlToken, "rtmp://h/live?token=t", "live?token=t", map[string]string{"token": "t"}, nil, []string{}},
		{"bad tcUrl", KeyToken, "rtmp://h/%zz?token=q", "live", nil, nil, []string{}},
		{"bad app query", KeyToken, "", "live?token=%zz", nil, nil, []string{}},
		{"empty values", KeyToken, "rtmp://h/live?token=", "live?token=", map[string]string{"token": ""}, []any{""}, []string{}},
	} {
		var prop func(string) (string, bool)
		if tc.prop != nil {
			prop = props(tc.prop)
		}
		if got := FromRTMPConnect(tc.key, tc.tcURL, tc.app, prop, tc.args); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

func FuzzFromRTMPConnect(f *testing.F) {
	f.Add("rtmp://127.0.0.1:1935/live?token=t&session=s", "live?token=a", "p", "arg")
	f.Add("rtmp://[::1]/live/%zz", "live?", "", "")
	f.Add("", "?token=%", "x", "y")
	f.Fuzz(func(t *testing.T, tcURL, app, prop, arg string) {
		got := FromRTMPConnect(KeyToken, tcURL, app, func(string) (string, bool) { return prop, true }, []any{arg})
		if len(got) > 4 || slices.Contains(got, "") {
			t.Fatalf("%q", got)
		}
		if prop != "" && !slices.Contains(got, prop) {
			t.Fatalf("property %q missing from %q", prop, got)
		}
		if arg != "" && !NewSecret(arg).Match(got...) {
			t.Fatalf("first argument %q does not match %q", arg, got)
		}
	})
}
