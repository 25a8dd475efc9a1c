#!/bin/bash
# demo.sh runs pscm on a simulated center: its own Mosquitto and InfluxDB on
# loopback ports under .demo/, the collector, and the simulator publishing a
# center's day at 60x speed. Ctrl-C stops everything this script started (by
# PID) and nothing else. Ports can be changed with the environment variables
# below.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
DEMO="$ROOT/.demo"
MQTT_PORT="${PSCM_DEMO_MQTT_PORT:-11883}"
INFLUX_PORT="${PSCM_DEMO_INFLUX_PORT:-18086}"
INFLUX_RPC_PORT="${PSCM_DEMO_INFLUX_RPC_PORT:-18088}"
COLLECTOR_PORT="${PSCM_DEMO_COLLECTOR_PORT:-19481}"
LOCAL_MQTT_PORT="${PSCM_DEMO_LOCAL_MQTT_PORT:-11884}"
AGENT_PORT="${PSCM_DEMO_AGENT_PORT:-18480}"
AGENT_ADMIN_PORT="${PSCM_DEMO_AGENT_ADMIN_PORT:-18481}"
DASHBOARD_PORT="${PSCM_DEMO_DASHBOARD_PORT:-18490}"
DASHBOARD_ADMIN_PORT="${PSCM_DEMO_DASHBOARD_ADMIN_PORT:-18491}"
RTSP_PORT="${PSCM_DEMO_RTSP_PORT:-18554}"
SPEED="${PSCM_DEMO_SPEED:-300}"
MOSQUITTO="$(command -v mosquitto || echo /usr/sbin/mosquitto)"

for port in "$MQTT_PORT" "$INFLUX_PORT" "$INFLUX_RPC_PORT" "$COLLECTOR_PORT" "$LOCAL_MQTT_PORT" "$AGENT_PORT" "$AGENT_ADMIN_PORT" "$DASHBOARD_PORT" "$DASHBOARD_ADMIN_PORT" "$RTSP_PORT"; do
	if (echo > "/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
		echo "demo: port $port is in use; set PSCM_DEMO_*_PORT (see scripts/demo.sh)" >&2
		exit 1
	fi
done

mkdir -p "$DEMO/dashboard-state" "$DEMO/mosquitto" "$DEMO/local-mosquitto" "$DEMO/influxdb" "$DEMO/logs" "$DEMO/secrets"
chmod 700 "$DEMO/secrets"
PIDS=""
cleanup() {
	trap - INT TERM EXIT
	echo
	echo "demo: stopping"
	# Reverse start order: the simulator and the collector finish their
	# last publishes and writes while the broker and InfluxDB still run.
	for pid in $(echo $PIDS | tr ' ' '\n' | tac); do
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	echo "demo: stopped (data kept in .demo/; make clean removes it)"
}
trap cleanup INT TERM EXIT

cat > "$DEMO/mosquitto/mosquitto.conf" <<CONF
# Demo broker: loopback only, anonymous. Queue settings as in configs/mosquitto.
listener $MQTT_PORT 127.0.0.1
allow_anonymous true
persistence true
persistence_location $DEMO/mosquitto/
autosave_interval 10
max_queued_messages 0
max_queued_bytes 0
max_inflight_messages 20000
max_packet_size 65536
log_dest file $DEMO/logs/mosquitto.log
$( [ "$(id -u)" -eq 0 ] && echo "user root" )
CONF
"$MOSQUITTO" -c "$DEMO/mosquitto/mosquitto.conf" >>"$DEMO/logs/mosquitto.log" 2>&1 &
PIDS="$PIDS $!"

# The center's own broker: hardware buttons publish presses here for the agent.
# Sessions, queues and persistence as shipped in configs/mosquitto/center.conf
# (saved on every change, so a restart keeps the agent's session and the
# presses queued for it); the listener, paths and users are the demo's: one
# loopback listener, anonymous and without TLS, because nothing but this
# machine can reach it (a center's broker has users, the ACL and TLS).
CENTER_SETTINGS=$(grep -E '^(persistence|autosave_interval|autosave_on_changes|persistent_client_expiration|max_queued_messages|max_queued_bytes|queue_qos0_messages|max_inflight_messages|max_packet_size) ' \
	"$ROOT/configs/mosquitto/center.conf")
cat > "$DEMO/local-mosquitto/mosquitto.conf" <<CONF
listener $LOCAL_MQTT_PORT 127.0.0.1
allow_anonymous true
$CENTER_SETTINGS
persistence_location $DEMO/local-mosquitto/
log_dest file $DEMO/logs/local-mosquitto.log
$( [ "$(id -u)" -eq 0 ] && echo "user root" )
CONF
"$MOSQUITTO" -c "$DEMO/local-mosquitto/mosquitto.conf" >>"$DEMO/logs/local-mosquitto.log" 2>&1 &
PIDS="$PIDS $!"

cat > "$DEMO/influxdb/influxdb.conf" <<CONF
reporting-disabled = true
bind-address = "127.0.0.1:$INFLUX_RPC_PORT"
[meta]
  dir = "$DEMO/influxdb/meta"
[data]
  dir = "$DEMO/influxdb/data"
  wal-dir = "$DEMO/influxdb/wal"
  query-log-enabled = false
[monitor]
  store-enabled = false
[http]
  bind-address = "127.0.0.1:$INFLUX_PORT"
  log-enabled = false
  flux-enabled = true
[logging]
  level = "warn"
CONF
"$ROOT/.tools/bin/influxd" run -config "$DEMO/influxdb/influxdb.conf" >>"$DEMO/logs/influxd.log" 2>&1 &
PIDS="$PIDS $!"

printf "demo: waiting for InfluxDB"
i=0
until curl -sf "http://127.0.0.1:$INFLUX_PORT/ping" >/dev/null; do
	i=$((i + 1))
	if [ "$i" -gt 120 ]; then echo; echo "demo: InfluxDB did not start; see .demo/logs/influxd.log" >&2; exit 1; fi
	printf "."; sleep 0.5
done
echo
curl -sf -XPOST "http://127.0.0.1:$INFLUX_PORT/query" --data-urlencode "q=CREATE DATABASE pscm" >/dev/null
curl -sf -XPOST "http://127.0.0.1:$INFLUX_PORT/query" --data-urlencode "q=CREATE DATABASE pscm_rollup" >/dev/null

# A year of history before today, so every tab, chart, budget and the
# preselected report have something to say: the simulated center living a
# story (busy before Tết, quiet in it, a bad month, weeks of late dossiers,
# a day a camera was down), written straight to InfluxDB in a few seconds.
# Once a day: the marker skips it when it is already there, and a new day
# replaces the window (yesterday's live day included) with the year ending
# where today's live simulation begins.
echo "demo: writing a year of history (once a day, a few seconds)"
"$ROOT/bin/pscm-sim" -mode backfill -influx "http://127.0.0.1:$INFLUX_PORT" -db pscm/autogen -site anlao -counters 8 -seed 1 \
	-days 365 -replace -marker "$DEMO/backfill.done" >>"$DEMO/logs/sim-backfill.log" 2>&1 ||
	{ echo "demo: the history could not be written; see .demo/logs/sim-backfill.log" >&2; exit 1; }

cat > "$DEMO/collector.yml" <<CONF
mqtt:
  broker: tcp://127.0.0.1:$MQTT_PORT
  client_id: pscm-collector-demo
influxdb:
  url: http://127.0.0.1:$INFLUX_PORT
  bucket: pscm/autogen
http:
  listen: 127.0.0.1:$COLLECTOR_PORT
CONF
"$ROOT/bin/pscm-collector" -config "$DEMO/collector.yml" >>"$DEMO/logs/collector.log" 2>&1 &
PIDS="$PIDS $!"

# The agent: kiosk pages, hardware presses from the center's broker, spool,
# uplink to the central broker. Demo tokens are made once and kept.
KIOSKS=""
for i in 1 2 3 4 5 6 7 8; do
	tok="$DEMO/secrets/k0$i.token"
	[ -s "$tok" ] || head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$tok"
	KIOSKS="$KIOSKS
  - id: k0$i
    counter: c0$i
    counter_name_vi: \"Quầy $i\"
    counter_name_en: \"Counter $i\"
    token: {file: $tok}"
done
# Two IP cameras over RTSP (Digest auth) watching counters 9 and 10: real
# H.264 of a generated counter scene, made with ffmpeg the first time.
[ -s "$DEMO/secrets/camera.pass" ] || head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$DEMO/secrets/camera.pass"
[ -s "$DEMO/secrets/calibration.pass" ] || echo "calib-$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')" > "$DEMO/secrets/calibration.pass"
rm -f "$DEMO/cameras.yml"
"$ROOT/bin/pscm-sim" -mode cameras -cameras 2 -first-counter 9 -rtsp-listen "127.0.0.1:$RTSP_PORT" \
	-rtsp-user demo -rtsp-password-file "$DEMO/secrets/camera.pass" -agent-yaml "$DEMO/cameras.yml" \
	>>"$DEMO/logs/sim-cameras.log" 2>&1 &
CAMERAS_PID=$!
PIDS="$PIDS $CAMERAS_PID"
printf "demo: preparing the simulated cameras (the first run encodes the clip with ffmpeg, about a minute)"
i=0
until [ -s "$DEMO/cameras.yml" ]; do
	i=$((i + 1))
	if ! kill -0 "$CAMERAS_PID" 2>/dev/null || [ "$i" -gt 600 ]; then
		echo; echo "demo: the simulated cameras did not start; see .demo/logs/sim-cameras.log" >&2; exit 1
	fi
	printf "."; sleep 0.5
done
echo

# The kiosks' feedback goes to the dashboard's case desk with the site's
# intake token (made once).
[ -s "$DEMO/secrets/intake.token" ] || head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$DEMO/secrets/intake.token"

cat > "$DEMO/agent.yml" <<CONF
site: anlao
agent: anlao-edge-1
uplink:
  broker: tcp://127.0.0.1:$MQTT_PORT
local:
  enabled: true
  mqtt:
    broker: tcp://127.0.0.1:$LOCAL_MQTT_PORT
http:
  listen: 127.0.0.1:$AGENT_PORT      # loopback: plain HTTP is allowed; on the LAN it is HTTPS
admin:
  listen: 127.0.0.1:$AGENT_ADMIN_PORT
spool:
  dir: $DEMO/spool
kiosks:$KIOSKS
queue:
  services: [ho-tich, chung-thuc, dat-dai, kinh-doanh]
$(cat "$DEMO/cameras.yml")
camera:
  calibration:
    enabled: true
    password: {file: $DEMO/secrets/calibration.pass}
cases:
  enabled: true
  dashboard: http://127.0.0.1:$DASHBOARD_PORT/api/intake
  token: {file: $DEMO/secrets/intake.token}
  public_url: http://127.0.0.1:$DASHBOARD_PORT/tra-cuu
CONF
"$ROOT/bin/pscm-agent" -config "$DEMO/agent.yml" >>"$DEMO/logs/agent.log" 2>&1 &
PIDS="$PIDS $!"

# Today: the center's day (or the latest working day's) fast-forwarded to
# now, then live. Queue, sessions and dossiers go straight to the central
# broker; each citizen who rates presses their counter's hardware button on
# the center's broker, and the agent makes the press a rating, so there are
# never more ratings than sessions.
"$ROOT/bin/pscm-sim" -broker "tcp://127.0.0.1:$MQTT_PORT" -buttons-broker "tcp://127.0.0.1:$LOCAL_MQTT_PORT" \
	-site anlao -counters 8 -speed "$SPEED" -seed 1 >>"$DEMO/logs/sim.log" 2>&1 &
PIDS="$PIDS $!"
# The dashboard, with a demo manager (password made once, kept in .demo/secrets).
[ -s "$DEMO/secrets/demo.pass" ] || echo "demo-$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')" > "$DEMO/secrets/demo.pass"
[ -s "$DEMO/secrets/session.key" ] || head -c 48 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$DEMO/secrets/session.key"
HASH=$("$ROOT/bin/pscm-dashboard" -hash-password < "$DEMO/secrets/demo.pass")
cat > "$DEMO/secrets/users.yml" <<CONF
users:
  - name: demo
    hash: "$HASH"
    role: manager
    sites: [anlao]
    display_name: "Lãnh đạo trung tâm (demo)"
CONF
chmod 600 "$DEMO/secrets/users.yml"
COUNTERS=""
for i in 1 2 3 4 5 6 7 8; do
	COUNTERS="$COUNTERS
      - {id: c0$i, name_vi: \"Quầy $i\", name_en: \"Counter $i\"}"
done
for i in 09 10; do
	COUNTERS="$COUNTERS
      - {id: c$i, name_vi: \"Quầy $((10#$i)) (camera)\", name_en: \"Counter $((10#$i)) (camera)\"}"
done
cat > "$DEMO/dashboard.yml" <<CONF
http:
  listen: 127.0.0.1:$DASHBOARD_PORT
admin:
  listen: 127.0.0.1:$DASHBOARD_ADMIN_PORT
influxdb:
  url: http://127.0.0.1:$INFLUX_PORT
  bucket: pscm/autogen
  rollup_bucket: pscm_rollup
mqtt:
  broker: tcp://127.0.0.1:$MQTT_PORT
  client_id: pscm-dashboard-demo
sites:
  - id: anlao
    name: "Trung tâm Phục vụ hành chính công xã An Lão (mô phỏng)"
    counters:$COUNTERS
reload_interval: 30s
auth:
  secure: false   # the demo is plain http on 127.0.0.1
users_file: $DEMO/secrets/users.yml
state_dir: $DEMO/dashboard-state
session_key: {file: $DEMO/secrets/session.key}
cases:
  enabled: true
  calendar: $ROOT/configs/calendar/vn.yml
  intake: [{site: anlao, token: {file: $DEMO/secrets/intake.token}}]
CONF
"$ROOT/bin/pscm-dashboard" -config "$DEMO/dashboard.yml" >>"$DEMO/logs/dashboard.log" 2>&1 &
PIDS="$PIDS $!"


cat <<MSG

  pscm demo đang chạy / is running — trung tâm mô phỏng "anlao", 8 quầy, tốc độ ${SPEED}x

  Dashboard:           http://127.0.0.1:$DASHBOARD_PORT/   login: demo / $(cat "$DEMO/secrets/demo.pass")
                       wall TV: http://127.0.0.1:$DASHBOARD_PORT/?site=anlao&tv=1
  Citizens' cases:     http://127.0.0.1:$DASHBOARD_PORT/cases   (leave one at the kiosk: "Góp ý / Phản ánh")
                       status page: http://127.0.0.1:$DASHBOARD_PORT/tra-cuu
  Kiosk page (tablet): http://127.0.0.1:$AGENT_PORT/kiosk/k01/   token: $(cat "$DEMO/secrets/k01.token")
  Agent metrics:       http://127.0.0.1:$AGENT_ADMIN_PORT/metrics       (pscm_agent_presses_total, pscm_agent_spool_records,
                                                                  pscm_agent_zone_occupied, pscm_agent_camera_up)
  Cameras (RTSP):      rtsp://127.0.0.1:$RTSP_PORT/cam1 and /cam2 watch counters 9 and 10 (user demo, password in .demo/secrets/camera.pass)
  Camera calibration:  http://127.0.0.1:$AGENT_ADMIN_PORT/calibration/   login: admin / $(cat "$DEMO/secrets/calibration.pass")
  Collector metrics:   http://127.0.0.1:$COLLECTOR_PORT/metrics   (pscm_collector_points_written_total)
  Readiness:           http://127.0.0.1:$COLLECTOR_PORT/readyz
  Events arriving:     curl -sG http://127.0.0.1:$INFLUX_PORT/query --data-urlencode db=pscm \\
                         --data-urlencode "q=SELECT count(id) FROM rating, queue, session, occupancy, dossier, camera, agent"
  Satisfaction today:  curl -sG http://127.0.0.1:$INFLUX_PORT/query --data-urlencode db=pscm \\
                         --data-urlencode "q=SELECT count(id) FROM rating GROUP BY level"
  Live MQTT stream:    mosquitto_sub -p $MQTT_PORT -v -t 'pscm/v1/+/rating' -t 'pscm/v1/+/session'
  Logs:                .demo/logs/

  Ctrl-C để dừng / to stop.
MSG

# Show progress every 10 s until Ctrl-C.
while :; do
	sleep 10
	n=$(curl -sf "http://127.0.0.1:$COLLECTOR_PORT/metrics" 2>/dev/null | awk '/^pscm_collector_points_written_total/ {s += $2} END {print s + 0}')
	echo "demo: $(date +%H:%M:%S) points written: $n"
done
