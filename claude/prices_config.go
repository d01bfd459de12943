package claude

import (
	"fmt"
	"os"

	"github.com/authpool/authpool"
)

// PricesFor returns the price table a config asks for: DefaultPrices, with
// the entries of the price file cfg.Prices names, if any, in place of the
// built-in entries of the same models (an entry replaces the built-in entry
// of the same name, and those of the same model: claude-sonnet-4-5-20250929
// replaces claude-sonnet-4-5); the built-in entries of other models stay.
// Its fallback is the dearest model's with no deprecation date, as
// DefaultPrices'. The file is read now: a config read by
// configfile.Load names it by a path already resolved (and checked);
// a relative path of a config made in code is relative to the working
// directory.
func PricesFor(cfg authpool.Config) (*Prices, error) {
	p := DefaultPrices()
	if cfg.Prices == nil || cfg.Prices.File == "" {
		return p, nil
	}
	f, err := os.Open(cfg.Prices.File)
	if err != nil {
		return nil, fmt.Errorf("claude: price file: %w", err)
	}
	defer f.Close()
	entries, err := readPriceEntries(f)
	if err != nil {
		return nil, fmt.Errorf("claude: price file %s: %w", cfg.Prices.File, err)
	}
	p.overlay(entries)
	p.fallback = p.dearest()
	return p, nil
}
