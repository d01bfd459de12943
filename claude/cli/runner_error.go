package cli

import (
	"errors"
	"fmt"
	"os/exec"
	"strings"

	"github.com/authpool/authpool/claude"
	"github.com/authpool/authpool/claude/internal/safetext"
)

// RunError is the error of a failed run: the CLI did not start, was
// cancelled, exited without a result, printed something else, or its result
// says it ended in error. It holds no credential, nor the prompt (when at
// least 6 bytes long).
type RunError struct {
	// ClientID is the client the run was for, SubscriptionID where it ran.
	ClientID       string
	SubscriptionID string
	// Verdict is what the result meant for the subscription (VerdictQuota,
	// VerdictAuth, ...); VerdictOK without a result or an API error.
	Verdict claude.VerdictKind
	// ExitCode is the CLI's exit status; -1 if it did not exit by itself.
	ExitCode int
	// Stderr is the end of the CLI's standard error (at most 1 KiB), for a
	// run without a result: credentials and the prompt redacted, and what
	// follows "sk-ant-", "Bearer", key=, token=, secret= or password=.
	Stderr string
	// Err is the cause: a parse error, an *exec.ExitError, the context's
	// error, the start's error, or what the result said.
	Err error
}

// Error says, on one line, where the run failed and why.
func (e *RunError) Error() string {
	msg := fmt.Sprintf("claude: run for client %q on subscription %q: %s", e.ClientID, e.SubscriptionID,
		strings.TrimPrefix(e.Err.Error(), "claude: "))
	if _, exited := errors.AsType[*exec.ExitError](e.Err); e.ExitCode > 0 && !exited {
		msg += fmt.Sprintf(" (exit status %d)", e.ExitCode)
	}
	if e.Stderr != "" {
		msg += fmt.Sprintf("; stderr: %q", e.Stderr)
	}
	return msg
}

// Unwrap returns the cause.
func (e *RunError) Unwrap() error { return e.Err }

// runnerStdoutError is an error of the CLI's output, which it says.
type runnerStdoutError struct{ err error }

func (e *runnerStdoutError) Error() string {
	return "stdout: " + strings.TrimPrefix(e.err.Error(), "claude: ")
}

func (e *runnerStdoutError) Unwrap() error { return e.err }

// runnerResultError says what an error result said, redacted.
func runnerResultError(res Result, v claude.Verdict, red safetext.Redactor) error {
	what := "ended in error: " + res.Subtype
	if status, ok := res.Failed(); ok {
		what = strings.TrimSuffix(fmt.Sprintf("ended on an API error: %s, HTTP %d %s", v.Kind, status, res.APIErrorType), " ")
	}
	text := res.Text
	if text == "" {
		text = strings.Join(res.Errors, "; ")
	}
	if text = red.String(text); text != "" {
		what += ": " + safetext.Clip(text, 300)
	}
	return errors.New(what)
}
