//go:build race

package e2e_test

// raceBuild says whether this test runs under the race detector: the
// command it builds then has it too.
const raceBuild = true
