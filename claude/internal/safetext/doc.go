// Package safetext makes text that came from elsewhere (an upstream's
// error message, a CLI's output) safe to log, to give the pool as a reason
// and to return to a caller: a Redactor takes secrets out of it, Clip
// bounds it. Packages claude, claude/proxy, claude/cli and claude/oauth
// share it.
package safetext
