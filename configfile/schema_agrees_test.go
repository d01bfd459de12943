package configfile

import (
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/authpool/authpool"
	"github.com/authpool/authpool/webhook"
)

// The rules of a config are Go's: authpool.Config's and webhook.Config's
// WithDefaults and Validate. The schema repeats their defaults, bounds and
// enums for editors; these tests fail when it says otherwise, so that a
// default or a bound changed in Go (or in the schema) cannot drift.

// schemaField is a field the schema describes: its JSON pointer in a config
// file (array items at index 0) and its schema, $ref resolved, with the
// keywords written beside the $ref ("default", "description") kept.
type schemaField struct {
	at     string
	schema map[string]any
}

// schemaFields walks the schema from its root.
func schemaFields(t *testing.T) []schemaField {
	t.Helper()
	cs, err := configSchema()
	if err != nil {
		t.Fatal(err)
	}
	doc := cs.doc.(map[string]any)
	var fields []schemaField
	var walk func(s map[string]any, at string)
	walk = func(s map[string]any, at string) {
		for s["$ref"] != nil {
			def := lookup(doc, pointerTokens(strings.TrimPrefix(s["$ref"].(string), "#"))).(map[string]any)
			merged := make(map[string]any, len(def)+len(s))
			for k, v := range def {
				merged[k] = v
			}
			for k, v := range s {
				if k != "$ref" {
					merged[k] = v
				}
			}
			s = merged
		}
		if at != "" {
			fields = append(fields, schemaField{at: at, schema: s})
		}
		props, _ := s["properties"].(map[string]any)
		for name, p := range props {
			if name != "$schema" {
				walk(p.(map[string]any), at+"/"+escapePointer(name))
			}
		}
		if items, ok := s["items"].(map[string]any); ok {
			walk(items, at+"/0")
		}
	}
	walk(doc, "")
	slices.SortFunc(fields, func(a, b schemaField) int { return comparePointers(a.at, b.at) })
	return fields
}

// setAt returns tree with v at the pointer's tokens, making the objects and
// arrays on the way (an array's earlier items empty objects).
func setAt(tree any, toks []string, v any) any {
	if len(toks) == 0 {
		return v
	}
	if i, err := strconv.Atoi(toks[0]); err == nil {
		arr, _ := tree.([]any)
		for len(arr) <= i {
			arr = append(arr, map[string]any{})
		}
		arr[i] = setAt(arr[i], toks[1:], v)
		return arr
	}
	m, _ := tree.(map[string]any)
	if m == nil {
		m = map[string]any{}
	}
	m[toks[0]] = setAt(m[toks[0]], toks[1:], v)
	return m
}

// effective decodes tree as Go does (without the schema) and returns what
// a pool would run with: the Config and the webhooks with their defaults
// applied, and the problems Go finds, by pointer.
func effective(tree any) (cfg authpool.Config, hooks []webhook.Config, srv Server, problems []string, err error) {
	js, err := json.Marshal(tree)
	if err != nil {
		return cfg, nil, srv, nil, err
	}
	var doc document
	if err := json.Unmarshal(js, &doc); err != nil {
		return cfg, nil, srv, nil, err
	}
	f := doc.file()
	for _, w := range f.Webhooks {
		hooks = append(hooks, w.WithDefaults())
	}
	for _, p := range f.problems() {
		at, _, _ := strings.Cut(p.Error(), ":")
		problems = append(problems, at)
	}
	return f.Config.WithDefaults(), hooks, f.Server.WithDefaults(), problems, nil
}

// TestSchemaDefaultsAreGos checks that every default the schema states
// means what leaving the field out means in Go: a config with the field set
// to the schema's default runs as one without it.
func TestSchemaDefaultsAreGos(t *testing.T) {
	// Defaults that Go applies elsewhere than WithDefaults, with where.
	elsewhere := map[string]string{
		"/callers/0/capWindow":   "package claude's proxy applies it (proxy.Caller)",
		"/callers/0/sessionless": `the empty Sessionless is SessionlessSticky`,
		"/fallback/name":         "the pool names the fallback's store record so",
	}
	for _, f := range schemaFields(t) {
		def, ok := f.schema["default"]
		if !ok || elsewhere[f.at] != "" {
			continue
		}
		toks := pointerTokens(f.at)
		parent := setAt(nil, toks[:len(toks)-1], map[string]any{})
		if _, isIndex := strconv.Atoi(toks[len(toks)-1]); isIndex == nil {
			parent = setAt(nil, toks[:len(toks)-1], []any{})
		}
		wantCfg, wantHooks, wantSrv, _, err := effective(parent)
		if err != nil {
			t.Fatalf("%s: %v", f.at, err)
		}
		gotCfg, gotHooks, gotSrv, _, err := effective(setAt(parent, toks, def))
		if err != nil {
			t.Errorf("%s: Go cannot decode the schema's default %v: %v", f.at, def, err)
			continue
		}
		if diff := cmp.Diff(wantCfg, gotCfg); diff != "" {
			t.Errorf("%s: the schema's default %v is not Go's (-left out +set to it):\n%s", f.at, def, diff)
		}
		if diff := cmp.Diff(wantHooks, gotHooks); diff != "" {
			t.Errorf("%s: the schema's default %v is not Go's (-left out +set to it):\n%s", f.at, def, diff)
		}
		if diff := cmp.Diff(wantSrv, gotSrv); diff != "" {
			t.Errorf("%s: the schema's default %v is not Go's (-left out +set to it):\n%s", f.at, def, diff)
		}
	}
}

// TestGoDefaultsAreInTheSchema checks the converse: every field that
// WithDefaults fills has a default in the schema.
func TestGoDefaultsAreInTheSchema(t *testing.T) {
	withDefaults := asDocument(File{Config: authpool.Config{}.WithDefaults(),
		Webhooks: []webhook.Config{webhook.Config{}.WithDefaults()}, Server: Server{}.WithDefaults()})
	zero := asDocument(File{Webhooks: []webhook.Config{{}}})
	var filled []string
	var diff func(a, b any, at string)
	diff = func(a, b any, at string) {
		switch a := a.(type) {
		case map[string]any:
			bm, _ := b.(map[string]any) // nil when left out
			for k := range a {
				diff(a[k], bm[k], at+"/"+k)
			}
			return
		case []any:
			if b, ok := b.([]any); ok && len(b) == len(a) {
				for i := range a {
					diff(a[i], b[i], at+"/"+strconv.Itoa(i))
				}
				return
			}
		}
		if !cmp.Equal(a, b) {
			filled = append(filled, at)
		}
	}
	diff(jsonTree(t, withDefaults), jsonTree(t, zero), "")
	if len(filled) < 10 {
		t.Fatalf("WithDefaults fills %d fields (%v): the comparison is broken", len(filled), filled)
	}
	hasDefault := map[string]bool{}
	for _, f := range schemaFields(t) {
		_, hasDefault[f.at] = f.schema["default"]
	}
	for _, at := range filled {
		if !hasDefault[at] {
			t.Errorf("%s: Go gives it a default; the schema states none", at)
		}
	}
}

func jsonTree(t *testing.T, v any) any {
	t.Helper()
	js, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var tree any
	if err := json.Unmarshal(js, &tree); err != nil {
		t.Fatal(err)
	}
	return tree
}

// TestSchemaBoundsAreGos checks each numeric bound of the schema against
// Go's checks: Go accepts the bound (or, when it is exclusive, the nearest
// number inside) in some config, and refuses the nearest number outside in
// every config, naming the field.
func TestSchemaBoundsAreGos(t *testing.T) {
	full := jsonTree(t, asDocument(fullFile()))
	contexts := func(at string, v any) []any {
		return []any{setAt(nil, pointerTokens(at), v), setAt(jsonTree(t, full), pointerTokens(at), v)}
	}
	goRefuses := func(tree any, at string) bool {
		_, _, _, problems, err := effective(tree)
		return err != nil || slices.Contains(problems, at)
	}
	checked := 0
	for _, f := range schemaFields(t) {
		step := func(x float64, up bool) float64 {
			if f.schema["type"] == "integer" {
				if up {
					return x + 1
				}
				return x - 1
			}
			return math.Nextafter(x, map[bool]float64{true: math.Inf(1), false: math.Inf(-1)}[up])
		}
		for _, b := range []struct {
			keyword string
			up      bool // outside is above
			strict  bool
		}{{"minimum", false, false}, {"exclusiveMinimum", false, true}, {"maximum", true, false}, {"exclusiveMaximum", true, true}} {
			n, ok := f.schema[b.keyword].(json.Number)
			if !ok {
				continue
			}
			bound, err := n.Float64()
			if err != nil {
				t.Fatal(err)
			}
			checked++
			inside, outside := bound, step(bound, b.up)
			if b.strict {
				inside, outside = step(bound, !b.up), bound
			}
			accepted := false
			for _, tree := range contexts(f.at, inside) {
				accepted = accepted || !goRefuses(tree, f.at)
			}
			if !accepted {
				t.Errorf("%s: the schema's %s %v allows %v; Go refuses it", f.at, b.keyword, bound, inside)
			}
			for _, tree := range contexts(f.at, outside) {
				if !goRefuses(tree, f.at) {
					t.Errorf("%s: the schema's %s %v refuses %v; Go accepts it", f.at, b.keyword, bound, outside)
					break
				}
			}
		}
	}
	if checked < 20 {
		t.Errorf("%d bounds checked: the walk is broken", checked)
	}
}

// TestSchemaEnumsAreGos checks that Go accepts each value of each enum of
// the schema, and refuses a value outside it.
func TestSchemaEnumsAreGos(t *testing.T) {
	checked := 0
	for _, f := range schemaFields(t) {
		vals, ok := f.schema["enum"].([]any)
		if !ok {
			continue
		}
		checked++
		for _, v := range append(slices.Clone(vals), "not-a-value") {
			_, _, _, problems, err := effective(setAt(nil, pointerTokens(f.at), v))
			refused := err != nil || slices.ContainsFunc(problems, func(p string) bool {
				return p == f.at || strings.HasPrefix(f.at, p+"/")
			})
			if want := v == "not-a-value"; refused != want {
				t.Errorf("%s: Go refuses %v: %t (%v, %v); want %t", f.at, v, refused, problems, err, want)
			}
		}
	}
	if checked < 5 {
		t.Errorf("%d enums checked: the walk is broken", checked)
	}
}
