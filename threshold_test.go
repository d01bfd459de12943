package authpool_test

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"strings"
	"testing"

	"github.com/authpool/authpool"
)

// TestWeeklyThresholdIsAtOrAbove: a subscription that has used 84.99 % of
// its week takes new clients; at exactly 85.00 % it takes none while
// another can, and one only as a last resort.
func TestWeeklyThresholdIsAtOrAbove(t *testing.T) {
	clk := newClock(t0)
	p := newPool(t, subs(sub("s-a", budgets(100, 0))), clk)
	allocate(t, p, "alice")
	spend(t, p, clk, "alice", 84.99)
	if a := allocate(t, p, "bob"); a.OverThreshold || a.SubscriptionID != "s-a" {
		t.Errorf("at 84.99 %%: Allocate(bob) = %+v, want s-a, under the threshold", a)
	}
	if st := status(t, snapshot(t, p), "s-a"); !st.Eligible {
		t.Errorf("at 84.99 %%: s-a is not eligible (%s)", st.Ineligible)
	}
	spend(t, p, clk, "alice", 0.01) // exactly $85.00 of $100
	if a := allocate(t, p, "carol"); !a.OverThreshold || a.SubscriptionID != "s-a" {
		t.Errorf("at 85.00 %%: Allocate(carol) = %+v, want s-a as a last resort (OverThreshold)", a)
	}
	if st := status(t, snapshot(t, p), "s-a"); st.Eligible || st.Ineligible != authpool.ReasonWeeklyThreshold {
		t.Errorf("at 85.00 %%: s-a eligible %v (%q), want ineligible: %q", st.Eligible, st.Ineligible, authpool.ReasonWeeklyThreshold)
	}
}

// TestWeeklyThresholdWordsSayAtOrAbove: the field's documentation, the
// config schema and the configuration reference say what the pool does.
func TestWeeklyThresholdWordsSayAtOrAbove(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "config.go", nil, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	var fieldDoc string
	ast.Inspect(f, func(n ast.Node) bool {
		if field, ok := n.(*ast.Field); ok && len(field.Names) == 1 && field.Names[0].Name == "WeeklyThreshold" {
			fieldDoc = field.Doc.Text()
		}
		return true
	})
	schema, err := os.ReadFile("configfile/config.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Properties map[string]struct {
			Description string `json:"description"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(schema, &doc); err != nil {
		t.Fatal(err)
	}
	reference, err := os.ReadFile("docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	var row string
	for line := range strings.Lines(string(reference)) {
		if strings.HasPrefix(line, "| `weeklyThreshold`") {
			row = line
		}
	}
	for where, text := range map[string]string{
		"Config.WeeklyThreshold's doc":                fieldDoc,
		"configfile/config.schema.json's description": doc.Properties["weeklyThreshold"].Description,
		"docs/configuration.md's weeklyThreshold":     row,
	} {
		if !strings.Contains(text, "at or above") {
			t.Errorf("%s does not say \"at or above\": %q", where, text)
		}
	}
}
