// Command healthcheck probes the /healthz endpoint of a relutune service and
// exits 0 when it answers 200 OK, 1 otherwise.
//
// The container image has no shell and no curl, so docker-compose.yml runs
// this binary as the healthcheck of the controller and the worker. By default
// it derives the URL from RELUTUNE_HTTP_ADDR, the variable the service itself
// listens on, so the probe and the service cannot disagree about the port.
//
//	healthcheck                                   # http://127.0.0.1:<port of RELUTUNE_HTTP_ADDR>/healthz
//	healthcheck -url http://127.0.0.1:9000/healthz
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"
)

// defaultHTTPAddr is the listen address a relutune service uses in a
// container when RELUTUNE_HTTP_ADDR is unset.
const defaultHTTPAddr = ":8080"

func main() {
	os.Exit(run(os.Args[1:], os.Getenv, os.Stderr))
}

// run parses args, probes the endpoint and returns the process exit code.
func run(args []string, getenv func(string) string, stderr io.Writer) int {
	fs := flag.NewFlagSet("healthcheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	url := fs.String("url", "", "URL to probe (default: /healthz on the port of RELUTUNE_HTTP_ADDR)")
	timeout := fs.Duration("timeout", 3*time.Second, "time allowed for the whole request")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "healthcheck: unexpected argument %q: only -url and -timeout are accepted\n", fs.Arg(0))
		return 2
	}
	if *timeout <= 0 {
		fmt.Fprintf(stderr, "healthcheck: -timeout %v must be > 0\n", *timeout)
		return 2
	}
	if *url == "" {
		addr := getenv("RELUTUNE_HTTP_ADDR")
		if addr == "" {
			addr = defaultHTTPAddr
		}
		u, err := healthURL(addr)
		if err != nil {
			fmt.Fprintf(stderr, "healthcheck: %v\n", err)
			return 2
		}
		*url = u
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	if err := probe(ctx, http.DefaultClient, *url); err != nil {
		fmt.Fprintf(stderr, "healthcheck: %v\n", err)
		return 1
	}
	return 0
}

// healthURL turns a listen address such as ":8080", "0.0.0.0:8080" or
// "[::]:8080" into the loopback URL of its /healthz endpoint. A listen address
// that names a specific host keeps that host.
func healthURL(listenAddr string) (string, error) {
	host, port, err := net.SplitHostPort(listenAddr)
	if err != nil {
		return "", fmt.Errorf("RELUTUNE_HTTP_ADDR %q: want host:port or :port: %w", listenAddr, err)
	}
	if port == "" {
		return "", fmt.Errorf("RELUTUNE_HTTP_ADDR %q: port is empty", listenAddr)
	}
	switch host {
	case "", "0.0.0.0", "::":
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port) + "/healthz", nil
}

// errUnhealthy reports a response other than 200 OK.
var errUnhealthy = errors.New("healthcheck: service unhealthy")

// probe sends one GET to url and succeeds only on 200 OK.
func probe(ctx context.Context, client *http.Client, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("url %q: %w", url, err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%w: GET %s: %s: %q", errUnhealthy, url, resp.Status, body)
	}
	return nil
}
