#!/usr/bin/env bash
# certs.sh — a private CA and the certificates of one pscm deployment.
#
#   scripts/certs.sh DIR server NAME HOST|IP [HOST|IP ...]   an HTTPS or broker server certificate
#   scripts/certs.sh DIR client NAME                         a device's client certificate
#
# The CA (DIR/ca.pem) is created on first use and reused after, so every
# certificate of a deployment chains to one CA that brokers, agents, kiosks
# and browsers trust. Its key is kept apart from the leaf keys, in
# $PSCM_CA_KEY_DIR (default DIR/ca-key, mode 0700): copy DIR without it to
# the machines that only need ca.pem and their own certificate, or keep
# that directory on an offline machine. The CA may only vouch for the names
# in $PSCM_CA_PERMIT (X.509 name constraints, fixed when the CA is made;
# default: private and loopback addresses, and DNS names under gov.vn, lan,
# local, internal, home.arpa and localhost), so a stolen CA key cannot mint
# a certificate for any other site a tablet or browser would trust.
#
# A server certificate names the hosts and addresses its clients use (the
# subject alternative names browsers check) and is for serverAuth only; a
# client certificate is for clientAuth only. An existing certificate is never
# overwritten: delete it to renew. Keys are 0600.
#
# Examples:
#   scripts/certs.sh /etc/pscm/pki server broker mqtt.tinh.gov.vn 10.0.0.5
#   scripts/certs.sh /etc/pscm/pki server dashboard dashboard.tinh.gov.vn
#   scripts/certs.sh /etc/pscm/pki server anlao-edge-1-web anlao-edge-1.lan 10.10.1.5
#   scripts/certs.sh /etc/pscm/pki client anlao-edge-1
set -euo pipefail

usage() { sed -n '2,5p' "$0" >&2; exit 2; }
[ $# -ge 3 ] || usage
dir=$1 kind=$2 name=$3
shift 3
case $kind in
server) [ $# -ge 1 ] || { echo "certs.sh: a server certificate needs the host names or addresses its clients use" >&2; usage; } ;;
client) [ $# -eq 0 ] || usage ;;
*) usage ;;
esac
[[ $name =~ ^[a-z0-9][a-z0-9_.-]{0,62}$ ]] || { echo "certs.sh: name $name: use a-z, 0-9, _ . - (at most 63)" >&2; exit 2; }
command -v openssl >/dev/null || { echo "certs.sh: openssl not found: sudo apt-get install -y openssl" >&2; exit 1; }

days=${CERT_DAYS:-825}  # what browsers accept for a server certificate
keydir=${PSCM_CA_KEY_DIR:-$dir/ca-key}
permit=${PSCM_CA_PERMIT:-IP:10.0.0.0/255.0.0.0,IP:172.16.0.0/255.240.0.0,IP:192.168.0.0/255.255.0.0,IP:127.0.0.0/255.0.0.0,IP:0:0:0:0:0:0:0:1/FFFF:FFFF:FFFF:FFFF:FFFF:FFFF:FFFF:FFFF,IP:FC00:0:0:0:0:0:0:0/FE00:0:0:0:0:0:0:0,DNS:gov.vn,DNS:lan,DNS:local,DNS:internal,DNS:home.arpa,DNS:localhost}
umask 077
mkdir -p "$dir" "$keydir"
chmod 0700 "$keydir"

# An older layout kept the CA key beside the leaf keys: move it apart.
if [ -s "$dir/ca.key" ] && [ ! -s "$keydir/ca.key" ]; then
	mv "$dir/ca.key" "$keydir/ca.key"
	echo "moved the CA key to $keydir/ca.key"
fi

if [ ! -s "$dir/ca.pem" ]; then
	constraints=""
	IFS=, read -ra names <<<"$permit"
	for n in "${names[@]}"; do constraints="$constraints,permitted;$n"; done
	openssl req -x509 -newkey rsa:3072 -sha256 -nodes -days 3650 \
		-keyout "$keydir/ca.key" -out "$dir/ca.pem" -subj "/O=pscm/CN=pscm CA" \
		-addext "basicConstraints=critical,CA:TRUE,pathlen:0" -addext "keyUsage=critical,keyCertSign,cRLSign" \
		-addext "nameConstraints=critical${constraints}" 2>/dev/null
	chmod 0644 "$dir/ca.pem"
	echo "created CA $dir/ca.pem (key $keydir/ca.key; names: $permit)"
fi
[ -s "$keydir/ca.key" ] || { echo "certs.sh: the CA key is not in $keydir (set PSCM_CA_KEY_DIR)" >&2; exit 1; }

if [ -s "$dir/$name.pem" ]; then
	echo "$dir/$name.pem exists; delete it to issue a new one"
	exit 0
fi

ext=$(mktemp)
trap 'rm -f "$ext" "$dir/$name.csr"' EXIT
if [ "$kind" = server ]; then
	san=""
	for h in "$@"; do
		if [[ $h =~ ^[0-9.]+$ || $h == *:* ]]; then san="$san,IP:$h"; else san="$san,DNS:$h"; fi
	done
	printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=%s\n' "${san#,}" >"$ext"
	purpose=sslserver
else
	printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n' >"$ext"
	purpose=sslclient
fi
openssl req -newkey rsa:2048 -sha256 -nodes -keyout "$dir/$name.key" -out "$dir/$name.csr" -subj "/O=pscm/CN=$name" 2>/dev/null
openssl x509 -req -in "$dir/$name.csr" -CA "$dir/ca.pem" -CAkey "$keydir/ca.key" -CAcreateserial -CAserial "$keydir/ca.srl" \
	-days "$days" -sha256 -extfile "$ext" -out "$dir/$name.pem" 2>/dev/null
chmod 0644 "$dir/$name.pem"
# What clients will check, checked now: a name outside the CA's constraints
# would be refused by every client, so it is never handed out.
if ! out=$(openssl verify -CAfile "$dir/ca.pem" -purpose "$purpose" "$dir/$name.pem" 2>&1); then
	rm -f "$dir/$name.pem" "$dir/$name.key"
	echo "certs.sh: $name does not verify against the CA (a name outside PSCM_CA_PERMIT?): $out" >&2
	exit 1
fi
echo "issued $kind certificate $dir/$name.pem (key $dir/$name.key)"
