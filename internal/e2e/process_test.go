package e2e_test

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// How long the test waits for a process to do what it should.
const (
	startTimeout = 20 * time.Second // until serve prints its URL
	exitTimeout  = 20 * time.Second // until a command or a stopped server exits
	// eventually bounds the wait for what happens in the background:
	// a server seeing what another stored (within the pool's refresh
	// interval, 1 s), usage reaching the status, a refresh, a log line.
	eventually = 10 * time.Second
)

// syncBuffer is a process's output, written by os/exec's copying goroutine
// while the test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// proc is a running authpool process.
type proc struct {
	name           string
	cmd            *exec.Cmd
	stdout, stderr *syncBuffer
	done           chan struct{} // closed once the process has exited
	err            error         // Wait's, once done is closed
	url            string        // what serve printed
}

// startProc starts the command with args and env, and kills it when the
// test ends if it is still running; its output is logged if the test
// failed.
func startProc(t *testing.T, name string, stdin io.Reader, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{name: name, stdout: &syncBuffer{}, stderr: &syncBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(binary(t), args...)
	p.cmd.Env, p.cmd.Stdin, p.cmd.Stdout, p.cmd.Stderr = env, stdin, p.stdout, p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("%s's standard output:\n%s\n%s's standard error:\n%s", name, p.stdout, name, p.stderr)
		}
	})
	return p
}

// waitURL waits for the URL `authpool serve` prints.
func (p *proc) waitURL(t *testing.T) {
	t.Helper()
	line := p.waitOutput(t, p.stdout, "listening on ", startTimeout)
	p.url = strings.TrimSpace(strings.TrimPrefix(line, "listening on "))
	if !strings.HasPrefix(p.url, "http://127.0.0.1:") {
		t.Fatalf("%s printed %q, want listening on http://127.0.0.1:PORT", p.name, line)
	}
}

// waitOutput waits for a line of out starting with prefix and returns it;
// it fails the test if the process exits or the time runs out first.
func (p *proc) waitOutput(t *testing.T, out *syncBuffer, prefix string, timeout time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		for line := range strings.Lines(out.String()) {
			if strings.HasPrefix(line, prefix) {
				return strings.TrimRight(line, "\n")
			}
		}
		select {
		case <-p.done:
			t.Fatalf("%s exited (%v) before printing %q", p.name, p.err, prefix)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s printed no line starting with %q within %v", p.name, prefix, timeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitLog waits for a line of the process's standard error (its JSON log)
// that holds text.
func (p *proc) waitLog(t *testing.T, text string, timeout time.Duration) {
	t.Helper()
	if !poll(timeout, func() bool { return strings.Contains(p.stderr.String(), text) }) {
		t.Fatalf("%s logged nothing with %q within %v", p.name, text, timeout)
	}
}

// wait waits for the process to exit and returns its exit status (-1 if it
// was killed by a signal), failing the test if it takes longer than
// timeout.
func (p *proc) wait(t *testing.T, timeout time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(timeout):
		t.Fatalf("%s has not exited within %v", p.name, timeout)
	}
	var exit *exec.ExitError
	switch {
	case p.err == nil:
		return 0
	case errors.As(p.err, &exit):
		return exit.ExitCode()
	}
	t.Fatalf("%s: %v", p.name, p.err)
	return -1
}

// stop sends SIGTERM and checks that the process exits 0 within timeout.
func (p *proc) stop(t *testing.T, timeout time.Duration) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("%s: SIGTERM: %v", p.name, err)
	}
	if code := p.wait(t, timeout); code != 0 {
		t.Errorf("%s exited %d after SIGTERM, want 0", p.name, code)
	}
}

// output returns everything the process wrote.
func (p *proc) output() string { return p.stdout.String() + p.stderr.String() }

// poll calls cond every 20 ms until it holds or timeout passes, and reports
// whether it held.
func poll(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// runLogin runs `authpool login args...` with the given standard input to
// its end and returns its output; it fails the test unless it exits 0.
func runLogin(t *testing.T, env []string, stdin io.Reader, args ...string) *proc {
	t.Helper()
	p := startProc(t, "login", stdin, env, append([]string{"login"}, args...)...)
	if code := p.wait(t, exitTimeout); code != 0 {
		t.Fatalf("authpool login %q exited %d:\n%s", args, code, p.output())
	}
	return p
}

// loginPKCE runs `authpool login args...` as a person would: it opens the
// authorize URL the command prints (the fake OAuth server logs the user in
// and shows code#state) and pastes the code back on its standard input.
func loginPKCE(t *testing.T, env []string, args ...string) *proc {
	t.Helper()
	stdin, paste := io.Pipe()
	p := startProc(t, "login", stdin, env, append([]string{"login"}, args...)...)
	t.Cleanup(func() { _ = paste.Close() }) // before startProc's: its Wait ends once stdin does
	authorize := strings.TrimSpace(p.waitOutput(t, p.stdout, "  http", startTimeout))
	resp, err := http.Get(authorize)
	if err != nil {
		t.Fatal(err)
	}
	page, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || !strings.Contains(string(page), "#") {
		t.Fatalf("the authorize page answered %d %q (%v)", resp.StatusCode, page, err)
	}
	if _, err := paste.Write(page); err != nil { // code#state and a newline
		t.Fatal(err)
	}
	_ = paste.Close()
	if code := p.wait(t, exitTimeout); code != 0 {
		t.Fatalf("authpool login %q exited %d:\n%s", args, code, p.output())
	}
	return p
}
