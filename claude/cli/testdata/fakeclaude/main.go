// Command fakeclaude stands in for the Claude Code CLI in the tests of
// cli.Runner and examples/cli. It takes the arguments the Runner passes
// (`[extra args] --output-format json|stream-json [--verbose] [--model M]
// -p [--] PROMPT`) and prints a real captured output of CLI 2.1.332 (the
// fixtures in claude/testdata/cli), chosen by the prompt's first word:
//
//	ok          result-ok.json / stream-ok.jsonl, exit 0
//	quota       result-quota429.json / stream-quota429.jsonl, exit FAKECLAUDE_ERROR_EXIT (1)
//	headerless  result-headerless429.json / stream-headerless429.jsonl (a 429 without limit headers, OAuth mode), exit FAKECLAUDE_ERROR_EXIT
//	overloaded  result-overloaded529.json (as the only line of a stream), exit FAKECLAUDE_ERROR_EXIT
//	auth        result-auth401.json (likewise), exit FAKECLAUDE_ERROR_EXIT
//	authecho    auth, its message echoing the credential and the prompt, as
//	            the CLI prints an upstream's error that echoes them
//	partial     stream-ok.jsonl without its result line (a stream that died), exit 0
//	slow        tells FAKECLAUDE_NOTIFY (a TCP address) it started, then sleeps until killed
//	garbage     a line that is not JSON, exit 0
//	exit        a message on stderr that quotes the prompt and the credential, exit 2
//
// Any other prompt behaves as ok. FAKECLAUDE_MODES overrides the mode per
// credential: "HASH=mode,HASH=mode", HASH being Hash of the credential the
// process got (CLAUDE_CODE_OAUTH_TOKEN, else ANTHROPIC_API_KEY), so that a
// test can make one subscription hit its quota and another answer.
//
// Every run gets a fresh session id and result uuid (FAKECLAUDE_KEEP_IDS=1
// keeps the fixture's), as the real CLI does, so the pool does not take two
// runs for one.
//
// When FAKECLAUDE_REPORT names a file, each run appends a JSON line to it
// (see report): the names of all its environment variables, and the hashes
// of the values of those named ANTHROPIC_* or CLAUDE_* — never a value — so
// that a test can check which credential reached the process, in which
// variable, and that nothing else leaked in.
//
// The fixtures' directory is set at build time
// (-ldflags=-X=main.fixtureDir=DIR) or by FAKECLAUDE_FIXTURES.
package main

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// fixtureDir is the directory of the captured outputs, set with -ldflags.
var fixtureDir string

// report is one line of FAKECLAUDE_REPORT.
type report struct {
	PID int `json:"pid"`
	// Mode is the behaviour chosen.
	Mode string `json:"mode"`
	// Flags are the arguments, the prompt left out.
	Flags []string `json:"flags"`
	// Prompt is the prompt's hash.
	Prompt string `json:"prompt"`
	// Names are the names of every environment variable, sorted.
	Names []string `json:"names"`
	// Claude maps the ANTHROPIC_* and CLAUDE_* variables to their values'
	// hashes.
	Claude map[string]string `json:"claude"`
}

// Hash is how the fake names a value: the first 16 hex digits of its
// SHA-256.
func Hash(v string) string {
	sum := sha256.Sum256([]byte(v))
	return hex.EncodeToString(sum[:8])
}

func main() {
	os.Exit(run())
}

func run() int {
	inv, err := parseArgs(os.Args[1:])
	if err != nil {
		return fail(1, err.Error())
	}
	credential := os.Getenv("CLAUDE_CODE_OAUTH_TOKEN")
	if credential == "" {
		credential = os.Getenv("ANTHROPIC_API_KEY")
	}
	mode := modeOf(inv.prompt, credential)
	if err := writeReport(mode, inv.flags, inv.prompt); err != nil {
		return fail(1, "fakeclaude: report: "+err.Error())
	}
	return act(mode, inv, credential)
}

// invocation is what the arguments ask for.
type invocation struct {
	flags  []string // the arguments, the prompt left out
	prompt string
	stream bool // --output-format stream-json
}

// parseArgs reads the arguments as the CLI does, refusing (with the CLI's
// message) what it refuses and what the fake does not fake.
func parseArgs(args []string) (invocation, error) {
	var (
		inv         invocation
		havePrompt  bool
		printMode   bool
		format      = "text"
		verbose     bool
		onlyOperand bool
	)
	for i := 0; i < len(args); i++ {
		a := args[i]
		if onlyOperand || !strings.HasPrefix(a, "-") {
			if havePrompt {
				return inv, errors.New("error: too many arguments")
			}
			inv.prompt, havePrompt = a, true
			continue
		}
		inv.flags = append(inv.flags, a)
		switch a {
		case "--":
			onlyOperand = true
		case "-p", "--print":
			printMode = true
		case "--verbose":
			verbose = true
		case "--dangerously-skip-permissions":
		case "--output-format", "--model", "--max-turns", "--append-system-prompt":
			if i+1 == len(args) {
				return inv, errors.New("error: option '" + a + "' argument missing")
			}
			i++
			inv.flags = append(inv.flags, args[i])
			if a == "--output-format" {
				format = args[i]
			}
		default:
			return inv, errors.New("error: unknown option '" + a + "'")
		}
	}
	switch {
	case !printMode:
		return inv, errors.New("fakeclaude: only -p is faked")
	case !havePrompt || inv.prompt == "":
		return inv, errors.New("Error: Input must be provided either through stdin or as a prompt argument when using --print")
	case format != "json" && format != "stream-json":
		return inv, errors.New("fakeclaude: --output-format " + format + " is not faked")
	case format == "stream-json" && !verbose:
		return inv, errors.New("Error: When using --print, --output-format=stream-json requires --verbose")
	}
	inv.stream = format == "stream-json"
	return inv, nil
}

// modeOf is the behaviour chosen: the prompt's first word, unless
// FAKECLAUDE_MODES names one for the credential.
func modeOf(prompt, credential string) string {
	mode := "ok"
	if f := strings.Fields(prompt); len(f) > 0 {
		mode = strings.ToLower(f[0])
	}
	for _, kv := range strings.Split(os.Getenv("FAKECLAUDE_MODES"), ",") {
		if h, m, ok := strings.Cut(kv, "="); ok && credential != "" && h == Hash(credential) {
			mode = m
		}
	}
	return mode
}

// act behaves as mode says and returns the exit status.
func act(mode string, inv invocation, credential string) int {
	errorExit := 1
	if v := os.Getenv("FAKECLAUDE_ERROR_EXIT"); v != "" {
		fmt.Sscan(v, &errorExit)
	}
	stream, prompt := inv.stream, inv.prompt
	switch mode {
	case "quota":
		return output(stream, "result-quota429.json", "stream-quota429.jsonl", errorExit, false)
	case "headerless":
		return output(stream, "result-headerless429.json", "stream-headerless429.jsonl", errorExit, false)
	case "overloaded":
		return output(stream, "result-overloaded529.json", "", errorExit, false)
	case "auth":
		return output(stream, "result-auth401.json", "", errorExit, false)
	case "authecho":
		echo, _ := json.Marshal("invalid x-api-key " + credential + " for " + prompt)
		return output(stream, "result-auth401.json", "", errorExit, false, "fake AUTH401", string(echo[1:len(echo)-1]))
	case "partial":
		return output(true, "", "stream-ok.jsonl", 0, true)
	case "slow":
		if addr := os.Getenv("FAKECLAUDE_NOTIFY"); addr != "" {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				return fail(1, "fakeclaude: notify: "+err.Error())
			}
			fmt.Fprintln(c, "started", os.Getpid())
			c.Close()
		}
		time.Sleep(time.Hour) // until killed
		return 0
	case "garbage":
		fmt.Println("<html><body>502 Bad Gateway</body></html>")
		return 0
	case "exit":
		return fail(2, "Error: the fake failed while running "+prompt+" with "+credential)
	default:
		return output(stream, "result-ok.json", "stream-ok.jsonl", 0, false)
	}
}

// output prints a fixture: the json one, or the stream one (a stream without
// one of its own prints the json result as its only line), leaving out the
// result line when cut, with each old text of subst replaced by the new one
// after it, and returns the exit status.
func output(stream bool, jsonName, streamName string, exit int, cut bool, subst ...string) int {
	dir := fixtureDir
	if d := os.Getenv("FAKECLAUDE_FIXTURES"); d != "" {
		dir = d
	}
	name := jsonName
	if stream && streamName != "" {
		name = streamName
	}
	data, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		return fail(1, "fakeclaude: "+err.Error())
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if cut {
		lines = lines[:len(lines)-1]
	}
	text := strings.Join(lines, "\n") + "\n"
	for i := 0; i+1 < len(subst); i += 2 {
		text = strings.ReplaceAll(text, subst[i], subst[i+1])
	}
	if os.Getenv("FAKECLAUDE_KEEP_IDS") != "1" {
		var last struct {
			SessionID string `json:"session_id"`
			UUID      string `json:"uuid"`
		}
		if err := json.Unmarshal([]byte(lines[len(lines)-1]), &last); err != nil {
			return fail(1, "fakeclaude: fixture "+name+": "+err.Error())
		}
		for _, id := range []string{last.SessionID, last.UUID} {
			if id != "" {
				text = strings.ReplaceAll(text, id, newUUID())
			}
		}
	}
	os.Stdout.WriteString(text)
	return exit
}

// writeReport appends the run's report to FAKECLAUDE_REPORT, if set.
func writeReport(mode string, flags []string, prompt string) error {
	path := os.Getenv("FAKECLAUDE_REPORT")
	if path == "" {
		return nil
	}
	r := report{PID: os.Getpid(), Mode: mode, Flags: flags, Prompt: Hash(prompt), Claude: map[string]string{}}
	for _, kv := range os.Environ() {
		name, value, _ := strings.Cut(kv, "=")
		r.Names = append(r.Names, name)
		if up := strings.ToUpper(name); strings.HasPrefix(up, "ANTHROPIC_") || strings.HasPrefix(up, "CLAUDE_") {
			r.Claude[name] = Hash(value)
		}
	}
	slices.Sort(r.Names)
	line, err := json.Marshal(r)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(append(line, '\n')); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// newUUID returns a random UUID (version 4).
func newUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// fail prints msg on stderr and returns status.
func fail(status int, msg string) int {
	fmt.Fprintln(os.Stderr, msg)
	return status
}
