// Command multiinstance runs two authpool pools in two processes that share
// one Redis through package redisstore, and shows what sharing means: a
// client keeps its subscription whichever instance it comes through, usage
// recorded by both adds up (and a usage recorded twice counts once), and a
// Rebalance run by one instance is what the other sees next.
//
// The program (the coordinator) runs itself twice more, as instances "A"
// and "B". Each builds its own Pool on redisstore, with the same config (a
// Max 20x, a Max 5x and a Pro, with placeholder credentials) and the same
// key prefix, on a clock of its own that the coordinator moves for both
// (Rebalance moves idle clients only, and idleness is a matter of time).
// The coordinator drives them over their standard input and output, one
// JSON command per line and one JSON answer per line, and prints the story.
// An instance ends when its standard input closes.
//
// Every run uses a fresh prefix (-prefix and a random suffix) and deletes
// its keys at the end, so it can share a Redis with anything else:
//
//	go run ./examples/multiinstance                 # from the repository's root; Redis on 127.0.0.1:6379
//	go run ./examples/multiinstance -redis redis://127.0.0.1:6379/0 -prefix demo
//	go run ./examples/multiinstance -json           # the facts, machine-readable
//
// Without a Redis, start one first: redis-server --port 6379 (Debian's
// package redis-server), or docker run --rm -p 6379:6379 redis.
package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/redisstore"
)

func main() {
	redis.SetLogger(quiet{}) // go-redis logs each failed dial; the errors say it all
	if len(os.Args) > 1 && os.Args[1] == instanceFlag {
		if err := serveInstance(context.Background(), os.Args[1:], os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "multiinstance:", err)
			os.Exit(1)
		}
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "multiinstance:", err)
		os.Exit(1)
	}
}

// quiet is a go-redis logger that logs nothing.
type quiet struct{}

func (quiet) Printf(context.Context, string, ...any) {}

// instanceFlag, first among the arguments, makes the program an instance
// rather than the coordinator. It is not among the coordinator's flags.
const instanceFlag = "-instance"

// start is where both instances' clocks start.
var start = time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)

// config is the pool both instances build: the same subscriptions, budgets
// and policy. The credentials are placeholders: nothing here goes upstream.
func config() authpool.Config {
	return authpool.Config{
		Subscriptions: []authpool.Subscription{
			{ID: "max-20x", Name: "Max 20x", Kind: authpool.KindMax20x, Credential: "sk-ant-oat01-example-max-20x",
				MaxClients: 15, WeeklyBudgetUSD: 1000, BlockBudgetUSD: 140},
			{ID: "max-5x", Name: "Max 5x", Kind: authpool.KindMax5x, Credential: "sk-ant-oat01-example-max-5x",
				MaxClients: 8, WeeklyBudgetUSD: 250, BlockBudgetUSD: 35},
			{ID: "pro", Name: "Pro", Kind: authpool.KindPro, Credential: "sk-ant-oat01-example-pro",
				MaxClients: 3, WeeklyBudgetUSD: 50, BlockBudgetUSD: 7},
		},
		Sessions: authpool.SessionPolicy{
			IdleAfter:  authpool.Duration(5 * time.Minute),
			StaleAfter: authpool.Duration(30 * time.Minute),
		},
		Rebalance: authpool.RebalancePolicy{MinGapUSD: 5, MaxMoves: 3},
	}
}

// command is one line the coordinator sends an instance.
type command struct {
	// Op is allocate, record, release, rebalance, advance or snapshot.
	Op      string            `json:"op"`
	Client  string            `json:"client,omitempty"`  // allocate, record, release
	CostUSD float64           `json:"costUSD,omitempty"` // record
	UsageID string            `json:"usageId,omitempty"` // record
	By      authpool.Duration `json:"by,omitempty"`      // advance
}

// answer is one line an instance sends back: first when its pool is ready,
// then one per command.
type answer struct {
	Instance string `json:"instance"`
	PID      int    `json:"pid,omitempty"` // in the first answer
	// Time is the instance's clock after the command.
	Time  time.Time `json:"time"`
	Error string    `json:"error,omitempty"`
	// Allocation has no credential: it stays in the instance.
	Allocation *authpool.Allocation      `json:"allocation,omitempty"`
	Rebalance  *authpool.RebalanceReport `json:"rebalance,omitempty"`
	Snapshot   *authpool.Snapshot        `json:"snapshot,omitempty"`
	// DuplicateRecords is the instance's pool's count of usages refused as
	// already recorded.
	DuplicateRecords int64 `json:"duplicateRecords"`
}

// serveInstance is an instance: it builds its pool on Redis, says it is
// ready, and answers commands from in until in closes.
func serveInstance(ctx context.Context, args []string, in io.Reader, out io.Writer) error {
	fs := flag.NewFlagSet("instance", flag.ContinueOnError)
	name := fs.String("instance", "", "the instance's name")
	url := fs.String("redis", "", "the Redis URL")
	prefix := fs.String("prefix", "", "the key prefix")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *name == "" || *url == "" || *prefix == "" {
		return errors.New("-instance, -redis and -prefix are required")
	}
	opts, err := redis.ParseURL(*url)
	if err != nil {
		return fmt.Errorf("-redis %q: %w", *url, err)
	}
	opts.ContextTimeoutEnabled = true
	rdb := redis.NewClient(opts)
	defer rdb.Close()

	var clock atomic.Int64 // Unix nanoseconds
	clock.Store(start.UnixNano())
	now := func() time.Time { return time.Unix(0, clock.Load()).UTC() }

	newCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	pool, err := authpool.New(newCtx, config(),
		authpool.WithStore(redisstore.New(rdb, redisstore.WithPrefix(*prefix))), authpool.WithClock(now))
	cancel()
	if err != nil {
		return fmt.Errorf("instance %s: %w", *name, err)
	}
	defer func() {
		closing, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = pool.Close(closing)
	}()

	w := bufio.NewWriter(out)
	enc := json.NewEncoder(w)
	send := func(a answer) error {
		a.Instance, a.Time, a.DuplicateRecords = *name, now(), pool.DuplicateRecords()
		if err := enc.Encode(a); err != nil {
			return err
		}
		return w.Flush()
	}
	if err := send(answer{PID: os.Getpid()}); err != nil {
		return err
	}
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		var c command
		var a answer
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			a.Error = fmt.Sprintf("bad command %q: %v", sc.Bytes(), err)
		} else if err := do(ctx, pool, &clock, c, &a); err != nil {
			a.Error = err.Error()
		}
		if err := send(a); err != nil {
			return err
		}
	}
	return sc.Err()
}

// do runs one command on the instance's pool, filling in its answer.
func do(ctx context.Context, pool *authpool.Pool, clock *atomic.Int64, c command, a *answer) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	switch c.Op {
	case "allocate":
		al, err := pool.Allocate(ctx, c.Client)
		if err != nil {
			return err
		}
		al.Credential = ""
		a.Allocation = &al
	case "record":
		return pool.Record(ctx, c.Client, authpool.Usage{
			ID: c.UsageID, Time: time.Unix(0, clock.Load()), CostUSD: c.CostUSD, Model: "claude-sonnet-4-5",
		})
	case "release":
		return pool.Release(ctx, c.Client)
	case "rebalance":
		r, err := pool.Rebalance(ctx)
		if err != nil {
			return err
		}
		a.Rebalance = &r
	case "advance":
		if c.By <= 0 {
			return fmt.Errorf("advance by %v: want a positive duration", time.Duration(c.By))
		}
		clock.Add(int64(c.By))
	case "snapshot":
		s, err := pool.Snapshot(ctx)
		if err != nil {
			return err
		}
		a.Snapshot = &s
	default:
		return fmt.Errorf("unknown op %q", c.Op)
	}
	return nil
}

// instance is a running instance, seen from the coordinator.
type instance struct {
	name   string
	pid    int
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout *bufio.Scanner
	stderr strings.Builder // written by exec until Wait returns
}

// startInstance runs this program again as an instance, and waits until its
// pool is ready.
func startInstance(ctx context.Context, name, url, prefix string) (*instance, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	in := &instance{name: name}
	in.cmd = exec.CommandContext(ctx, exe, instanceFlag, name, "-redis", url, "-prefix", prefix)
	in.cmd.Stderr = &in.stderr
	if in.stdin, err = in.cmd.StdinPipe(); err != nil {
		return nil, err
	}
	stdout, err := in.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := in.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting instance %s: %w", name, err)
	}
	in.stdout = bufio.NewScanner(stdout)
	in.stdout.Buffer(make([]byte, 0, 64<<10), 16<<20)
	ready, err := in.read()
	if err != nil {
		return nil, errors.Join(err, in.stop(true))
	}
	in.pid = ready.PID
	return in, nil
}

// call sends the instance a command and returns its answer.
func (in *instance) call(c command) (answer, error) {
	b, err := json.Marshal(c)
	if err != nil {
		return answer{}, err
	}
	if _, err := in.stdin.Write(append(b, '\n')); err != nil {
		return answer{}, fmt.Errorf("instance %s: %w", in.name, err)
	}
	a, err := in.read()
	if err == nil && a.Error != "" {
		err = fmt.Errorf("instance %s: %s %s: %s", in.name, c.Op, c.Client, a.Error)
	}
	return a, err
}

// read reads the instance's next answer.
func (in *instance) read() (answer, error) {
	if !in.stdout.Scan() {
		err := in.stdout.Err()
		if err == nil {
			err = io.ErrUnexpectedEOF
		}
		return answer{}, fmt.Errorf("instance %s stopped answering: %w", in.name, err)
	}
	var a answer
	if err := json.Unmarshal(in.stdout.Bytes(), &a); err != nil {
		return answer{}, fmt.Errorf("instance %s answered %q: %w", in.name, in.stdout.Bytes(), err)
	}
	return a, nil
}

// stop closes the instance's standard input, which ends it, and waits for
// it; it kills it first when kill is set, or when it has not ended within
// five seconds. It reports how the instance ended, with what it wrote to
// its standard error.
func (in *instance) stop(kill bool) error {
	if kill {
		_ = in.cmd.Process.Kill()
	}
	in.stdin.Close()
	t := time.AfterFunc(5*time.Second, func() { _ = in.cmd.Process.Kill() })
	err := in.cmd.Wait()
	t.Stop()
	if err != nil && !kill {
		return fmt.Errorf("instance %s: %w: %s", in.name, err, strings.TrimSpace(in.stderr.String()))
	}
	if msg := strings.TrimSpace(in.stderr.String()); kill && msg != "" {
		return fmt.Errorf("instance %s said: %s", in.name, msg)
	}
	return nil
}

// Result is what a run showed, as -json prints it.
type Result struct {
	Redis  string `json:"redis"`
	Prefix string `json:"prefix"`
	// PIDs are the instances' process IDs, by name.
	PIDs map[string]int `json:"pids"`
	// Story is the text the program prints without -json, line by line.
	Story []string `json:"story"`
	// Alice is where each instance placed alice, by instance name: A first
	// (new), then B (sticky).
	Alice map[string]authpool.Allocation `json:"alice"`
	// RecordedUSD is what each instance recorded for alice, by name.
	RecordedUSD map[string]float64 `json:"recordedUSD"`
	// Summed is each instance's snapshot after both recorded.
	Summed map[string]authpool.Snapshot `json:"summed"`
	// Rebalance is A's Rebalance report.
	Rebalance authpool.RebalanceReport `json:"rebalance"`
	// Rebalanced is B's snapshot right after A's Rebalance, and BobAfter
	// where B then placed the client A moved.
	Rebalanced authpool.Snapshot   `json:"rebalanced"`
	BobAfter   authpool.Allocation `json:"bobAfter"`
	// Final is each instance's snapshot after every client left.
	Final map[string]authpool.Snapshot `json:"final"`
	// KeysDeleted counts the keys under the prefix deleted at the end.
	KeysDeleted int `json:"keysDeleted"`
}

// run is the coordinator.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("multiinstance", flag.ContinueOnError)
	fs.SetOutput(stderr)
	url := fs.String("redis", "redis://127.0.0.1:6379/0", "the Redis both instances share")
	base := fs.String("prefix", "example/multiinstance", "the start of the key prefix; a random suffix follows")
	asJSON := fs.Bool("json", false, "print the facts as JSON instead of the story")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if strings.ContainsAny(*base, "{}*?[]\\ ") {
		return fmt.Errorf("-prefix %q: use no braces, spaces or glob characters (*?[]\\)", *base)
	}
	var suffix [3]byte
	_, _ = rand.Read(suffix[:])
	res := &Result{Redis: *url, Prefix: *base + "/" + hex.EncodeToString(suffix[:]), PIDs: map[string]int{}}

	rdb, err := connect(ctx, *url)
	if err != nil {
		return err
	}
	defer rdb.Close()

	say := func(format string, args ...any) {
		line := fmt.Sprintf(format, args...)
		res.Story = append(res.Story, line)
		if !*asJSON {
			fmt.Fprintln(stdout, line)
		}
	}
	storyErr := tell(ctx, res, say)
	n, cleanErr := deleteKeys(rdb, res.Prefix)
	res.KeysDeleted = n
	if err := errors.Join(storyErr, cleanErr); err != nil {
		return err
	}
	say("Both instances have exited; deleted the run's %d keys (%s).", n, keyPattern(res.Prefix))
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	return nil
}

// connect returns a client of the Redis at url, once it answers.
func connect(ctx context.Context, url string) (*redis.Client, error) {
	opts, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("-redis %q: %w", url, err)
	}
	opts.ContextTimeoutEnabled = true
	opts.DialerRetries = 1 // fail fast when nothing listens
	rdb := redis.NewClient(opts)
	pingCtx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if err := rdb.Ping(pingCtx).Err(); err != nil {
		rdb.Close()
		return nil, fmt.Errorf("no Redis answers at %s: %v\n"+
			"Start one on this machine (redis-server --port 6379, from Debian's redis-server package; "+
			"or docker run --rm -p 6379:6379 redis), or point -redis at one: -redis redis://host:port/db", url, err)
	}
	return rdb, nil
}

// keyPattern matches every key of a pool under prefix (the redisstore
// layout: "{prefix}:...").
func keyPattern(prefix string) string { return "{" + prefix + "}:*" }

// deleteKeys deletes the keys under prefix: SCAN with MATCH, which suits the
// end of a demo, never a hot path.
func deleteKeys(rdb *redis.Client, prefix string) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var n int
	iter := rdb.Scan(ctx, 0, keyPattern(prefix), 1000).Iterator()
	var batch []string
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := rdb.Unlink(ctx, batch...).Err()
		n += len(batch)
		batch = batch[:0]
		return err
	}
	for iter.Next(ctx) {
		batch = append(batch, iter.Val())
		if len(batch) == 1000 {
			if err := flush(); err != nil {
				return n, fmt.Errorf("deleting the keys of %s: %w", prefix, err)
			}
		}
	}
	if err := errors.Join(iter.Err(), flush()); err != nil {
		return n, fmt.Errorf("deleting the keys of %s: %w", prefix, err)
	}
	return n, nil
}

// tell starts both instances, plays the story through them, checking each
// fact it tells, and stops them.
func tell(ctx context.Context, res *Result, say func(string, ...any)) (err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var a, b *instance
	defer func() {
		for _, in := range []*instance{b, a} {
			if in != nil {
				err = errors.Join(err, in.stop(err != nil))
			}
		}
	}()
	if a, err = startInstance(ctx, "A", res.Redis, res.Prefix); err != nil {
		return err
	}
	if b, err = startInstance(ctx, "B", res.Redis, res.Prefix); err != nil {
		return err
	}
	res.PIDs[a.name], res.PIDs[b.name] = a.pid, b.pid
	s := &story{a: a, b: b, res: res, say: say}
	return s.play()
}

// story is the run in progress.
type story struct {
	a, b *instance
	res  *Result
	say  func(string, ...any)
	now  time.Time // both instances' clock
}

// play tells the story, and returns an error if any of its facts is not so.
func (s *story) play() error {
	a, b, res := s.a, s.b, s.res
	s.now = start
	var cfg []string
	for _, sub := range config().Subscriptions {
		cfg = append(cfg, fmt.Sprintf("%s (%s, block budget %s, week %s, at most %d clients)",
			sub.ID, sub.Name, money(sub.BlockBudgetUSD), money(sub.WeeklyBudgetUSD), sub.MaxClients))
	}
	s.say("Two authpool pools in two processes share one Redis at %s, under the key prefix %q.", res.Redis, res.Prefix)
	s.say("Instance A is process %d, B is process %d; each built its own Pool on redisstore with the same config:", a.pid, b.pid)
	for _, c := range cfg {
		s.say("  %s", c)
	}
	s.say("Their clocks start at %s and move together (the coordinator, this process, advances both).",
		start.Format("2006-01-02 15:04 MST"))

	// 1. A client keeps its subscription across the instances.
	s.say("")
	s.say("1. A client keeps its subscription whichever instance it comes through")
	alice := map[string]authpool.Allocation{}
	for _, in := range []*instance{a, b} {
		ans, err := in.call(command{Op: "allocate", Client: "alice"})
		if err != nil {
			return err
		}
		al := *ans.Allocation
		alice[in.name] = al
		why := string(al.Reason)
		if in == b && al.Outcome == authpool.OutcomeSticky {
			why = "the session A made"
		}
		s.event(in, "alice → %s (%s: %s)", al.SubscriptionID, al.Outcome, why)
	}
	res.Alice = alice
	if alice["A"].Outcome != authpool.OutcomeNew || alice["B"].Outcome != authpool.OutcomeSticky ||
		alice["A"].SubscriptionID != alice["B"].SubscriptionID {
		return fmt.Errorf("alice: A placed her %s on %s, B %s on %s; want new, then sticky on the same",
			alice["A"].Outcome, alice["A"].SubscriptionID, alice["B"].Outcome, alice["B"].SubscriptionID)
	}
	home := alice["A"].SubscriptionID

	// 2. Usage from both adds up, and a usage recorded twice counts once.
	s.say("")
	s.say("2. Usage recorded by both adds up; a usage recorded twice counts once")
	res.RecordedUSD = map[string]float64{"A": 1.20, "B": 0.80}
	for _, in := range []*instance{a, b} {
		if err := s.advance(time.Minute); err != nil {
			return err
		}
		id := "msg_01example" + in.name
		if _, err := in.call(command{Op: "record", Client: "alice", CostUSD: res.RecordedUSD[in.name], UsageID: id}); err != nil {
			return err
		}
		s.event(in, "records %s for alice (usage %s)", money(res.RecordedUSD[in.name]), id)
	}
	ans, err := b.call(command{Op: "record", Client: "alice", CostUSD: res.RecordedUSD["A"], UsageID: "msg_01exampleA"})
	if err != nil {
		return err
	}
	if ans.DuplicateRecords != 1 {
		return fmt.Errorf("instance B recorded A's usage again: B's DuplicateRecords = %d, want 1", ans.DuplicateRecords)
	}
	s.event(b, "records A's usage msg_01exampleA again, as a retrying proxy might: refused as already recorded (B's DuplicateRecords = %d)",
		ans.DuplicateRecords)
	want := res.RecordedUSD["A"] + res.RecordedUSD["B"]
	res.Summed = map[string]authpool.Snapshot{}
	for _, in := range []*instance{a, b} {
		snap, err := s.snapshot(in)
		if err != nil {
			return err
		}
		res.Summed[in.name] = snap
		sess, _ := session(snap, "alice")
		sub, _ := subscription(snap, home)
		s.event(in, "sees alice's session at %s over %d requests, and %s's block at %s of %s",
			money(sess.CostUSD), sess.Requests, home, money(sub.Block.CostUSD), money(sub.Block.BudgetUSD))
		if sess.CostUSD != want || sub.Block.CostUSD != want || sess.Requests != 2 {
			return fmt.Errorf("instance %s sees alice at %v over %d requests and %s's block at %v; want %v over 2 requests",
				in.name, sess.CostUSD, sess.Requests, home, sub.Block.CostUSD, want)
		}
	}

	// 3. One instance's Rebalance is what the other sees.
	s.say("")
	s.say("3. One instance's Rebalance is what the other sees")
	if err := s.advance(time.Minute); err != nil {
		return err
	}
	ans, err = b.call(command{Op: "allocate", Client: "bob"})
	if err != nil {
		return err
	}
	bob := *ans.Allocation
	s.event(b, "bob → %s (%s: %s)", bob.SubscriptionID, bob.Outcome, bob.Reason)
	if bob.SubscriptionID == home {
		return fmt.Errorf("instance B placed bob on %s, alice's subscription; the story wants him elsewhere", home)
	}
	if _, err := b.call(command{Op: "record", Client: "bob", CostUSD: 31, UsageID: "msg_01exampleB2"}); err != nil {
		return err
	}
	snap, err := s.snapshot(b)
	if err != nil {
		return err
	}
	bobSub, _ := subscription(snap, bob.SubscriptionID)
	s.event(b, "records %s for bob: %s's block is at %s of %s, %s left",
		money(31), bob.SubscriptionID, money(bobSub.Block.CostUSD), money(bobSub.Block.BudgetUSD),
		money(bobSub.Block.BudgetUSD-bobSub.Block.CostUSD))
	idle := time.Duration(config().Sessions.IdleAfter)
	if err := s.advance(2 * idle); err != nil {
		return err
	}
	s.event(nil, "both clocks move %s: alice and bob are idle now (no activity for over %s)", minutes(2*idle), minutes(idle))
	ans, err = a.call(command{Op: "allocate", Client: "alice"})
	if err != nil {
		return err
	}
	back := *ans.Allocation
	if _, err := a.call(command{Op: "record", Client: "alice", CostUSD: 0.40, UsageID: "msg_01exampleA2"}); err != nil {
		return err
	}
	s.event(a, "alice is back: alice → %s (%s), records %s; she is active again", back.SubscriptionID, back.Outcome, money(0.40))
	ans, err = a.call(command{Op: "rebalance"})
	if err != nil {
		return err
	}
	res.Rebalance = *ans.Rebalance
	if len(res.Rebalance.Moves) != 1 || res.Rebalance.Moves[0].ClientID != "bob" {
		return fmt.Errorf("instance A's Rebalance moved %+v; want bob alone", res.Rebalance.Moves)
	}
	m := res.Rebalance.Moves[0]
	s.event(a, "Rebalance moved bob %s → %s (%s: %s's block at %s of %s, %s's at %s of %s); alice, active, stays",
		m.From, m.To, m.Reason, m.From, money(m.FromBlockUSD), money(m.FromBudgetUSD), m.To, money(m.ToBlockUSD), money(m.ToBudgetUSD))
	if res.Rebalanced, err = s.snapshot(b); err != nil {
		return err
	}
	seen, _ := session(res.Rebalanced, "bob")
	s.event(b, "sees bob on %s, though B never moved him", seen.SubscriptionID)
	if seen.SubscriptionID != m.To {
		return fmt.Errorf("instance B sees bob on %s; A moved him to %s", seen.SubscriptionID, m.To)
	}
	ans, err = b.call(command{Op: "allocate", Client: "bob"})
	if err != nil {
		return err
	}
	res.BobAfter = *ans.Allocation
	why := string(res.BobAfter.Reason)
	if res.BobAfter.Outcome == authpool.OutcomeSticky {
		why = "the session A's Rebalance moved"
	}
	s.event(b, "bob → %s (%s: %s)", res.BobAfter.SubscriptionID, res.BobAfter.Outcome, why)
	if res.BobAfter.SubscriptionID != m.To || res.BobAfter.Outcome != authpool.OutcomeSticky {
		return fmt.Errorf("instance B placed bob %s on %s; want sticky on %s", res.BobAfter.Outcome, res.BobAfter.SubscriptionID, m.To)
	}

	// 4. The clients leave.
	s.say("")
	s.say("4. The clients leave, each through the other instance")
	if err := s.advance(time.Minute); err != nil {
		return err
	}
	for _, c := range []struct {
		in     *instance
		client string
	}{{b, "alice"}, {a, "bob"}} {
		if _, err := c.in.call(command{Op: "release", Client: c.client}); err != nil {
			return err
		}
		s.event(c.in, "releases %s", c.client)
	}
	res.Final = map[string]authpool.Snapshot{}
	for _, in := range []*instance{a, b} {
		snap, err := s.snapshot(in)
		if err != nil {
			return err
		}
		res.Final[in.name] = snap
		var week []string
		for _, sub := range snap.Subscriptions {
			week = append(week, fmt.Sprintf("%s %s (%d clients)", sub.ID, money(sub.Week.CostUSD), sub.Clients))
			if sub.Clients != 0 {
				return fmt.Errorf("instance %s sees %d clients on %s after both left", in.name, sub.Clients, sub.ID)
			}
		}
		s.event(in, "sees %d sessions; the week's spending: %s", len(snap.Sessions), strings.Join(week, ", "))
		if len(snap.Sessions) != 0 {
			return fmt.Errorf("instance %s sees sessions %+v after both left", in.name, snap.Sessions)
		}
	}
	s.say("")
	return nil
}

// event says what an instance did or saw (nil: both), at the clock's time.
func (s *story) event(in *instance, format string, args ...any) {
	who := "A+B"
	if in != nil {
		who = in.name
	}
	s.say("  %s  %-3s  %s", s.now.Format("15:04"), who, fmt.Sprintf(format, args...))
}

// advance moves both instances' clocks by d.
func (s *story) advance(d time.Duration) error {
	s.now = s.now.Add(d)
	for _, in := range []*instance{s.a, s.b} {
		ans, err := in.call(command{Op: "advance", By: authpool.Duration(d)})
		if err != nil {
			return err
		}
		if !ans.Time.Equal(s.now) {
			return fmt.Errorf("instance %s's clock reads %v, want %v", in.name, ans.Time, s.now)
		}
	}
	return nil
}

// snapshot returns an instance's snapshot.
func (s *story) snapshot(in *instance) (authpool.Snapshot, error) {
	ans, err := in.call(command{Op: "snapshot"})
	if err != nil {
		return authpool.Snapshot{}, err
	}
	return *ans.Snapshot, nil
}

// session returns a client's session in snap.
func session(snap authpool.Snapshot, client string) (authpool.SessionStatus, bool) {
	for _, s := range snap.Sessions {
		if s.ClientID == client {
			return s, true
		}
	}
	return authpool.SessionStatus{}, false
}

// subscription returns a subscription's status in snap.
func subscription(snap authpool.Snapshot, id string) (authpool.SubscriptionStatus, bool) {
	for _, s := range snap.Subscriptions {
		if s.ID == id {
			return s, true
		}
	}
	return authpool.SubscriptionStatus{}, false
}

// minutes writes a whole number of minutes as "10m".
func minutes(d time.Duration) string { return fmt.Sprintf("%dm", int(d.Minutes())) }

func money(usd float64) string { return fmt.Sprintf("$%.2f", usd) }
