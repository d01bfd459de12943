package claude

import (
	"fmt"
	"os"
)

// PricesWithFile returns DefaultPrices with the entries of the price file
// at path, if path is not "", in place of the built-in entries of the same
// models (an entry replaces the built-in entry
// of the same name, and those of the same model: claude-sonnet-4-5-20250929
// replaces claude-sonnet-4-5); the built-in entries of other models stay.
// Its fallback is the dearest model's with no deprecation date, as
// DefaultPrices'. The file is read now. A config file's "prices" names one
// (configfile.File.PriceFile, resolved relative to the config file and
// checked).
func PricesWithFile(path string) (*Prices, error) {
	p := DefaultPrices()
	if path == "" {
		return p, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("claude: price file: %w", err)
	}
	defer f.Close()
	entries, err := readPriceEntries(f)
	if err != nil {
		return nil, fmt.Errorf("claude: price file %s: %w", path, err)
	}
	p.overlay(entries)
	p.fallback = p.dearest()
	return p, nil
}
