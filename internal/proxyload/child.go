//go:build linux

package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// child is a process running a role: the upstream or the proxy.
type child struct {
	role  string
	addr  string // host:port it serves on
	cmd   *exec.Cmd
	stdin io.WriteCloser
	done  chan error // the result of Wait

	once    sync.Once
	stopErr error
}

// startChild runs this program again in role with more arguments, and
// waits for the address it serves on. Its standard error goes to stderr.
func startChild(role string, stderr io.Writer, args ...string) (*child, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe, append([]string{roleFlag, role}, args...)...)
	cmd.Stderr = stderr
	// The child dies with the load generator even when it is killed; its
	// stdin closing tells it to end otherwise.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	c := &child{role: role, cmd: cmd, stdin: stdin, done: make(chan error, 1)}
	first := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		first <- strings.TrimSpace(line)
		_, _ = io.Copy(io.Discard, stdout) // nothing more is expected; never block the child
		c.done <- cmd.Wait()
	}()
	select {
	case c.addr = <-first:
	case <-time.After(30 * time.Second):
	}
	if c.addr == "" {
		c.kill()
		return nil, fmt.Errorf("the %s process did not say where it listens", role)
	}
	return c, nil
}

// pid returns the child's process ID.
func (c *child) pid() int { return c.cmd.Process.Pid }

// stop asks the child to end (closing its stdin), and kills it if it has
// not within a few seconds. It reports how the child ended; calls after the
// first report the same.
func (c *child) stop() error {
	c.once.Do(func() {
		c.stdin.Close()
		select {
		case err := <-c.done:
			if err != nil {
				c.stopErr = fmt.Errorf("the %s process: %w", c.role, err)
			}
		case <-time.After(5 * time.Second):
			c.kill()
			c.stopErr = fmt.Errorf("the %s process did not end by itself: killed", c.role)
		}
	})
	return c.stopErr
}

// kill ends the child at once and waits for it.
func (c *child) kill() {
	if err := c.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return
	}
	select {
	case <-c.done:
	case <-time.After(5 * time.Second):
	}
}
