#!/usr/bin/env bash
# influxdb-setup.sh — the pscm database and its users on InfluxDB 1.8 with
# authentication on (configs/influxdb/influxdb.conf). Run it on the database
# host, as root, after installing that config; running it again changes
# nothing but passwords that were edited in their files.
#
#   scripts/influxdb-setup.sh [URL]        default http://127.0.0.1:8086
#
# No password ever goes on a command line, where ps and the shell's history
# would show it: each is read from, or first written to, a file (mode 0600)
# and handed to curl on its standard input. Under $PSCM_SECRETS (default
# /etc/pscm/secrets), the directories each unit's LoadCredential= loads:
#
#   influxdb-admin.pass           the admin; the first admin is created while the server has no user
#   collector/influxdb.token      "collector:<password>": ALL on pscm (it writes, and reads at start
#                                 which IDs are already stored, to hold each site to its inventory)
#   dashboard/influxdb.token      "dashboard:<password>": READ
#   ctl/influxdb.token            "ctl:<password>": READ (pscm-ctl's reports, configs/ctl.example.yml)
#   grafana/influxdb.pass         Grafana's password alone (GF_..._PASSWORD in its environment): READ
#
# A missing file is made with a random password. Passwords may hold
# letters, digits and - _ . + = : only.
set -euo pipefail

url=${1:-http://127.0.0.1:8086}
secrets=${PSCM_SECRETS:-/etc/pscm/secrets}
db=pscm
command -v curl >/dev/null || { echo "influxdb-setup.sh: curl not found: sudo apt-get install -y curl" >&2; exit 1; }
umask 077

random() { head -c 18 /dev/urandom | base64 | tr '+/' '-_'; }

# secret FILE PREFIX: the password in FILE (after PREFIX), made if missing.
secret() {
	local file=$1 prefix=$2 v
	mkdir -p "$(dirname "$file")"
	if [ ! -s "$file" ]; then
		printf '%s%s\n' "$prefix" "$(random)" >"$file"
		echo "made $file" >&2
	fi
	v=$(head -n 1 "$file")
	v=${v#"$prefix"}
	[[ $v =~ ^[A-Za-z0-9._+=:-]{12,}$ ]] || { echo "influxdb-setup.sh: $file: at least 12 of A-Z a-z 0-9 . _ + = : -" >&2; exit 1; }
	printf '%s' "$v"
}

# q [USER:PASSWORD] STATEMENT: one InfluxQL statement; prints the answer.
q() {
	local auth=$1 stmt=$2
	# curl's config quotes: \ and " escaped (passwords hold neither).
	stmt=${stmt//\\/\\\\}
	stmt=${stmt//\"/\\\"}
	{
		[ -n "$auth" ] && printf 'user = "%s"\n' "$auth"
		printf 'data-urlencode = "q=%s"\n' "$stmt"
	} | curl -sS -K - "$url/query"
}

admin_pw=$(secret "$secrets/influxdb-admin.pass" "")
admin="admin:$admin_pw"
answer=$(q "$admin" "SHOW USERS")
if [[ $answer == *"create admin user first"* ]]; then
	q "" "CREATE USER admin WITH PASSWORD '$admin_pw' WITH ALL PRIVILEGES" >/dev/null
	echo "created the admin user" >&2
	answer=$(q "$admin" "SHOW USERS")
fi
[[ $answer == *'"results"'* && $answer != *'"error"'* ]] || { echo "influxdb-setup.sh: $url: $answer" >&2; exit 1; }

# The database (configs/influxdb/setup.iql: nothing expires by default).
grep -v '^\s*--' "$(dirname "$0")/../configs/influxdb/setup.iql" | grep -v '^\s*$' | while read -r stmt; do
	out=$(q "$admin" "$stmt")
	[[ $out != *'"error"'* ]] || { echo "influxdb-setup.sh: $stmt: $out" >&2; exit 1; }
done

# user NAME PRIVILEGE PASSWORD
user() {
	local name=$1 priv=$2 pw=$3 out
	out=$(q "$admin" "CREATE USER \"$name\" WITH PASSWORD '$pw'")
	if [[ $out == *"user already exists"* ]]; then
		out=$(q "$admin" "SET PASSWORD FOR \"$name\" = '$pw'")
	fi
	[[ $out != *'"error"'* ]] || { echo "influxdb-setup.sh: user $name: $out" >&2; exit 1; }
	out=$(q "$admin" "REVOKE ALL PRIVILEGES ON \"$db\" FROM \"$name\"")
	out=$(q "$admin" "GRANT $priv ON \"$db\" TO \"$name\"")
	[[ $out != *'"error"'* ]] || { echo "influxdb-setup.sh: grant $priv to $name: $out" >&2; exit 1; }
	echo "user $name: $priv on $db" >&2
}
user collector ALL "$(secret "$secrets/collector/influxdb.token" collector:)"
user dashboard READ "$(secret "$secrets/dashboard/influxdb.token" dashboard:)"
# The dashboard writes its rollups, and only them.
out=$(q "$admin" 'GRANT ALL ON "pscm_rollup" TO "dashboard"')
[[ $out != *'"error"'* ]] || { echo "influxdb-setup.sh: grant pscm_rollup to dashboard: $out" >&2; exit 1; }
user ctl READ "$(secret "$secrets/ctl/influxdb.token" ctl:)"
user grafana READ "$(secret "$secrets/grafana/influxdb.pass" "")"
