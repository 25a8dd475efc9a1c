#!/bin/bash
# test.sh is `make test` after set-up: go vet, every test (unit, fuzz seeds,
# integration on real Mosquitto, InfluxDB, RTSP and Chromium) with -race,
# bounded fuzzing, then the secrets check: every password and token the
# tests registered (testenv.Secret) is looked for in every log the suite
# kept (servers', programs' and in-process logs) and in go test's output.
set -euo pipefail
cd "$(dirname "$0")/.."
GO="${GO:-go}"
OUT="$PWD/.cache/test-run"
rm -rf "$OUT"
mkdir -p "$OUT/logs"
export PSCM_TEST_SECRETS="$OUT/secrets" PSCM_TEST_LOGS="$OUT/logs"

"$GO" vet ./...
# The fault suite runs alone (make test-faults): it takes about 10 minutes.
"$GO" test -race -count=1 -timeout "${TEST_TIMEOUT:-25m}" $("$GO" list ./... | grep -v /internal/faultsuite) 2>&1 | tee "$OUT/go-test.out"
FUZZTIME="${FUZZTIME:-5s}" ./scripts/fuzz.sh 2>&1 | tee "$OUT/fuzz.out"
"$GO" run ./internal/tools/secretscan -secrets "$OUT/secrets" -logs "$OUT/logs" "$OUT/go-test.out" "$OUT/fuzz.out"
