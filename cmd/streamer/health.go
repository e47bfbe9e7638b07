package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// runHealth implements `streamer health`: it asks a running streamer's /healthz and exits 0
// when it answers 200, else 1 with a message saying what failed. It is the container image's
// HEALTHCHECK, so it needs no curl; the address is -http, else STREAMER_HTTP, else the
// streamer's default, with an unspecified host (":8080", "0.0.0.0:8080") asked on loopback.
func runHealth(args []string, lookupEnv func(string) (string, bool), stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("streamer health", flag.ContinueOnError)
	fs.SetOutput(stderr)
	def, fromEnv := healthDefaultAddr(lookupEnv)
	addr := fs.String("http", def, "the streamer's -http address (default: STREAMER_HTTP, else "+defaultHTTPAddr()+")")
	timeout := fs.Duration("timeout", 5*time.Second, "time limit for the request")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: streamer health [-http HOST:PORT] [-timeout 5s]")
		fmt.Fprintln(stderr, "Exits 0 when GET /healthz answers 200, else 1.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return 2
	}
	if *addr == "" {
		src := "-http"
		if fromEnv {
			src = "STREAMER_HTTP"
		}
		fmt.Fprintf(stderr, "streamer health: %s is empty: the streamer serves no HTTP, so there is no /healthz to ask\n", src)
		return 1
	}
	url, err := healthURL(*addr)
	if err != nil {
		fmt.Fprintln(stderr, "streamer health:", err)
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		fmt.Fprintln(stderr, "streamer health:", err)
		return 2
	}
	resp, err := (&http.Client{Transport: &http.Transport{Proxy: nil}}).Do(req)
	if err != nil {
		fmt.Fprintf(stderr, "streamer health: unhealthy: %v\n", err)
		return 1
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(stderr, "streamer health: unhealthy: GET %s: %s\n", url, resp.Status)
		return 1
	}
	fmt.Fprintf(stdout, "ok: GET %s: %s\n", url, resp.Status)
	return 0
}

// healthDefaultAddr returns STREAMER_HTTP when it is set (even empty), else the default.
func healthDefaultAddr(lookupEnv func(string) (string, bool)) (addr string, fromEnv bool) {
	if v, set := lookupEnv("STREAMER_HTTP"); set {
		return v, true
	}
	return defaultHTTPAddr(), false
}

// defaultHTTPAddr is the -http option's default.
func defaultHTTPAddr() string {
	for _, o := range options() {
		if o.name == "http" {
			return o.def
		}
	}
	return ":8080"
}

// healthURL turns a listen address into the /healthz URL to ask: an unspecified host is
// asked on loopback.
func healthURL(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("-http %q: want HOST:PORT: %w", addr, err)
	}
	if port == "" || port == "0" {
		return "", fmt.Errorf("-http %q: no fixed port to ask", addr)
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		if ip != nil && ip.To4() == nil {
			host = "::1"
		} else {
			host = "127.0.0.1"
		}
	}
	return "http://" + net.JoinHostPort(host, port) + "/healthz", nil
}
