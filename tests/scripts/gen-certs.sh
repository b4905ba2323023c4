#!/usr/bin/env bash
# Creates throwaway certificates for local clusters and tests:
#   ca.pem ca-key.pem            the CA that signs everything below
#   server.pem server-key.pem    etcd members and the proxy listener (127.0.0.1, ::1, localhost)
#   client.pem client-key.pem    clients, and the proxy towards the members (CN=etcd-client)
#   wrong-host.pem ...-key.pem   a server certificate for 127.0.0.2 only (name-check tests)
#   other-ca.pem other-client.pem other-client-key.pem   a CA nobody trusts and its client
# An existing ca.pem/ca-key.pem in DIR is reused, so the leaves can be re-issued.
# EXTRA_SANS (e.g. "IP:198.18.2.11,IP:198.18.1.11") adds names to the server certificate.
# Usage: gen-certs.sh DIR
set -euo pipefail
dir=${1:?usage: gen-certs.sh DIR}
mkdir -p "$dir"
cd "$dir"
days=30

ca() {  # name
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$1-key.pem" -out "$1.pem" -days $days \
    -subj "/CN=$1" -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
}

leaf() {  # ca name cn san usage
  local ca=$1 name=$2 cn=$3 san=$4 usage=$5
  openssl req -newkey rsa:2048 -nodes -keyout "$name-key.pem" -out "$name.csr" \
    -subj "/CN=$cn" 2>/dev/null
  printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=%s\n%s\n' \
    "$usage" "${san:+subjectAltName=$san}" > "$name.ext"
  openssl x509 -req -in "$name.csr" -CA "$ca.pem" -CAkey "$ca-key.pem" -CAcreateserial \
    -out "$name.pem" -days $days -extfile "$name.ext" 2>/dev/null
  rm -f "$name.csr" "$name.ext"
}

# An existing CA is kept, so certificates can be re-issued (rotation tests).
[ -f ca.pem ] || ca ca
[ -f other-ca.pem ] || ca other-ca
leaf ca server etcd-server "IP:127.0.0.1,IP:::1,DNS:localhost${EXTRA_SANS:+,$EXTRA_SANS}" serverAuth,clientAuth
leaf ca client etcd-client "" clientAuth
leaf ca wrong-host wrong-host "IP:127.0.0.2" serverAuth,clientAuth
leaf other-ca other-client other-client "" clientAuth
chmod 600 ./*-key.pem
rm -f ./*.srl
