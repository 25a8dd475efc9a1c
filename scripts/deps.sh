#!/bin/sh
# deps.sh installs what pscm's build, tests and demo need, only what is
# missing, so a second run takes seconds:
#   - Debian packages (apt-get): the MQTT broker, ffmpeg, Chromium for the
#     browser tests, promtool, the FFmpeg headers for the camera decoder, and
#     PostgreSQL for the case store's tests (its system cluster is not used:
#     tests run their own server on a free port);
#   - InfluxDB 1.8.10 built from source with `go install` into .tools/bin
#     (git-ignored), about 2 minutes the first time.
set -eu

cd "$(dirname "$0")/.."
TOOLS="$PWD/.tools/bin"

PACKAGES="mosquitto mosquitto-clients curl ffmpeg chromium fonts-noto-color-emoji prometheus libavcodec-dev libswscale-dev libavutil-dev pkg-config ca-certificates postgresql"

missing=""
for p in $PACKAGES; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done

if [ -n "$missing" ]; then
	echo "deps: installing Debian packages:$missing"
	if [ "$(id -u)" -eq 0 ]; then
		SUDO=""
	elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
		SUDO="sudo"
	else
		echo "deps: need root to install packages. Run:" >&2
		echo "  sudo apt-get update && sudo apt-get install -y --no-install-recommends$missing" >&2
		echo "then run make again." >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	$SUDO apt-get update -qq
	$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

# The Debian mosquitto package enables a system broker on 1883. pscm's tests
# and demo start their own brokers on free ports and never touch that one.

# go install leaves "version unknown" in the binary; its build info names the module version.
if ! go version -m "$TOOLS/influxd" 2>/dev/null | grep -Eq "^\s+mod\s+github.com/influxdata/influxdb\s+v1.8.10"; then
	echo "deps: building InfluxDB 1.8.10 into .tools/bin (about 2 minutes, once)"
	mkdir -p "$TOOLS"
	GOBIN="$TOOLS" GOFLAGS=-mod=mod go install github.com/influxdata/influxdb/cmd/influxd@v1.8.10
fi

# golangci-lint, pinned, for `make lint` (which `make test` runs).
GOLANGCI_VERSION=v2.15.0
if ! go version -m "$TOOLS/golangci-lint" 2>/dev/null | grep -Eq "^\s+mod\s+github.com/golangci/golangci-lint/v2\s+$GOLANGCI_VERSION"; then
	echo "deps: building golangci-lint $GOLANGCI_VERSION into .tools/bin (a few minutes, once)"
	mkdir -p "$TOOLS"
	GOBIN="$TOOLS" GOFLAGS=-mod=mod go install "github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$GOLANGCI_VERSION"
fi

# Telegraf, only for the benchmark that compares the collector with it
# (`make bench`, or `scripts/deps.sh telegraf`): not needed to run or test pscm.
if [ "${1:-}" = telegraf ] && ! go version -m "$TOOLS/telegraf" 2>/dev/null | grep -Eq "^\s+mod\s+github.com/influxdata/telegraf\s+v1.37.2"; then
	echo "deps: building Telegraf 1.37.2 into .tools/bin (about 2 minutes, once)"
	mkdir -p "$TOOLS"
	GOBIN="$TOOLS" GOFLAGS=-mod=mod go install github.com/influxdata/telegraf/cmd/telegraf@v1.37.2
fi

go mod download
echo "deps: ok"
