#!/usr/bin/env bash
# certs.sh — a private CA and the certificates of one pscm deployment.
#
#   scripts/certs.sh DIR server NAME [HOST|IP ...]   a broker or HTTPS server certificate
#   scripts/certs.sh DIR client NAME                 a device's client certificate
#
# The CA (DIR/ca.pem, DIR/ca.key) is created on first use and reused after,
# so every certificate of a deployment chains to one CA that brokers,
# agents, kiosks and browsers trust. An existing certificate is never
# overwritten: delete it to renew. Keys are 0600; give ca.key to nobody, and
# keep it off the machines that only need ca.pem.
#
# Examples:
#   scripts/certs.sh /etc/pscm/pki server broker mqtt.tinh.gov.vn 10.0.0.5
#   scripts/certs.sh /etc/pscm/pki server dashboard dashboard.tinh.gov.vn
#   scripts/certs.sh /etc/pscm/pki client anlao-edge-1
set -euo pipefail

usage() { sed -n '2,8p' "$0" >&2; exit 2; }
[ $# -ge 3 ] || usage
dir=$1 kind=$2 name=$3
shift 3
case $kind in server|client) ;; *) usage ;; esac
[[ $name =~ ^[a-z0-9][a-z0-9_.-]{0,62}$ ]] || { echo "certs.sh: name $name: use a-z, 0-9, _ . - (at most 63)" >&2; exit 2; }
command -v openssl >/dev/null || { echo "certs.sh: openssl not found: sudo apt-get install -y openssl" >&2; exit 1; }

days=${CERT_DAYS:-825}  # what browsers accept for a server certificate
umask 077
mkdir -p "$dir"

if [ ! -s "$dir/ca.pem" ]; then
	openssl req -x509 -newkey rsa:3072 -sha256 -nodes -days 3650 \
		-keyout "$dir/ca.key" -out "$dir/ca.pem" -subj "/O=pscm/CN=pscm CA" \
		-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
	chmod 0644 "$dir/ca.pem"
	echo "created CA $dir/ca.pem"
fi

if [ -s "$dir/$name.pem" ]; then
	echo "$dir/$name.pem exists; delete it to issue a new one"
	exit 0
fi

ext=$(mktemp)
trap 'rm -f "$ext" "$dir/$name.csr"' EXIT
if [ "$kind" = server ]; then
	san="DNS:$name"
	for h in "$@"; do
		if [[ $h =~ ^[0-9.]+$ || $h == *:* ]]; then san="$san,IP:$h"; else san="$san,DNS:$h"; fi
	done
	printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=%s\n' "$san" >"$ext"
else
	printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n' >"$ext"
fi
openssl req -newkey rsa:2048 -sha256 -nodes -keyout "$dir/$name.key" -out "$dir/$name.csr" -subj "/O=pscm/CN=$name" 2>/dev/null
openssl x509 -req -in "$dir/$name.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -CAcreateserial \
	-days "$days" -sha256 -extfile "$ext" -out "$dir/$name.pem" 2>/dev/null
chmod 0644 "$dir/$name.pem"
echo "issued $kind certificate $dir/$name.pem (key $dir/$name.key)"
