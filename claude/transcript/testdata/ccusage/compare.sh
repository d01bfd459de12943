#!/usr/bin/env bash
# Compares package claude's transcript reports with ccusage 20.0.24's.
#
#   claude/transcript/testdata/ccusage/compare.sh [-u] [TREE...]
#
# It installs ccusage 20.0.24 from npm into a temporary directory (it runs
# with the machine's node), has the Go tests write this directory's cases'
# trees (the fixtures in testdata/transcripts and the generated trees),
# runs `ccusage claude blocks|daily|session|weekly|monthly --json --offline
# -z UTC` on each (daily in all three cost modes, blocks in auto and
# calculate), and
# runs TestTranscriptAgreement against what ccusage printed. Each TREE is a
# Claude configuration directory (holding projects/) compared as well.
#
# With -u the outputs of the fixture and generated cases replace the golden
# files here, which `go test ./claude/transcript/` checks without ccusage. Not run by
# CI: it needs npm and node.
set -euo pipefail

update=0
if [[ ${1:-} == -u ]]; then
	update=1
	shift
fi
here=$(cd "$(dirname "$0")" && pwd)
pkg=$(cd "$here/../.." && pwd)
tmp=$(mktemp -d)
[[ -n ${KEEP:-} ]] && echo "keeping $tmp" >&2 || trap 'rm -rf "$tmp"' EXIT

echo "installing ccusage@20.0.24 in $tmp" >&2
(cd "$tmp" && npm init -y >/dev/null && npm install --no-audit --no-fund --silent ccusage@20.0.24 >/dev/null)
ccusage="$tmp/node_modules/.bin/ccusage"
"$ccusage" --version >&2

now_ms() { node -e 'console.log(Date.now())'; }

# The generated active case ends a minute before now; ccusage must run a
# little later, in the same rounding of "remaining minutes".
echo "writing the trees" >&2
(cd "$pkg" && AUTHPOOL_TX_WRITE="$tmp" AUTHPOOL_TX_NOW="$(now_ms)" \
	go test -count=1 -run '^TestTranscriptWriteTrees$' . >/dev/null)

i=0
for tree in "$@"; do
	i=$((i + 1))
	mkdir -p "$tmp/out/tree-$i"
	printf '{"tree": "%s"}\n' "$(cd "$tree" && pwd)" >"$tmp/out/tree-$i/case.json"
	ln -s "$(cd "$tree" && pwd)" "$tmp/trees/tree-$i"
done

run() { # case command mode file
	HOME="$tmp/home" TZ=UTC CLAUDE_CONFIG_DIR="$tmp/trees/$1" \
		"$ccusage" claude "$2" --json --offline -z UTC --mode "$3" >"$tmp/out/$1/$4"
}
mkdir -p "$tmp/home"
for dir in "$tmp"/out/*/; do
	c=$(basename "$dir")
	# Wait for the first 20 seconds of a minute, so that ccusage and the
	# recorded time round the active block's remaining minutes alike.
	while (($(now_ms) / 1000 % 60 > 20)); do sleep 1; done
	node -e 'console.log(new Date().toISOString())' >"$dir/now"
	run "$c" blocks auto blocks.json
	run "$c" blocks calculate blocks-calculate.json
	run "$c" daily auto daily.json
	run "$c" daily calculate daily-calculate.json
	run "$c" daily display daily-display.json
	run "$c" session auto session.json
	run "$c" weekly auto weekly.json
	run "$c" monthly auto monthly.json
	echo "ran ccusage on $c" >&2
done

status=0
(cd "$pkg" && AUTHPOOL_TX_CCUSAGE="$tmp/out" go test -count=1 -run '^TestTranscriptAgreement$' -v .) || status=$?

if ((update)); then
	for dir in "$tmp"/out/*/; do
		c=$(basename "$dir")
		[[ $c == tree-* ]] && continue
		rm -rf "${here:?}/$c"
		cp -r "$dir" "$here/$c"
		echo "updated $here/$c" >&2
	done
fi
exit $status
