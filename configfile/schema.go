package configfile

import (
	"bytes"
	_ "embed" // the config schema
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/santhosh-tekuri/jsonschema/v5"

	"github.com/authpool/authpool"
)

// The JSON schema of a config file, draft 2020-12.
//
//go:embed config.schema.json
var configSchemaJSON string

const configSchemaURL = "https://github.com/authpool/authpool/config.schema.json"

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

// compiledSchema is the config schema, compiled, with its JSON for the
// keyword values errors quote.
type compiledSchema struct {
	schema *jsonschema.Schema
	doc    any
}

// configSchema compiles the schema, once.
var configSchema = sync.OnceValues(func() (*compiledSchema, error) {
	c := jsonschema.NewCompiler()
	c.Draft = jsonschema.Draft2020
	c.AssertFormat = true
	c.Formats["go-duration"] = func(v any) bool {
		s, ok := v.(string)
		if !ok {
			return true
		}
		d, err := time.ParseDuration(s)
		return err == nil && d >= 0
	}
	c.Formats["date-time"] = func(v any) bool { // as time.Time decodes it
		s, ok := v.(string)
		return !ok || new(time.Time).UnmarshalText([]byte(s)) == nil
	}
	if err := c.AddResource(configSchemaURL, strings.NewReader(configSchemaJSON)); err != nil {
		return nil, fmt.Errorf("authpool: config schema: %w", err)
	}
	schema, err := c.Compile(configSchemaURL)
	if err != nil {
		return nil, fmt.Errorf("authpool: config schema: %w", err)
	}
	dec := json.NewDecoder(strings.NewReader(configSchemaJSON))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("authpool: config schema: %w", err)
	}
	return &compiledSchema{schema: schema, doc: doc}, nil
})

// check validates tree against the schema and explains each failure.
func (s *compiledSchema) check(tree any) ([]problem, error) {
	err := s.schema.Validate(tree)
	if err == nil {
		return nil, nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return nil, err
	}
	var probs []problem
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) == 0 {
			probs = append(probs, s.explain(e, tree)...)
		}
		for _, c := range e.Causes {
			walk(c)
		}
	}
	walk(ve)
	return probs, nil
}

// friendlier returns plainer words for a failed pattern, format or "not"
// of the schema, by the keyword and the definition (or format) it is in.
func friendlier(keyword, def string) string {
	switch keyword + " " + def {
	case "pattern duration":
		return `must be a duration such as "90s", "5m" or "1h30m"`
	case "pattern subscriptionId":
		return `must be 1 to 64 letters, digits, '.', '_' or '-'`
	case "pattern text":
		return `must not hold control characters`
	case "pattern logLevel":
		return `must be a log level: "debug", "info", "warn" or "error", optionally with an offset such as "info+2"`
	case "pattern secret":
		return `must be an environment variable's name: letters, digits and '_', not starting with a digit`
	case "format go-duration":
		return `must be a duration of at most 2562047h (about 292 years)`
	case "format date-time":
		return `must be a time in RFC 3339 form, such as "2025-06-01T15:00:00Z"`
	case "not subscriptionId":
		return fmt.Sprintf("%q is reserved for the fallback", authpool.FallbackID)
	}
	return ""
}

const secretForms = `must be {"env": NAME} or {"file": PATH}`

// explain turns a failed keyword into problems at the instance's pointers.
func (s *compiledSchema) explain(e *jsonschema.ValidationError, tree any) []problem {
	at := e.InstanceLocation
	_, frag, _ := strings.Cut(e.AbsoluteKeywordLocation, "#")
	path := pointerTokens(frag)
	if len(path) == 0 {
		return []problem{{at: at, msg: e.Message}}
	}
	keyword := path[len(path)-1]
	parent, _ := lookup(s.doc, path[:len(path)-1]).(map[string]any)
	arg := parent[keyword]
	def := ""
	if len(path) >= 2 && path[0] == "$defs" {
		def = path[1]
	}
	instance := lookup(tree, pointerTokens(at))
	one := func(msg string) []problem { return []problem{{at: at, msg: msg, keyword: keyword}} }
	switch keyword {
	case "additionalProperties":
		obj, _ := instance.(map[string]any)
		props, _ := parent["properties"].(map[string]any)
		var probs []problem
		for key := range obj {
			if _, known := props[key]; !known {
				msg := "unknown field"
				if near := nearest(key, props); near != "" {
					msg += fmt.Sprintf(" (did you mean %q?)", near)
				}
				probs = append(probs, problem{at: at + "/" + escapePointer(key), msg: msg, keyword: keyword})
			}
		}
		return probs
	case "required":
		obj, _ := instance.(map[string]any)
		req, _ := arg.([]any)
		var probs []problem
		for _, r := range req {
			name, _ := r.(string)
			if _, ok := obj[name]; !ok && obj != nil {
				probs = append(probs, problem{at: at + "/" + escapePointer(name), msg: "missing", keyword: keyword})
			}
		}
		return probs
	case "type":
		if def == "secret" {
			return one(secretForms + ", not " + jsonTypeName(instance))
		}
		return one("must be " + typeList(arg) + ", not " + jsonTypeName(instance))
	case "enum":
		vals, _ := arg.([]any)
		quoted := make([]string, len(vals))
		for i, v := range vals {
			b, _ := json.Marshal(v)
			quoted[i] = string(b)
		}
		got, _ := json.Marshal(instance)
		if len(got) > 64 {
			got = append(got[:61], "..."...)
		}
		return one(string(got) + ": must be " + orList(quoted))
	case "minimum":
		return one(fmt.Sprintf("must be >= %v", arg))
	case "exclusiveMinimum":
		return one(fmt.Sprintf("must be > %v", arg))
	case "maximum":
		return one(fmt.Sprintf("must be <= %v", arg))
	case "exclusiveMaximum":
		return one(fmt.Sprintf("must be < %v", arg))
	case "minLength":
		if fmt.Sprint(arg) == "1" {
			return one("must not be empty")
		}
		return one(fmt.Sprintf("must be at least %v characters long", arg))
	case "maxLength":
		return one(fmt.Sprintf("must be at most %v characters long", arg))
	case "pattern", "not":
		if msg := friendlier(keyword, def); msg != "" {
			return one(msg)
		}
	case "format":
		if msg := friendlier(keyword, fmt.Sprint(arg)); msg != "" {
			return one(msg)
		}
	case "minProperties", "maxProperties":
		if def == "secret" {
			if keyword == "maxProperties" {
				return one(`must hold "env" or "file", not both`)
			}
			return one(secretForms)
		}
	case "uniqueItems":
		var i, j int
		if _, err := fmt.Sscanf(e.Message, "items at index %d and %d are equal", &i, &j); err == nil {
			return []problem{{at: at + "/" + strconv.Itoa(j), msg: fmt.Sprintf("repeats item %d", i), keyword: keyword}}
		}
	}
	return one(e.Message)
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

// jsonTypeName names a decoded JSON value's type with its article.
func jsonTypeName(v any) string {
	switch v := v.(type) {
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case json.Number:
		return v.String()
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", v)
}

// typeList renders a schema's "type" with articles: "an integer".
func typeList(t any) string {
	var names []string
	switch t := t.(type) {
	case string:
		names = []string{t}
	case []any:
		for _, n := range t {
			names = append(names, fmt.Sprint(n))
		}
	}
	for i, n := range names {
		switch n {
		case "object", "array", "integer":
			names[i] = "an " + n
		case "null":
		case "boolean":
			names[i] = "true or false"
		default:
			names[i] = "a " + n
		}
	}
	return orList(names)
}

// orList joins "a", "b" and "c" as `a, b or c`.
func orList(items []string) string {
	if len(items) <= 1 {
		return strings.Join(items, "")
	}
	return strings.Join(items[:len(items)-1], ", ") + " or " + items[len(items)-1]
}

// nearest returns the known name that key is most likely a typo of, or "":
// the same but for case, or within an edit or two.
func nearest(key string, known map[string]any) string {
	if len(key) > 64 {
		return ""
	}
	best, bestDist := "", 3
	for name := range known {
		if strings.HasPrefix(name, "$") {
			continue
		}
		d := editDistance(strings.ToLower(key), strings.ToLower(name))
		limit := 2
		if len(name) <= 4 {
			limit = 1
		}
		if d <= limit && (d < bestDist || d == bestDist && name < best) {
			best, bestDist = name, d
		}
	}
	return best
}

// editDistance is the optimal string alignment distance between a and b:
// insertions, deletions, substitutions and swaps of neighbours, by rune.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}
