#!/bin/bash
# lint.sh is `make lint`, and the first step of `make test`: formatting,
# a tidy go.mod (every module imported directly is a direct requirement),
# go vet, and golangci-lint at the version scripts/deps.sh pins, with the
# linters .golangci.yml lists and says why.
set -euo pipefail
cd "$(dirname "$0")/.."
GO="${GO:-go}"
unformatted=$(gofmt -l . | grep -v '^\.tools/' || true)
if [ -n "$unformatted" ]; then
	echo "lint: gofmt needed:" >&2
	echo "$unformatted" >&2
	exit 1
fi
if ! diff=$("$GO" mod tidy -diff 2>&1); then
	echo "lint: go.mod or go.sum is not tidy; run go mod tidy:" >&2
	echo "$diff" >&2
	exit 1
fi
"$GO" vet ./...
.tools/bin/golangci-lint run ./...
echo "lint: ok"
