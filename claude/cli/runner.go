package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"time"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/claude"
	"github.com/authpool/authpool/claude/internal/safetext"
)

// Runner runs the Claude Code CLI, `claude -p`, for the clients of a pool:
// each run gets the credential of the subscription Allocate gives its client,
// and what the run used and how it ended go back to the pool.
//
// A Runner is configured by its fields before its first run and not changed
// after; it is then safe for concurrent use by multiple goroutines. Given a
// Pool, the zero value runs "claude" from PATH in the current environment.
type Runner struct {
	// Pool allocates the subscriptions and records the runs. Required.
	Pool *authpool.Pool
	// Command is the CLI: a path, or a name looked up in PATH. The default
	// is "claude".
	Command string
	// Args are extra arguments, before the Runner's own (such as
	// "--max-turns", "3").
	Args []string
	// Env is the runs' environment ("NAME=value"); nil means os.Environ().
	// Its credential variables (IsCredentialVar) are removed and the
	// allocated credential added: in CLAUDE_CODE_OAUTH_TOKEN for a
	// subscription (pro, max5x, max20x), in ANTHROPIC_API_KEY for an API
	// key. ANTHROPIC_BASE_URL and all other variables pass through. Claude
	// Code prefers an apiKeyHelper of its settings files to
	// CLAUDE_CODE_OAUTH_TOKEN: configure none where subscriptions run.
	Env []string
	// Dir is the runs' working directory; empty means the current one.
	Dir string
	// Stream runs the CLI with --output-format stream-json --verbose, read
	// as it comes (ParseStream), rather than --output-format json: a run
	// cut short still counts what its stream showed.
	Stream bool
	// Prices prices what Claude Code did not (the assistant messages of a
	// stream cut before its result, and a model whose costBasis is
	// "unknown"); nil means claude.DefaultPrices().
	Prices *claude.Prices
	// Clock is the time of usages and verdicts; nil means the pool's
	// (Pool.Now).
	Clock func() time.Time
	// Logger gets a line per attempt (client, subscription, verdict, cost,
	// exit status, error) and per retry; never a prompt, an argument, the
	// environment or a credential. Nil means no logging.
	Logger *slog.Logger
	// WaitDelay is how long a cancelled run has to exit after an interrupt
	// before it is killed and its output abandoned (exec.Cmd.WaitDelay).
	// The default is 5 seconds.
	WaitDelay time.Duration
	// HoldEvery is how often the client's slot is renewed while a run lasts
	// (Pool.Hold): the CLI's requests go straight to the API, so the pool
	// sees no activity of the client until the run ends, and would give its
	// slot away after its Sessions.IdleAfter. Keep it under that. The
	// default is DefaultHoldEvery.
	HoldEvery time.Duration
	// MaxAttempts caps the subscriptions one Run runs on: the first and
	// those a failed run is run again on. The default is
	// DefaultMaxAttempts; 1 never runs again.
	MaxAttempts int
}

// RunOption changes one run: RunModel, RunArgs.
type RunOption func(*runSettings)

type runSettings struct {
	model string
	args  []string
}

// RunModel runs on model: the CLI gets --model model, and Allocate
// authpool.ForModel(model), so no subscription limited for it is chosen.
func RunModel(model string) RunOption { return func(s *runSettings) { s.model = model } }

// RunArgs adds arguments to one run, after the Runner's Args.
func RunArgs(args ...string) RunOption {
	return func(s *runSettings) { s.args = append(s.args, args...) }
}

// RunResult is what Run did: the last attempt's result, and every attempt.
// It holds no prompt and no credential (the Allocations' are cleared).
type RunResult struct {
	// Result is the last attempt's parsed output, zero if it had none.
	Result Result
	// Verdict is what Result means for its subscription (Result.Verdict;
	// VerdictOK for a run without an API error, or without a result).
	Verdict claude.Verdict
	// Allocation is where the last attempt ran.
	Allocation authpool.Allocation
	// Retried reports whether the first attempt failed and the run was
	// tried again on another subscription.
	Retried bool
	// Attempts are the runs of the CLI, one to MaxAttempts.
	Attempts []RunAttempt
}

// CostUSD is what all the attempts recorded.
func (r RunResult) CostUSD() float64 {
	var sum float64
	for _, a := range r.Attempts {
		sum += a.CostUSD()
	}
	return sum
}

// RunAttempt is one run of the CLI: where it ran (the Allocation, its
// Credential cleared), its parsed output and what that means, the usages
// recorded for it, how it ended and its error, as Run returns it.
type RunAttempt struct {
	Allocation authpool.Allocation // Credential cleared
	Result     Result
	Verdict    claude.Verdict
	Usages     []authpool.Usage // as recorded
	ExitCode   int              // -1 if it did not exit by itself
	Duration   time.Duration    // wall time
	Err        error            // as Run returns it
}

// CostUSD is what the attempt recorded.
func (a RunAttempt) CostUSD() float64 {
	var sum float64
	for _, u := range a.Usages {
		sum += u.CostUSD
	}
	return sum
}

// Run runs prompt through the CLI for clientID: it allocates the client's
// subscription, runs Command with `-p PROMPT --output-format json` (or
// stream-json) and the credential in its environment, parses the output,
// records its usages on the subscription and applies its verdict to the
// pool (claude.Apply). A run that ends on an answer whose kind fails over
// (claude.VerdictKind.FailsOver: a quota, a model's quota, an overload, a refused
// credential or billing, and a 429 that names no limit) is run again where
// a new Allocate puts the client, never on a subscription it already ran on
// (authpool.Elsewhere), up to MaxAttempts subscriptions in all; it stops
// when Allocate fails or gives one already tried.
//
// The prompt is an argument, never logged nor returned. Cancelling ctx
// interrupts the CLI (killed WaitDelay later); what its output showed is
// still recorded.
//
// The error of a failed run is a *RunError (of the last attempt) or
// Allocate's error, joined with any error of recording or applying; the
// RunResult holds what was done even then.
func (r *Runner) Run(ctx context.Context, clientID, prompt string, opts ...RunOption) (RunResult, error) {
	if r.Pool == nil || prompt == "" {
		return RunResult{}, fmt.Errorf("claude: run for client %q: no Pool, or an empty prompt: %w", clientID, authpool.ErrInvalidArgument)
	}
	var s runSettings
	for _, o := range opts {
		o(&s)
	}
	var allocOpts []authpool.AllocateOption
	if s.model != "" {
		allocOpts = append(allocOpts, authpool.ForModel(s.model))
	}
	var res RunResult
	var errs []error
	var tried []string
	for n := 1; n <= r.maxAttempts(); n++ {
		opts := allocOpts
		if n > 1 {
			// Once more, elsewhere.
			opts = append(allocOpts[:len(allocOpts):len(allocOpts)], authpool.Elsewhere(tried...))
		}
		a, err := r.Pool.Allocate(ctx, clientID, opts...)
		if err != nil {
			errs = append(errs, fmt.Errorf("claude: run for client %q: %w", clientID, err))
			break
		}
		if slices.Contains(tried, a.SubscriptionID) {
			r.log().LogAttrs(ctx, slog.LevelWarn, "claude: run not retried: no other subscription",
				slog.String("client", clientID), slog.String("subscription", a.SubscriptionID))
			break
		}
		at, acctErr := r.attempt(ctx, clientID, prompt, a, &s, n)
		res.Attempts = append(res.Attempts, at)
		res.Result, res.Verdict, res.Allocation, res.Retried = at.Result, at.Verdict, at.Allocation, n > 1
		errs = slices.DeleteFunc([]error{at.Err, acctErr}, func(e error) bool { return e == nil })
		if at.Err == nil || !at.Verdict.RetryElsewhere || ctx.Err() != nil {
			break
		}
		tried = append(tried, a.SubscriptionID)
		if n < r.maxAttempts() {
			r.log().LogAttrs(ctx, slog.LevelInfo, "claude: run failed; retrying elsewhere", slog.String("client", clientID),
				slog.String("subscription", a.SubscriptionID), slog.String("verdict", at.Verdict.Kind.String()))
		}
	}
	if len(errs) == 1 {
		return res, errs[0] // a *RunError as it is
	}
	return res, errors.Join(errs...)
}

// attempt runs the CLI once on a, records and applies what it did, and
// returns the attempt and any error of recording or applying it.
func (r *Runner) attempt(ctx context.Context, clientID, prompt string, a authpool.Allocation, s *runSettings, n int) (RunAttempt, error) {
	cred := a.Credential.Reveal()
	a.Credential = ""
	at := RunAttempt{Allocation: a, ExitCode: -1}
	fail := func(stderr string, err error) {
		at.Err = &RunError{ClientID: clientID, SubscriptionID: a.SubscriptionID, Verdict: at.Verdict.Kind,
			ExitCode: at.ExitCode, Stderr: stderr, Err: err}
	}
	env, secrets, err := runnerEnv(r.Env, a, cred)
	if err != nil {
		fail("", err)
		return at, nil
	}
	red := safetext.NewRedactor(append(secrets, runnerPromptParts(prompt)...)...)

	cmd := r.cmd(ctx, env, prompt, s)
	stderr := &runnerTail{max: 8 << 10}
	cmd.Stderr = stderr
	r.log().LogAttrs(ctx, slog.LevelDebug, "claude: run starting", slog.String("client", clientID),
		slog.String("subscription", a.SubscriptionID), slog.String("kind", string(a.Kind)), slog.Int("attempt", n))
	res, parseErr, runErr := r.execute(ctx, cmd, clientID, &at)

	// Count what the output showed (a result, or part of a stream) and
	// apply what it means, even when ctx is done.
	var acctErrs []error
	if parseErr == nil || len(res.Trailing) > 0 || res.RateLimit != nil {
		acctErrs = r.account(ctx, clientID, s, &at, res, red)
	}
	_, exited := errors.AsType[*exec.ExitError](runErr)
	result := parseErr == nil && res.CostKnown
	switch {
	case runErr != nil && ctx.Err() != nil:
		fail("", context.Cause(ctx))
	case runErr != nil && !exited:
		fail("", runErr) // it did not start, or its output was abandoned
	case result && res.IsError:
		fail("", runnerResultError(at.Result, at.Verdict, red))
	case result && runErr == nil:
	case runErr != nil:
		fail(runnerStderr(red, stderr), runErr)
	case parseErr != nil:
		fail(runnerStderr(red, stderr), &runnerStdoutError{parseErr})
	default:
		fail(runnerStderr(red, stderr), &runnerStdoutError{errors.New("stream-json: the stream ended without a result line")})
	}
	acctErr := errors.Join(acctErrs...)
	r.logAttempt(ctx, clientID, n, at, res.SessionID, acctErr, red)
	return at, acctErr
}

// cmd is the command of one run: the CLI with the run's environment, which
// an interrupt ends (WaitDelay kills it after).
func (r *Runner) cmd(ctx context.Context, env []string, prompt string, s *runSettings) *exec.Cmd {
	cmd := exec.CommandContext(ctx, r.command(), r.args(prompt, s)...)
	cmd.Env, cmd.Dir, cmd.WaitDelay = env, r.Dir, r.WaitDelay
	if cmd.WaitDelay <= 0 {
		cmd.WaitDelay = 5 * time.Second
	}
	cmd.Cancel = func() error {
		if runtime.GOOS == "windows" {
			return cmd.Process.Kill()
		}
		return cmd.Process.Signal(os.Interrupt) // let it end its session; WaitDelay kills
	}
	return cmd
}

// execute runs cmd, holding the client's slot meanwhile, and parses its
// output as it comes; it sets at's duration and exit code.
func (r *Runner) execute(ctx context.Context, cmd *exec.Cmd, clientID string, at *RunAttempt) (res Result, parseErr, runErr error) {
	pr, pw := io.Pipe()
	cmd.Stdout = pw
	done := make(chan struct{})
	go func() {
		defer close(done)
		if r.Stream {
			res, parseErr = ParseStream(pr)
		} else if data, err := io.ReadAll(io.LimitReader(pr, MaxStreamLine+1)); len(data) > MaxStreamLine {
			parseErr = fmt.Errorf("claude: json result: longer than %d bytes", MaxStreamLine)
		} else if err == nil {
			res, parseErr = ParseResult(data)
		}
		io.Copy(io.Discard, pr) // the CLI may write on after what could not be read
	}()
	start := time.Now()
	stopHolding := r.hold(ctx, clientID)
	runErr = cmd.Run()
	stopHolding()
	pw.Close()
	<-done
	at.Duration = time.Since(start)
	if cmd.ProcessState != nil {
		at.ExitCode = cmd.ProcessState.ExitCode()
	}
	return res, parseErr, runErr
}

// account records the usages of a run's output and applies its verdict,
// setting at's Result, Verdict and Usages; it returns the errors of doing
// so.
func (r *Runner) account(ctx context.Context, clientID string, s *runSettings, at *RunAttempt, res Result, red safetext.Redactor) []error {
	end := r.now()
	if res.IsError {
		// The CLI's words of a failed answer may repeat what the upstream
		// echoed (a credential) or the prompt: they go to the pool, and
		// back to the caller in the RunResult.
		res.Text = red.String(res.Text)
		for i := range res.Errors {
			res.Errors[i] = red.String(res.Errors[i])
		}
	}
	// The verdict's message is the CLI's text of the answer: it goes to
	// the pool (a status reason, an event), so it is redacted.
	at.Result, at.Verdict = res, res.Verdict(end).Redacted(red.String)
	actx := context.WithoutCancel(ctx)
	var errs []error
	var err error
	sub := at.Allocation.SubscriptionID
	at.Usages, err = res.Usages(r.prices(), end)
	if err != nil {
		errs = append(errs, fmt.Errorf("claude: run for client %q on subscription %q: %w", clientID, sub, err))
	}
	for i := range at.Usages {
		at.Usages[i].SubscriptionID = sub
		// The run is over: the cache it wrote (an hour's, with a
		// subscription's OAuth token) is no reason to hold its slot.
		at.Usages[i].CacheTTL = 0
		errs = append(errs, r.Pool.Record(actx, clientID, at.Usages[i]))
	}
	return append(errs, claude.Apply(actx, r.Pool, sub, at.Verdict, runnerModel(s.model, res), end))
}

// logAttempt logs how an attempt went.
func (r *Runner) logAttempt(ctx context.Context, clientID string, n int, at RunAttempt, session string, acctErr error, red safetext.Redactor) {
	a := at.Allocation
	level := slog.LevelInfo
	attrs := []slog.Attr{slog.String("client", clientID), slog.String("subscription", a.SubscriptionID),
		slog.String("kind", string(a.Kind)), slog.Int("attempt", n), slog.String("verdict", at.Verdict.Kind.String()),
		slog.Float64("costUSD", at.CostUSD()), slog.Duration("duration", at.Duration), slog.Int("exit", at.ExitCode)}
	if session != "" {
		attrs = append(attrs, slog.String("session", session))
	}
	if at.Err != nil {
		level = slog.LevelWarn
		attrs = append(attrs, slog.String("error", at.Err.Error()))
	}
	if acctErr != nil {
		level = slog.LevelError
		attrs = append(attrs, slog.String("accounting", red.String(acctErr.Error())))
	}
	r.log().LogAttrs(ctx, level, "claude: run", attrs...)
}
