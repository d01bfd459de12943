package cli

import "flag"

// update makes golden-file tests rewrite their files: go test -update.
var update = flag.Bool("update", false, "rewrite golden files in testdata")
