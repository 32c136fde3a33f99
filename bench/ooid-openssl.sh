#!/bin/sh
# The baseline for bench/opaque.bench.sh: OOIDs made with nothing but the
# openssl command line, one device at a time, the way a script without
# seckit would: the recipes of docs/formats/ooid.md and ecies.md run per
# device (ephemeral key pair, ECDH, random number, KDF, AES, HMAC, the DER
# pieces, an ECDSA signature).  Its OOIDs are real: `seckit oo open`
# opens them.
#
#   ooid-openssl.sh INFO SIGN_KEY OUT_DIR DEVICE_PUB...
#
# writes OUT_DIR/<basename of DEVICE_PUB without .pub>.oid for each device.
set -eu
[ $# -ge 4 ] || { echo "usage: $0 INFO SIGN_KEY OUT_DIR DEVICE_PUB..." >&2; exit 2; }
docs=$(cd "$(dirname "$0")/../docs/formats" && pwd)
info=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
key=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")
out=$3
shift 3
mkdir -p "$out"
out=$(cd "$out" && pwd)

recipe() {
	awk -v name="# recipe: $2" '
		/^```/ { if (on) exit; next }
		$0 == name { on = 1 }
		on { print }' "$docs/$1.md"
}
seal=$(recipe ecies ecies-seal)
build=$(recipe ooid ooid-build)
ooinfo=$(recipe ooid ooinfo-der)

work=$(mktemp -d "${TMPDIR:-/tmp}/ooid-openssl.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
cd "$work"
# The OOInfo as DER once (seckit does that once per run too).
INFO=$info sh -c "$ooinfo"
objid=$(sed -n 's/^object-id: //p' "$info")
for pub in "$@"; do
	case $pub in /*) ;; *) pub=$OLDPWD/$pub ;; esac
	id=$(basename "$pub" .pub)
	DEVPUB=$pub PLAIN=ooinfo.der CONTEXT=ooid CIPHER=aes-256-ctr MAC=hmac-sha256 \
		KDF=hkdf-sha256 ENV=env.der sh -c "$seal"
	ENV=env.der OBJID=$objid DEVPUB=$pub KEY=$key SIGALG=ecdsa-with-SHA256 MD=sha256 \
		OOID="$out/$id.oid" sh -c "$build"
done
