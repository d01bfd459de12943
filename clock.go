package authpool

import "time"

// Now returns the time on the pool's clock (WithClock; time.Now by
// default). Code that records usages or verdicts for the pool (the claude
// packages' Transport and Runner) reads its time here by default, so that a
// pool on a test or simulated clock sees their times on the same clock.
func (p *Pool) Now() time.Time { return p.now() }
