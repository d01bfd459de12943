package redisstore

// keys names the Redis keys of one pool (the layout is in the package
// documentation). Every name starts with "{prefix}:", so the whole pool
// shares one hash tag and lies in one Redis Cluster slot. The scripts build
// the same names from the prefix (lua/lib.lua); the two must agree.
type keys struct {
	name   string // the prefix as given
	prefix string // "{" + name + "}:"
}

func newKeys(name string) keys { return keys{name: name, prefix: "{" + name + "}:"} }

func (k keys) subs() string                 { return k.prefix + "subs" }
func (k keys) sub(id string) string         { return k.prefix + "sub:" + id }
func (k keys) session(client string) string { return k.prefix + "s:" + client }
func (k keys) active() string               { return k.prefix + "a" }
func (k keys) activeOf(id string) string    { return k.prefix + "a:" + id }
func (k keys) claim(key string) string      { return k.prefix + "claim:" + key }

func (k keys) callers() string         { return k.prefix + "callers" }
func (k keys) caller(id string) string { return k.prefix + "caller:" + id }
func (k keys) callerKeys() string      { return k.prefix + "ckeys" }
