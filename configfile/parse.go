package configfile

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/authpool/authpool"
)

// problem is one thing wrong with a config file, at a JSON pointer.
type problem struct {
	at      string // JSON pointer; "" is the whole file
	msg     string
	keyword string // the schema keyword that failed, if any
	stop    bool   // later checks cannot run
}

func (p problem) Error() string {
	if p.at == "" {
		return p.msg
	}
	return printablePointer(p.at) + ": " + p.msg
}

// configProblems sorts probs by pointer, then message, drops repeats, and
// returns them as a *ConfigError.
func configProblems(name string, probs []problem) error {
	slices.SortStableFunc(probs, func(a, b problem) int {
		if c := comparePointers(a.at, b.at); c != 0 {
			return c
		}
		return strings.Compare(a.msg, b.msg)
	})
	probs = slices.CompactFunc(probs, func(a, b problem) bool { return a.at == b.at && a.msg == b.msg })
	// A duration that fails its pattern fails its format too: keep the first.
	probs = slices.DeleteFunc(probs, func(p problem) bool {
		return p.keyword == "format" && slices.ContainsFunc(probs, func(q problem) bool { return q.at == p.at && q.keyword == "pattern" })
	})
	errs := make([]error, len(probs))
	for i, p := range probs {
		errs[i] = p
	}
	return &authpool.ConfigError{Source: name, Problems: errs}
}

// comparePointers orders JSON pointers token by token, array indexes by
// value: /subscriptions/2 before /subscriptions/10.
func comparePointers(a, b string) int {
	ta, tb := strings.Split(a, "/"), strings.Split(b, "/")
	for i := 0; i < len(ta) && i < len(tb); i++ {
		x, errx := strconv.Atoi(ta[i])
		y, erry := strconv.Atoi(tb[i])
		var c int
		if errx == nil && erry == nil {
			c = x - y
		} else {
			c = strings.Compare(ta[i], tb[i])
		}
		if c != 0 {
			return c
		}
	}
	return len(ta) - len(tb)
}

// parseConfigJSON decodes data into maps, slices, strings, json.Numbers,
// bools and nils. A syntax error is a *ConfigError whose source has the
// line and column. A key given twice and a number a float64 cannot hold
// are problems; the latter stop the checks, whose validator would choke on
// it. Numbers are rewritten as the float64 Go decodes them to, so the
// schema checks the values Go will use.
func parseConfigJSON(data []byte, name string) (any, []problem, error) {
	var raw json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		pos := len(data)
		var se *json.SyntaxError
		if errors.As(err, &se) && se.Offset > 0 && se.Offset <= int64(len(data)) && se.Error() != "unexpected end of JSON input" {
			pos = int(se.Offset) - 1 // the offending byte
		}
		line, col := position(data, pos)
		return nil, nil, &authpool.ConfigError{Source: fmt.Sprintf("%s:%d:%d", name, line, col), Problems: []error{errors.New(err.Error())}}
	}
	p := jsonParser{dec: json.NewDecoder(bytes.NewReader(data))}
	p.dec.UseNumber()
	v, err := p.value("")
	if err != nil {
		return nil, nil, fmt.Errorf("authpool: config %s: %w", name, err)
	}
	return v, p.probs, nil
}

// position returns the 1-based line and column (in characters) of data[pos].
func position(data []byte, pos int) (line, col int) {
	before := data[:pos]
	start := bytes.LastIndexByte(before, '\n') + 1
	return bytes.Count(before, []byte{'\n'}) + 1, utf8.RuneCount(before[start:]) + 1
}

type jsonParser struct {
	dec   *json.Decoder
	probs []problem
}

func (p *jsonParser) value(at string) (any, error) {
	tok, err := p.dec.Token()
	if err != nil {
		return nil, err
	}
	switch tok := tok.(type) {
	case json.Delim:
		if tok == '[' {
			a := []any{}
			for p.dec.More() {
				v, err := p.value(at + "/" + strconv.Itoa(len(a)))
				if err != nil {
					return nil, err
				}
				a = append(a, v)
			}
			_, err := p.dec.Token()
			return a, err
		}
		m := map[string]any{}
		for p.dec.More() {
			key, err := p.dec.Token()
			if err != nil {
				return nil, err
			}
			k := key.(string)
			kat := at + "/" + escapePointer(k)
			v, err := p.value(kat)
			if err != nil {
				return nil, err
			}
			if _, dup := m[k]; dup {
				p.probs = append(p.probs, problem{at: kat, msg: "given twice"})
			}
			m[k] = v
		}
		_, err := p.dec.Token()
		return m, err
	case json.Number:
		f, err := strconv.ParseFloat(tok.String(), 64)
		mantissa, _, _ := strings.Cut(strings.ToLower(tok.String()), "e")
		if err != nil || f == 0 && strings.ContainsAny(mantissa, "123456789") {
			p.probs = append(p.probs, problem{at: at, msg: "number out of range", stop: true})
			return tok, nil
		}
		return json.Number(strconv.FormatFloat(f, 'g', -1, 64)), nil
	}
	return tok, nil
}

// escapePointer escapes a key as a JSON pointer token (RFC 6901).
func escapePointer(key string) string {
	return strings.ReplaceAll(strings.ReplaceAll(key, "~", "~0"), "/", "~1")
}

// printablePointer returns a pointer fit for a one-line message: control
// characters escaped, long tokens cut.
func printablePointer(at string) string {
	if len(at) <= 200 && !strings.ContainsFunc(at, func(r rune) bool { return !unicode.IsPrint(r) }) {
		return at
	}
	q := strconv.QuoteToGraphic(at)
	q = q[1 : len(q)-1]
	if len(q) > 200 {
		q = q[:200] + "..."
	}
	return q
}

// pointerTokens splits a JSON pointer into its unescaped tokens.
func pointerTokens(ptr string) []string {
	if ptr == "" {
		return nil
	}
	toks := strings.Split(strings.TrimPrefix(ptr, "/"), "/")
	for i, t := range toks {
		toks[i] = strings.ReplaceAll(strings.ReplaceAll(t, "~1", "/"), "~0", "~")
	}
	return toks
}

// lookup returns the value at path in a decoded JSON document, or nil.
func lookup(doc any, path []string) any {
	for _, tok := range path {
		switch d := doc.(type) {
		case map[string]any:
			doc = d[tok]
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(d) {
				return nil
			}
			doc = d[i]
		default:
			return nil
		}
	}
	return doc
}
