package cli

import (
	"context"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/authpool/authpool/claude"
)

// This file holds the Runner's settings and their defaults.

// args returns the CLI's arguments.
func (r *Runner) args(prompt string, s *runSettings) []string {
	args := append(slices.Clip(r.Args), s.args...)
	if r.Stream {
		args = append(args, "--output-format", "stream-json", "--verbose")
	} else {
		args = append(args, "--output-format", "json")
	}
	if s.model != "" {
		args = append(args, "--model", s.model)
	}
	if strings.HasPrefix(prompt, "-") {
		return append(args, "-p", "--", prompt) // an operand, not an option
	}
	return append(args, "-p", prompt)
}

func (r *Runner) maxAttempts() int {
	if r.MaxAttempts > 0 {
		return r.MaxAttempts
	}
	return DefaultMaxAttempts
}

// DefaultMaxAttempts is Runner.MaxAttempts's default: the first
// subscription and two others, as the proxy's Transport.
const DefaultMaxAttempts = 3

// DefaultHoldEvery is Runner.HoldEvery's default: a fifth of the pool's
// default idle time.
const DefaultHoldEvery = time.Minute

// hold renews the client's slot every HoldEvery until the returned stop is
// called, which waits for the renewing goroutine to end.
func (r *Runner) hold(ctx context.Context, clientID string) (stop func()) {
	every := r.HoldEvery
	if every <= 0 {
		every = DefaultHoldEvery
	}
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-quit:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				if held, err := r.Pool.Hold(ctx, clientID); err != nil || !held {
					r.log().LogAttrs(ctx, slog.LevelDebug, "claude: the run's client did not keep its slot",
						slog.String("client", clientID), slog.Bool("held", held), slog.Any("error", err))
				}
			}
		}
	}()
	return func() {
		close(quit)
		<-done
	}
}

func (r *Runner) command() string {
	if r.Command == "" {
		return "claude"
	}
	return r.Command
}

func (r *Runner) now() time.Time {
	if r.Clock == nil {
		return r.Pool.Now()
	}
	return r.Clock()
}

func (r *Runner) log() *slog.Logger {
	if r.Logger == nil {
		return runnerDiscard
	}
	return r.Logger
}

func (r *Runner) prices() *claude.Prices {
	if r.Prices == nil {
		return runnerDefaultPrices()
	}
	return r.Prices
}

var (
	runnerDiscard       = slog.New(slog.DiscardHandler)
	runnerDefaultPrices = sync.OnceValue(claude.DefaultPrices)
)

// runnerModel is the run's model, for claude.Apply: the one asked for, else the
// only one the result names.
func runnerModel(model string, res Result) string {
	if model == "" && len(res.Models) == 1 {
		return slices.Collect(maps.Keys(res.Models))[0]
	}
	return model
}
