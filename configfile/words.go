package configfile

import (
	"encoding/json"
	"fmt"
	"strings"
)

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
