package rtmpsrv

import (
	"math"
	"testing"
	"time"
)

func TestConfigLimitDefaults(t *testing.T) {
	c, err := Config{}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][2]float64{
		"MaxConns":          {float64(c.MaxConns), 1000},
		"MaxStreamsPerConn": {float64(c.MaxStreamsPerConn), 8},
		"MaxMessageSize":    {float64(c.MaxMessageSize), 64 << 10},
		"MaxChunkStreams":   {float64(c.MaxChunkStreams), 64},
		"MaxReadBuffer":     {float64(c.MaxReadBuffer), 256 << 10},
		"MaxChunkSize":      {float64(c.MaxChunkSize), 65536},
		"MaxCallsPerSecond": {c.MaxCallsPerSecond, 200},
		"MaxAMFDepth":       {float64(c.MaxAMFDepth), 16},
		"MaxAMFString":      {float64(c.MaxAMFString), 8192},
		"HandshakeTimeout":  {c.HandshakeTimeout.Seconds(), 5},
		"IdleTimeout":       {c.IdleTimeout.Seconds(), 60},
	}
	for name, v := range want {
		if v[0] != v[1] {
			t.Errorf("%s default %v, want %v (documented)", name, v[0], v[1])
		}
	}
}

func TestConfigLimitValidation(t *testing.T) {
	for name, cfg := range map[string]Config{
		"read buffer below message size": {MaxMessageSize: 1000, MaxReadBuffer: 999},
		"message size above RTMP's":      {MaxMessageSize: 1 << 24},
		"negative chunk streams":         {MaxChunkStreams: -1},
		"AMF depth above 64":             {MaxAMFDepth: 65},
		"negative AMF string":            {MaxAMFString: -1},
		"NaN call rate":                  {MaxCallsPerSecond: math.NaN()},
		"infinite call rate":             {MaxCallsPerSecond: math.Inf(1)},
		"chunk size 0 allowed":           {MaxChunkSize: -1},
		"negative idle timeout":          {IdleTimeout: -time.Second},
	} {
		if _, err := NewServer(cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := NewServer(Config{MaxCallsPerSecond: -1, MaxMessageSize: 1 << 20}); err != nil {
		t.Errorf("no call limit, 1 MiB messages: %v", err)
	}
}
