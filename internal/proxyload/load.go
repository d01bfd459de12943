//go:build linux

package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"
)

// maxErrors is how many errors a worker tolerates in a phase before it
// stops sending (the run fails anyway).
const maxErrors = 10

// directKey is the x-api-key of direct requests: the upstream ignores it.
const directKey = "sk-ant-api03-proxyload-direct-0123456789abcdef"

// load is the load generator: the children, and each worker's connection
// to each target.
type load struct {
	upstream, proxy *child
	direct, proxied []*conn           // by worker
	lat             [][]time.Duration // by worker, reused from phase to phase
}

// phase is what one phase measured on one target.
type phase struct {
	lat     []time.Duration // of the requests that succeeded, sorted
	errs    int
	first   error         // the first error
	elapsed time.Duration // wall time, start to the last response
	cpu     cpuUse        // the CPU time each process used meanwhile
}

// cpuUse is CPU time by process, and the whole machine's busy time.
type cpuUse struct{ proxy, upstream, client, machine time.Duration }

// sub returns u - v.
func (u cpuUse) sub(v cpuUse) cpuUse {
	return cpuUse{u.proxy - v.proxy, u.upstream - v.upstream, u.client - v.client, u.machine - v.machine}
}

// others returns the CPU time of the machine's other processes (clamped
// at 0: the machine's time counts in clock ticks).
func (u cpuUse) others() time.Duration {
	return max(u.machine-u.proxy-u.upstream-u.client, 0)
}

// measure starts the children, warms up, runs the rounds, and stops the
// children. Progress lines go to progress, the children's errors to stderr.
func measure(ctx context.Context, o options, progress, stderr io.Writer) (*Results, error) {
	res := &Results{Machine: thisMachine(), Settings: settingsOf(o)}
	up, err := startChild(roleUpstream, stderr)
	if err != nil {
		return nil, err
	}
	defer up.stop()
	args := []string{"-upstream", "http://" + up.addr, "-callers", strconv.Itoa(o.c)}
	if o.cap {
		args = append(args, "-cap")
	}
	if o.bare {
		args = append(args, "-bare")
	}
	if o.cpuprofile != "" {
		abs, err := filepath.Abs(o.cpuprofile)
		if err != nil {
			return nil, err
		}
		args = append(args, "-cpuprofile", abs)
	}
	px, err := startChild(roleProxy, stderr, args...)
	if err != nil {
		return nil, err
	}
	defer px.stop()

	l := &load{upstream: up, proxy: px, lat: make([][]time.Duration, o.c)}
	for i := range o.c {
		l.direct = append(l.direct, newConn(up.addr, directKey))
		l.proxied = append(l.proxied, newConn(px.addr, callerKey(i)))
	}
	defer func() {
		for i := range o.c {
			l.direct[i].close()
			l.proxied[i].close()
		}
	}()
	fmt.Fprintf(progress, "upstream (pid %d) on %s, proxy (pid %d) on %s; %s, %d cores, GOMAXPROCS %d everywhere\n",
		up.pid(), up.addr, px.pid(), px.addr, res.Machine.CPU, res.Machine.Cores, res.Machine.GOMAXPROCS)
	if o.warmup > 0 {
		fmt.Fprintln(progress, "warming up")
		if _, err := l.round(ctx, 0, max(o.n/5, 1), o.warmup); err != nil {
			return nil, fmt.Errorf("warm-up: %w", err)
		}
	}
	for r := range o.rounds {
		f, err := l.round(ctx, r, o.n, o.duration)
		if err != nil {
			return nil, fmt.Errorf("round %d: %w", r+1, err)
		}
		res.Rounds = append(res.Rounds, f)
		fmt.Fprintf(progress, "round %d/%d: %s\n", r+1, o.rounds, f.line(o.c))
	}
	res.Median = medians(res.Rounds)
	res.Targets = checkTargets(res.Median)
	if err := px.stop(); err != nil {
		return nil, err
	}
	if err := up.stop(); err != nil {
		return nil, err
	}
	return res, nil
}

// cpu reads the CPU time each process, and the machine, has used.
func (l *load) cpu() (cpuUse, error) {
	var u cpuUse
	var err [4]error
	u.proxy, err[0] = cpuTime(l.proxy.pid())
	u.upstream, err[1] = cpuTime(l.upstream.pid())
	u.client, err[2] = cpuTime(os.Getpid())
	u.machine, err[3] = busyTime()
	for _, e := range err {
		if e != nil {
			return cpuUse{}, e
		}
	}
	return u, nil
}

// round runs one round: the concurrency-1 phases, JSON then SSE, then the
// concurrency-c phases, direct then proxy in even rounds (counting from
// 0), proxy then direct in odd ones. It returns the round's figures.
func (l *load) round(ctx context.Context, r, n int, d time.Duration) (Figures, error) {
	f := Figures{}
	for _, sse := range []bool{false, true} {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		direct, proxied, err := l.single(sse, n)
		if err != nil {
			return nil, err
		}
		f.addSingle(kindName(sse), direct, proxied)
	}
	for _, sse := range []bool{false, true} {
		var direct, proxied *phase
		for i := range 2 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			toProxy := i == r%2
			target, conns := "direct", l.direct
			if toProxy {
				target, conns = "proxy", l.proxied
			}
			p, err := l.many(target, conns, sse, d)
			if err != nil {
				return nil, err
			}
			if toProxy {
				proxied = p
			} else {
				direct = p
			}
		}
		f.addMany(kindName(sse), direct, proxied)
	}
	rss, hwm, err := memory(l.proxy.pid())
	if err != nil {
		return nil, err
	}
	f["proxy_rss_mb"], f["proxy_hwm_mb"] = float64(rss)/(1<<20), float64(hwm)/(1<<20)
	return f, nil
}

// kindName names the kind of request: JSON or SSE.
func kindName(sse bool) string {
	if sse {
		return "sse"
	}
	return "json"
}

// single runs n requests to each target from one worker, interleaved: direct
// then proxy, then proxy then direct, and so on. Both phases get the CPU
// time of the whole.
func (l *load) single(sse bool, n int) (direct, proxied *phase, err error) {
	targets := [2]*conn{l.direct[0], l.proxied[0]}
	phases := [2]*phase{{lat: make([]time.Duration, 0, n)}, {lat: make([]time.Duration, 0, n)}}
	before, err := l.cpu()
	if err != nil {
		return nil, nil, err
	}
	start := time.Now()
	for j := range n {
		for k := range 2 {
			t := (j + k) % 2 // even j: direct first; odd: proxy first
			p := phases[t]
			took, err := targets[t].do(sse)
			if err != nil {
				if p.errs++; p.first == nil {
					p.first = err
				}
				continue
			}
			p.lat = append(p.lat, took)
		}
		if phases[0].errs+phases[1].errs >= maxErrors {
			break
		}
	}
	elapsed := time.Since(start)
	after, err := l.cpu()
	if err != nil {
		return nil, nil, err
	}
	for i, p := range phases {
		p.elapsed, p.cpu = elapsed, after.sub(before)
		slices.Sort(p.lat)
		if err := p.failed(fmt.Sprintf("%s at concurrency 1, %s", kindName(sse), [2]string{"direct", "proxy"}[i])); err != nil {
			return nil, nil, err
		}
	}
	return phases[0], phases[1], nil
}

// many runs len(conns) workers, each sending requests on its connection to
// target for d (the last request ends after d).
func (l *load) many(target string, conns []*conn, sse bool, d time.Duration) (*phase, error) {
	p := &phase{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	gate := make(chan struct{})
	var end time.Time
	for i, c := range conns {
		lat := l.lat[i][:0]
		wg.Go(func() {
			<-gate
			errs := 0
			var first error
			for errs < maxErrors {
				took, err := c.do(sse)
				if err != nil {
					if errs++; first == nil {
						first = err
					}
				} else {
					lat = append(lat, took)
				}
				if time.Now().After(end) {
					break
				}
			}
			l.lat[i] = lat
			mu.Lock()
			defer mu.Unlock()
			if p.errs += errs; p.first == nil {
				p.first = first
			}
		})
	}
	before, err := l.cpu()
	if err != nil {
		close(gate)
		wg.Wait()
		return nil, err
	}
	start := time.Now()
	end = start.Add(d)
	close(gate)
	wg.Wait()
	p.elapsed = time.Since(start)
	after, err := l.cpu()
	if err != nil {
		return nil, err
	}
	p.cpu = after.sub(before)
	total := 0
	for _, lat := range l.lat[:len(conns)] {
		total += len(lat)
	}
	p.lat = make([]time.Duration, 0, total)
	for _, lat := range l.lat[:len(conns)] {
		p.lat = append(p.lat, lat...)
	}
	slices.Sort(p.lat)
	return p, p.failed(fmt.Sprintf("%s at concurrency %d, %s", kindName(sse), len(conns), target))
}

// failed returns an error naming the phase when any request failed.
func (p *phase) failed(name string) error {
	if p.errs == 0 && len(p.lat) > 0 {
		return nil
	}
	return fmt.Errorf("%s: %d requests failed, %d succeeded; the first error: %v", name, p.errs, len(p.lat), p.first)
}

// ok returns how many requests succeeded.
func (p *phase) ok() int { return len(p.lat) }

// percentile returns the q-th percentile latency (nearest rank).
func (p *phase) percentile(q float64) time.Duration {
	if len(p.lat) == 0 {
		return 0
	}
	i := int(q/100*float64(len(p.lat))+0.999999) - 1
	return p.lat[min(max(i, 0), len(p.lat)-1)]
}
