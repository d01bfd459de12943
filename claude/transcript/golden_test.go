package transcript

import "flag"

var update = flag.Bool("update", false, "rewrite golden files in testdata")

// model is the model the tests' transcripts name.
const model = "claude-sonnet-4-5-20250929"
