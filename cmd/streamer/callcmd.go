package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/bluenviron/gortmplib/pkg/amf0"

	"github.com/rendercast/rendercast/rtmpclient"
)

// runCall implements `streamer call URL PROCEDURE [key=value ...]`: it connects, sends one
// call with the pairs as its argument object, and prints the result as JSON.
func runCall(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("streamer call", flag.ContinueOnError)
	fs.SetOutput(stderr)
	token := fs.String("token", "", "token to present (sent as the connect property token)")
	timeout := fs.Duration("timeout", 10*time.Second, "time limit for connect and call")
	caFile := fs.String("tls-ca", "", "PEM file of the certificate authorities to trust for rtmps:// (default: the system's)")
	play := fs.Bool("play", true, "play the URL's scene first, so view calls (camera.*, scene.set*) have a view to act on (not with ?session=NAME: the call steers that shared session without playing)")
	control := fs.String("control-token", "", "control token to present (connect property control_token), needed to steer shared sessions when the server sets -control-token")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: streamer call [flags] rtmp[s]://HOST:PORT/APP/SCENE PROCEDURE [key=value ...]")
		fmt.Fprintln(stderr, "Values: numbers, true/false, JSON arrays/objects ([1,2,3]), else strings.")
		fmt.Fprintln(stderr, "Example: streamer call rtmp://127.0.0.1:1935/live/demo camera.orbit dx=30 dy=0")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() < 2 {
		fs.Usage()
		return 2
	}
	rawURL, proc := fs.Arg(0), fs.Arg(1)
	obj := amf0.Object{}
	for _, kv := range fs.Args()[2:] {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			fmt.Fprintf(stderr, "streamer call: %q is not key=value\n", kv)
			return 2
		}
		obj = append(obj, amf0.ObjectEntry{Key: k, Value: parseValue(v)})
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	opts := rtmpclient.Options{}
	if *token != "" {
		opts.ConnectProperties = append(opts.ConnectProperties, amf0.ObjectEntry{Key: "token", Value: *token})
	}
	if *control != "" {
		opts.ConnectProperties = append(opts.ConnectProperties, amf0.ObjectEntry{Key: "control_token", Value: *control})
	}
	playSet := false
	fs.Visit(func(f *flag.Flag) { playSet = playSet || f.Name == "play" })
	if u, err := url.Parse(rawURL); err == nil && u.Query().Has("session") && !playSet {
		*play = false // the session is in the tcUrl query: steer it without joining
	}
	if *caFile != "" {
		pem, err := os.ReadFile(*caFile)
		if err != nil {
			fmt.Fprintln(stderr, "streamer call: -tls-ca:", err)
			return 2
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			fmt.Fprintf(stderr, "streamer call: -tls-ca %s: no PEM certificate in it\n", *caFile)
			return 2
		}
		opts.TLSConfig = &tls.Config{RootCAs: pool}
	}
	c, err := rtmpclient.Dial(ctx, rawURL, opts)
	if err != nil {
		fmt.Fprintln(stderr, "streamer call:", err)
		return 1
	}
	defer c.Close()
	if *play {
		id, err := c.CreateStream(ctx)
		if err == nil {
			err = c.Play(ctx, id, c.URL().Stream)
		}
		if err != nil {
			fmt.Fprintln(stderr, "streamer call: play:", err)
			return 1
		}
	}
	res, err := c.Call(ctx, proc, nil, obj)
	if err != nil {
		fmt.Fprintln(stderr, "streamer call:", err)
		return 1
	}
	b, _ := json.MarshalIndent(jsonable(res), "", "  ")
	fmt.Fprintln(stdout, string(b))
	return 0
}

// parseValue reads a command-line value: a number, a boolean, JSON, or a string.
func parseValue(v string) any {
	if f, err := strconv.ParseFloat(v, 64); err == nil {
		return f
	}
	if b, err := strconv.ParseBool(v); err == nil {
		return b
	}
	if strings.HasPrefix(v, "[") || strings.HasPrefix(v, "{") {
		var j any
		if json.Unmarshal([]byte(v), &j) == nil {
			return toAMFValue(j)
		}
	}
	return v
}

func toAMFValue(j any) any {
	switch x := j.(type) {
	case []any:
		out := amf0.StrictArray{}
		for _, e := range x {
			out = append(out, toAMFValue(e))
		}
		return out
	case map[string]any:
		out := amf0.Object{}
		for k, e := range x {
			out = append(out, amf0.ObjectEntry{Key: k, Value: toAMFValue(e)})
		}
		return out
	}
	return j
}

// jsonable converts AMF values for JSON output.
func jsonable(v any) any {
	switch x := v.(type) {
	case amf0.Object:
		m := map[string]any{}
		for _, e := range x {
			m[e.Key] = jsonable(e.Value)
		}
		return m
	case amf0.ECMAArray:
		return jsonable(amf0.Object(x))
	case amf0.StrictArray:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = jsonable(e)
		}
		return out
	case amf0.Undefined:
		return nil
	}
	return v
}
