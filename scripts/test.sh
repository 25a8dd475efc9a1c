#!/bin/bash
# test.sh is `make test` after set-up: the linters (scripts/lint.sh), every test (unit, fuzz seeds,
# integration on real Mosquitto, InfluxDB, RTSP and Chromium) with -race,
# the whole-system fault suite, bounded fuzzing, then the secrets check:
# every password and token the tests registered (testenv.Secret) is looked
# for in every log the suite kept (servers', programs' and in-process logs)
# and in the tests' output.
#
# The fault suite (internal/faultsuite, about 10 minutes, mostly waiting
# out its outages) runs beside the other packages rather than after them,
# so the whole takes about as long as the longer of the two.
# PSCM_TEST_FAULTS=0 leaves it out (make test-faults runs it alone).
set -euo pipefail
cd "$(dirname "$0")/.."
GO="${GO:-go}"
OUT="$PWD/.cache/test-run"
rm -rf "$OUT"
mkdir -p "$OUT/logs"
export PSCM_TEST_SECRETS="$OUT/secrets" PSCM_TEST_LOGS="$OUT/logs"
began=$SECONDS

GO="$GO" ./scripts/lint.sh

FAULTS_PID=""
if [ "${PSCM_TEST_FAULTS:-1}" = 1 ]; then
	"$GO" test -c -race -o "$OUT/faultsuite.test" ./internal/faultsuite/
	# Its own process group, so that a failure elsewhere stops it and
	# everything it started.
	(cd internal/faultsuite && exec setsid "$OUT/faultsuite.test" -test.v -test.count=1 -test.timeout=30m \
		-test.run '^TestFaults$' >"$OUT/faults.out" 2>&1) &
	FAULTS_PID=$!
	trap '[ -n "$FAULTS_PID" ] && kill -TERM -- "-$FAULTS_PID" 2>/dev/null; true' EXIT
	echo "test: fault suite started (pid $FAULTS_PID, output in .cache/test-run/faults.out)"
fi

"$GO" test -race -count=1 -timeout "${TEST_TIMEOUT:-25m}" $("$GO" list ./... | grep -v /internal/faultsuite) 2>&1 | tee "$OUT/go-test.out"
FUZZTIME="${FUZZTIME:-5s}" ./scripts/fuzz.sh 2>&1 | tee "$OUT/fuzz.out"

if [ -n "$FAULTS_PID" ]; then
	echo "test: waiting for the fault suite"
	rc=0
	wait "$FAULTS_PID" || rc=$?
	FAULTS_PID=""
	# The scenario table and the verdict; the whole output on failure.
	awk '/scenario +generated/,/Total [0-9]/' "$OUT/faults.out"
	grep -E '^(--- |PASS|FAIL)' "$OUT/faults.out" || true
	if [ "$rc" -ne 0 ]; then
		tail -n 300 "$OUT/faults.out"
		echo "test: the fault suite FAILED (full output: .cache/test-run/faults.out)" >&2
		exit "$rc"
	fi
	echo "ok  	github.com/pscm/pscm/internal/faultsuite"
fi

extra=()
[ -f "$OUT/faults.out" ] && extra+=("$OUT/faults.out")
"$GO" run ./internal/tools/secretscan -secrets "$OUT/secrets" -logs "$OUT/logs" "$OUT/go-test.out" "$OUT/fuzz.out" "${extra[@]}"
echo "test: all passed in $(( (SECONDS - began) / 60 )) min $(( (SECONDS - began) % 60 )) s"
