package claude

import (
	"strconv"
	"strings"
)

// This file takes model ids apart: the ids clients send (claude-opus-4-6,
// claude-opus-4-6[1m], claude-sonnet-4-5-20250929,
// us.anthropic.claude-sonnet-4-5-20250929-v1:0, vertex_ai/claude-opus-4-5@20251101,
// claude-3-5-sonnet-20241022, ...) name a model by its family and version,
// which the price table matches (docs/prices.md, "Matching").

// Model families: an unknown model of one of these is priced as the
// family's newest model in the table.
var modelFamilies = []string{"opus", "sonnet", "haiku", "fable", "mythos"}

// Bedrock's region prefixes (us.anthropic.claude-...): a regional
// endpoint may cost more than the global one.
var modelRegions = []string{"us", "eu", "apac", "jp", "au", "global"}

// modelID is a model id taken apart.
type modelID struct {
	// bare is the id lowercased, without a [...] suffix (Claude Code's
	// [1m]), a provider path (anthropic/, bedrock/, openrouter/anthropic/)
	// or -fast: what the table's keys are matched against first.
	bare string
	// region is Bedrock's region prefix, "" for none.
	region string
	// family is one of modelFamilies, "" for a model of none.
	family string
	// major and minor are the version (claude-opus-4-6: 4, 6); major is
	// -1 when the id has none, minor 0 when it has a major only.
	major, minor int
	// extra is what follows the version, "" for nothing: a variant the
	// table prices only if it names it.
	extra string
	// name is the model without region, date or provider decoration:
	// claude-opus-4-6, claude-3-5-sonnet, or, for a model of no family, the
	// id so stripped.
	name string
	// fast reports an id ending in -fast (fast mode).
	fast bool
}

// key is the model as the table's index files it: name, with the region.
func (m modelID) key() string {
	if m.region == "" {
		return m.name
	}
	return m.region + "." + m.name
}

// canonical is the id's canonical form: key, and -fast. Parsing it gives
// the same model.
func (m modelID) canonical() string {
	if m.fast {
		return m.key() + "-fast"
	}
	return m.key()
}

// parseModel takes a model id apart. It never fails: an id of no family
// is its stripped self.
func parseModel(id string) modelID {
	s := strings.TrimSpace(strings.ToLower(id))
	for strings.HasSuffix(s, "]") {
		i := strings.LastIndexByte(s, '[')
		if i < 0 {
			break
		}
		s = strings.TrimSpace(s[:i])
	}
	if i := strings.LastIndexByte(s, '/'); i >= 0 {
		s = strings.TrimSpace(s[i+1:])
	}
	var m modelID
	m.bare = strings.TrimSuffix(s, "-fast")
	for _, r := range modelRegions {
		if rest, ok := strings.CutPrefix(s, r+"."); ok {
			m.region, s = r, rest
			break
		}
	}
	s = strings.TrimPrefix(s, "anthropic.")
	s = strings.ReplaceAll(s, ".", "-") // claude-sonnet-4.5, claude-3.5-sonnet
	s, m.fast = stripModelSuffixes(s)
	m.name = s
	m.major, m.minor = -1, 0
	if rest, ok := strings.CutPrefix(s, "claude-"); ok {
		m.family, m.major, m.minor, m.extra = parseClaudeName(rest)
		if m.family != "" {
			m.name = claudeName(m.family, m.major, m.minor, m.extra)
		} else {
			m.major, m.minor, m.extra = -1, 0, ""
		}
	}
	return m
}

// stripModelSuffixes removes, from the end, what providers add to an id:
// -fast (reported), -latest, a Bedrock version (:0, -v1), a Vertex date
// (@20251101, or anything after @) and a date (-20251101).
func stripModelSuffixes(s string) (string, bool) {
	fast := false
	for {
		s = strings.TrimSpace(s)
		switch {
		case strings.HasSuffix(s, "-fast"):
			s, fast = strings.TrimSuffix(s, "-fast"), true
		case strings.HasSuffix(s, "-latest"):
			s = strings.TrimSuffix(s, "-latest")
		case strings.IndexByte(s, '@') >= 0:
			s = s[:strings.IndexByte(s, '@')]
		case digitsSuffix(s, ":", 1, 3) > 0:
			s = s[:len(s)-digitsSuffix(s, ":", 1, 3)]
		case digitsSuffix(s, "-v", 1, 3) > 0:
			s = s[:len(s)-digitsSuffix(s, "-v", 1, 3)]
		case digitsSuffix(s, "-", 8, 8) > 0:
			s = s[:len(s)-digitsSuffix(s, "-", 8, 8)]
		default:
			return s, fast
		}
	}
}

// digitsSuffix returns the length of a suffix of s that is sep and from
// min to max digits, or 0.
func digitsSuffix(s, sep string, min, max int) int {
	n := 0
	for n < len(s) && n <= max && '0' <= s[len(s)-1-n] && s[len(s)-1-n] <= '9' {
		n++
	}
	if n < min || n > max || !strings.HasSuffix(s[:len(s)-n], sep) {
		return 0
	}
	return n + len(sep)
}

// parseClaudeName reads what follows "claude-": a family and its version,
// in either order (opus-4-6, 3-5-sonnet), then anything else (extra). A
// version is one or two numbers of one or two digits. It returns family ""
// for a name of no family.
func parseClaudeName(s string) (family string, major, minor int, extra string) {
	segs := strings.Split(s, "-")
	isFamily := func(seg string) bool {
		for _, f := range modelFamilies {
			if seg == f {
				return true
			}
		}
		return false
	}
	version := func(segs []string) (nums []int) {
		for _, seg := range segs {
			if len(nums) == 2 || len(seg) == 0 || len(seg) > 2 || strings.Trim(seg, "0123456789") != "" {
				break
			}
			n, _ := strconv.Atoi(seg)
			nums = append(nums, n)
		}
		return nums
	}
	var nums []int
	var rest []string
	switch {
	case isFamily(segs[0]): // claude-opus-4-6
		family = segs[0]
		nums = version(segs[1:])
		rest = segs[1+len(nums):]
	default: // claude-3-5-sonnet
		nums = version(segs)
		if len(nums) == 0 || len(nums) == len(segs) || !isFamily(segs[len(nums)]) {
			return "", -1, 0, ""
		}
		family = segs[len(nums)]
		rest = segs[len(nums)+1:]
	}
	major, minor = -1, 0
	if len(nums) > 0 {
		major = nums[0]
	}
	if len(nums) > 1 {
		minor = nums[1]
	}
	return family, major, minor, strings.Join(rest, "-")
}

// claudeName writes a Claude model's name: claude-<family>-<major>-<minor>
// from Claude 4 on, claude-<major>-<minor>-<family> before; a minor
// version of 0 is left out unless a number follows it.
func claudeName(family string, major, minor int, extra string) string {
	var b strings.Builder
	b.WriteString("claude-")
	version := func() {
		b.WriteString(strconv.Itoa(major))
		first, _, _ := strings.Cut(extra, "-")
		if minor != 0 || (major > 3 && first != "" && len(first) <= 2 && strings.Trim(first, "0123456789") == "") {
			b.WriteString("-" + strconv.Itoa(minor))
		}
	}
	switch {
	case major < 0:
		b.WriteString(family)
	case major <= 3:
		version()
		b.WriteString("-" + family)
	default:
		b.WriteString(family + "-")
		version()
	}
	if extra != "" {
		b.WriteString("-" + extra)
	}
	return b.String()
}
