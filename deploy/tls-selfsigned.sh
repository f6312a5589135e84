#!/usr/bin/env bash
# A self-signed certificate for trying the TLS setup (deploy/smoke.sh uses it): never for production.
# Usage: deploy/tls-selfsigned.sh DIR [HOSTNAME]  ->  DIR/perftrack.crt, DIR/perftrack.key
set -euo pipefail
dir=${1:?usage: tls-selfsigned.sh DIR [HOSTNAME]}
name=${2:-localhost}
names="DNS:$name,IP:127.0.0.1"
[ "$name" = localhost ] || names="$names,DNS:localhost"
mkdir -p "$dir"
openssl req -x509 -newkey rsa:2048 -sha256 -days 30 -nodes -subj "/CN=$name" -addext "subjectAltName=$names" \
  -keyout "$dir/perftrack.key" -out "$dir/perftrack.crt" 2>/dev/null
chmod 600 "$dir/perftrack.key"
