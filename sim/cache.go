package sim

import "time"

// promptCache is a session's prompt caches, as the accounts that served it
// hold them: a prompt cache belongs to an account, so a session that
// leaves an account and comes back within the cache's life finds there
// the prefix it left, and writes only what it added elsewhere since.
type promptCache struct {
	// last is the account that served the session's previous request, at.
	last string
	at   time.Time
	// cached are, for each account that served the session, the tokens it
	// left cached there and when it last touched them.
	cached []cachedPrefix
}

type cachedPrefix struct {
	account string
	tokens  int64
	at      time.Time
}

// follows says whether a request at now follows the session's previous
// served request within ttl: its cache is warm on that request's account.
func (c *promptCache) follows(now time.Time, ttl time.Duration) bool {
	return c.last != "" && now.Sub(c.at) < ttl
}

// rewrite returns the tokens of a context of ctx tokens that a request at
// now on account writes to its cache rather than reads: none when it
// follows its session's previous request on the same account, or comes
// after the cache went cold everywhere (every policy then writes it);
// else what of the context the account does not hold warm.
func (c *promptCache) rewrite(account string, ctx int64, now time.Time, ttl time.Duration) int64 {
	if !c.follows(now, ttl) || account == c.last {
		return 0
	}
	for _, p := range c.cached {
		if p.account == account && now.Sub(p.at) < ttl {
			return max(ctx-p.tokens, 0)
		}
	}
	return ctx
}

// served notes that account served the session's request at now, leaving
// after tokens cached there: the context its next request reads.
func (c *promptCache) served(account string, after int64, now time.Time) {
	c.last, c.at = account, now
	for i := range c.cached {
		if c.cached[i].account == account {
			c.cached[i].tokens, c.cached[i].at = after, now
			return
		}
	}
	c.cached = append(c.cached, cachedPrefix{account: account, tokens: after, at: now})
}
