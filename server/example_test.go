package server_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/authpool/authpool/configfile"
	"github.com/authpool/authpool/server"
)

// A server on a free loopback port, from a config file with one
// subscription and one caller, serving until its context ends.
func ExampleNew() {
	f, err := configfile.Read(strings.NewReader(`{
	  "allowLiteralCredentials": true,
	  "subscriptions": [{"id": "max-a", "kind": "max20x", "credential": "sk-ant-oat01-example-max-a"}],
	  "callers": [{"id": "alice", "key": "caller-key-alice-0123456789"}],
	  "server": {"listen": "127.0.0.1:0", "usagePoll": {"off": true}}
	}`), "pool.json")
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	srv, err := server.New(ctx, f, server.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		fmt.Println(err)
		return
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()

	resp, err := http.Get(srv.URL() + "/healthz")
	if err != nil {
		fmt.Println(err)
		return
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Print(resp.StatusCode, " ", string(body))

	stop()
	fmt.Println("Serve:", <-done)
	// Output:
	// 200 {"status":"ok"}
	// Serve: <nil>
}
