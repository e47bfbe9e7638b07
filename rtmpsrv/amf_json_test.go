package rtmpsrv

import (
	"testing"

	"github.com/bluenviron/gortmplib/pkg/amf0"
)

// Struct fields are named by their amf tag, else their json tag, else the field name, so
// one typed answer reads the same over RTMP and over JSON.
func TestToAMFStructNames(t *testing.T) {
	type inner struct {
		N int `json:"n"`
	}
	v := struct {
		Plain   string
		JSON    uint64 `json:"frames_sent,omitempty"`
		AMF     bool   `amf:"flag" json:"ignored"`
		Hidden  int    `json:"-"`
		Skipped int    `amf:"-"`
		Inner   inner  `json:"inner"`
		private int
	}{Plain: "p", JSON: 7, AMF: true, Hidden: 1, Skipped: 2, Inner: inner{3}, private: 4}
	got, err := toAMF(v)
	if err != nil {
		t.Fatal(err)
	}
	want := amf0.Object{{Key: "Plain", Value: "p"}, {Key: "frames_sent", Value: 7.0}, {Key: "flag", Value: true},
		{Key: "inner", Value: amf0.Object{{Key: "n", Value: 3.0}}}}
	o, ok := got.(amf0.Object)
	if !ok || len(o) != len(want) {
		t.Fatalf("toAMF = %#v, want %#v", got, want)
	}
	for i := range want {
		if o[i].Key != want[i].Key {
			t.Fatalf("field %d: %q, want %q (%#v)", i, o[i].Key, want[i].Key, o)
		}
	}
	if o[1].Value != 7.0 || o[2].Value != true {
		t.Fatalf("values: %#v", o)
	}
}
