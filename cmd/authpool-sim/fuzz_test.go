package main

import (
	"slices"
	"testing"
)

// FuzzParseLists feeds any text to -sizes and -seeds: each is an error, or
// a sorted list without repeats within its bounds (sizes 1 to 1000, at most
// 1000 seeds).
func FuzzParseLists(f *testing.F) {
	for _, s := range []string{"1-10", "3,5-8", "0", "8-3", "1-5,9", "", ",", "-", "18446744073709551615", "1-18446744073709551615"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if sizes, err := parseSizes(s); err == nil {
			if len(sizes) == 0 || !slices.IsSorted(sizes) || len(slices.Compact(slices.Clone(sizes))) != len(sizes) ||
				sizes[0] < 1 || sizes[len(sizes)-1] > 1000 {
				t.Errorf("parseSizes(%q) = %v", s, sizes)
			}
		}
		if seeds, err := parseSeeds(s); err == nil {
			if len(seeds) == 0 || len(seeds) > 1000 || !slices.IsSorted(seeds) || len(slices.Compact(slices.Clone(seeds))) != len(seeds) {
				t.Errorf("parseSeeds(%q) = %v", s, seeds)
			}
		}
	})
}
