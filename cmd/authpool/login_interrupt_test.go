package main

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"
)

// TestLoginInterrupted: main catches SIGINT and SIGTERM into the context
// (signal.NotifyContext), so a command must end when its context does:
// Ctrl-C at login's "code#state:" prompt ends it, exit 1, rather than
// leaving it waiting for a paste that will not come.
func TestLoginInterrupted(t *testing.T) {
	path := writeConfig(t, "http://127.0.0.1:1", "")
	stdin, paste := io.Pipe()
	defer paste.Close()
	env, out, errOut := testEnv(stdin, map[string]string{"AUTHPOOL_ADMIN_TOKEN": adminTok})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"login", "max-a", "-server", "http://127.0.0.1:1", "-config", path}, env)
	}()
	waitLine(t, out, "  http")
	cancel() // Ctrl-C
	select {
	case code := <-done:
		if code != 1 || !strings.Contains(errOut.String(), "canceled") {
			t.Errorf("exit %d, %s; want 1, saying it was cancelled", code, errOut)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("login still waits for the paste after its context ended (Ctrl-C)")
	}
}
