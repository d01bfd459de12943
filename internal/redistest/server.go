package redistest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Server is a redis-server process of a test's own, on a spare loopback
// port, keeping nothing on disk (--save "" --appendonly no) unless
// StartServer's arguments say otherwise: a test may kill, restart, pause
// and resume it. Its methods are for the test's goroutine.
type Server struct {
	// Addr is host:port; it stays the same across restarts.
	Addr string

	tb   testing.TB
	port int
	dir  string
	args []string // more redis-server arguments
	cmd  *exec.Cmd
}

// StartServer starts a redis-server on a spare port and stops it when tb
// ends. It skips tb (or fails it when Redis is required) if there is no
// redis-server binary. args are more redis-server arguments, which
// override the defaults: "--appendonly", "yes", "--appendfsync", "always"
// keeps every write it acknowledged across Kill and Start.
func StartServer(tb testing.TB, args ...string) *Server {
	tb.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		Unavailable(tb, "no redis-server binary: %v", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("redistest: finding a spare port: %v", err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	s := &Server{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), tb: tb, port: port, dir: tb.TempDir(), args: args}
	tb.Cleanup(s.stop)
	s.Start()
	return s
}

// Start starts the server (again) on its port and waits until it answers.
func (s *Server) Start() {
	s.tb.Helper()
	if s.cmd != nil {
		s.tb.Fatalf("redistest: Start of a server that runs")
	}
	args := append([]string{
		"--port", strconv.Itoa(s.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", s.dir,
	}, s.args...)
	cmd := exec.Command("redis-server", args...)
	if err := cmd.Start(); err != nil {
		s.tb.Fatalf("redistest: starting redis-server: %v", err)
	}
	s.cmd = cmd
	if err := s.waitReady(10 * time.Second); err != nil {
		s.tb.Fatalf("redistest: redis-server on %s: %v", s.Addr, err)
	}
}

// waitReady pings the server until it answers.
func (s *Server) waitReady(limit time.Duration) error {
	c := redis.NewClient(&redis.Options{Addr: s.Addr, MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	defer func() { _ = c.Close() }()
	deadline := time.Now().Add(limit)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no answer after %v: %w", limit, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Kill kills the server at once (SIGKILL) and waits for it to exit; what it
// held is gone.
func (s *Server) Kill() {
	s.tb.Helper()
	if s.cmd == nil {
		s.tb.Fatalf("redistest: Kill of a server that is not running")
	}
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	s.cmd = nil
}

// Pause stops the server's process (SIGSTOP): connections stay open and
// nothing answers until Resume.
func (s *Server) Pause() { s.signal(syscall.SIGSTOP) }

// Resume continues a paused server (SIGCONT).
func (s *Server) Resume() { s.signal(syscall.SIGCONT) }

func (s *Server) signal(sig syscall.Signal) {
	s.tb.Helper()
	if s.cmd == nil {
		s.tb.Fatalf("redistest: %v to a server that is not running", sig)
	}
	if err := s.cmd.Process.Signal(sig); err != nil {
		s.tb.Fatalf("redistest: %v: %v", sig, err)
	}
}

// stop kills a running server (resuming it first if it is paused).
func (s *Server) stop() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGCONT)
	if err := s.cmd.Process.Kill(); err != nil && !errors.Is(err, syscall.ESRCH) {
		s.tb.Logf("redistest: killing redis-server: %v", err)
	}
	_ = s.cmd.Wait()
	s.cmd = nil
}
