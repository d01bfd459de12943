package proxy

// FlushRefusals logs the refusals the proxy counted and has not logged yet,
// as its timer does an interval after the first it counted.
func (p *Proxy) FlushRefusals() { p.refusals.flush() }
