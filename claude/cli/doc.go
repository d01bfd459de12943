// Package cli runs the Claude Code CLI (`claude -p`) on a pool's
// subscriptions and reads what it reports: ParseResult and ParseStream read
// its json and stream-json output into a Result (the usage of every model,
// its cost, how the run ended), Result.Verdict says what the run's end
// means for the pool, and a Runner does it all for a client.
//
//	r := &cli.Runner{Pool: pool, Stream: true}
//	res, err := r.Run(ctx, "alice", "Summarize README.md", cli.RunModel("sonnet"))
//	fmt.Println(res.CostUSD(), err)
//
// # Guarantees
//
// A Runner gives each run the credential of the subscription the pool
// allocated its client, in the environment only (never in arguments nor in
// logs), and records what the run used even when it failed or was
// cancelled (what its stream showed), and applies how it ended to the pool
// (claude.Apply). A run that ended on an answer whose kind fails over
// (claude.VerdictKind.FailsOver: one that takes its subscription out of
// service, or a 429 that names no limit, which leaves it in service) is run
// again elsewhere, up to Runner.MaxAttempts subscriptions. Its times are the pool's clock
// (Pool.Now) unless Runner.Clock says otherwise. Error texts from the CLI
// are redacted of the credential and the prompt before they are logged or
// returned.
//
// The parsers ignore fields they do not know and report malformed output
// with its line and field. docs/claude.md and docs/claude-code.md say more;
// docs/formats.md §1 describes the output.
package cli
