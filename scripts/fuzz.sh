#!/usr/bin/env bash
# fuzz.sh runs every fuzz target of the module for a bounded time each
# (FUZZTIME, default 5s), one after the other: `make test` runs it after the
# tests, so CI fuzzes every decoder of outside bytes on every change. A
# crasher makes the run fail and is left by Go in the package's
# testdata/fuzz/FuzzName/ directory: commit it, and it becomes a regression
# case that every later `go test` replays.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${FUZZTIME:-5s}
out=$(mktemp)
trap 'rm -f "$out"' EXIT
targets=$(grep -rl --include='*_test.go' '^func Fuzz' . | sort)
[ -n "$targets" ] || { echo "fuzz: no fuzz targets found" >&2; exit 1; }
n=0
for f in $targets; do
	pkg=./$(dirname "${f#./}")
	for name in $(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' "$f"); do
		echo "fuzz: $pkg $name for $fuzztime"
		# -parallel 1: the machine's cores belong to the whole suite.
		go test -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" -parallel 1 "$pkg" >"$out" 2>&1 || {
			cat "$out"
			echo "fuzz: $pkg $name FAILED; the crasher is in $pkg/testdata/fuzz/$name/ — fix the bug and commit it as a regression case" >&2
			exit 1
		}
		n=$((n + 1))
	done
done
echo "fuzz: $n targets, $fuzztime each, no crasher"
