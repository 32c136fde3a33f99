#!/usr/bin/env bash
# Regenerate the fuzz seeds in fuzz/corpus/ from real seckit and openssl
# output (run from the top of the tree after `make`).  The seeds are small
# and committed; rerun this when a format gains a field.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
sk="$top/seckit"
out="$top/fuzz/corpus"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
export SECKIT_STORE="$work/store" SECKIT_CONFIG="$work/config.yaml"
printf 'password-kdf:\n  n: 1024\n' > config.yaml
rm -rf "$out"
mkdir -p "$out"/fuzz_pkg "$out"/fuzz_yaml "$out"/fuzz_x509 "$out"/fuzz_store "$out"/fuzz_opaque

# keys, certificates, CSRs
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ec.pem 2>/dev/null
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa.pem 2>/dev/null
openssl pkey -in ec.pem -pubout -out ec.pub
openssl pkey -in ec.pem -outform DER -out ec.der
openssl ec -in ec.pem -out ec-sec1.pem 2>/dev/null
openssl pkey -in rsa.pem -pubout -outform DER -out rsa-pub.der
openssl req -x509 -new -key ec.pem -subj /CN=root -days 30 -out root.pem 2>/dev/null
openssl x509 -in root.pem -outform DER -out root.der
openssl req -new -key rsa.pem -subj /CN=leaf -out leaf.csr 2>/dev/null
openssl x509 -req -in leaf.csr -CA root.pem -CAkey ec.pem -CAcreateserial -days 30 -out leaf.pem 2>/dev/null
cat leaf.pem root.pem > chain.pem
for f in ec.pem ec.pub ec.der ec-sec1.pem rsa-pub.der root.pem root.der leaf.csr leaf.pem chain.pem; do
	cp "$f" "$out/fuzz_x509/$f"
done

# packages
head -c 200 /dev/urandom > payload
"$sk" payload make --sign-key ec.pem --in payload --out "$out/fuzz_pkg/payload-ec"
"$sk" payload make --sign-key rsa.pem --pss --digest sha384 --in payload --out "$out/fuzz_pkg/payload-rsa-pss"
: > empty
"$sk" payload make --sign-key ec.pem --in empty --out "$out/fuzz_pkg/payload-empty"
"$sk" stp make --command add-ca --name ca1 --cert root.pem --seq 1 --sign-key ec.pem --out "$out/fuzz_pkg/stp-add-ca"
"$sk" stp make --command revoke --cert root.pem --serial 01 --seq 2 --sign-key ec.pem \
	--device ec.pub --out "$out/fuzz_pkg/stp-revoke"
"$sk" stp make --command delete-ca --name ca1 --seq 3 --sign-key rsa.pem --out "$out/fuzz_pkg/stp-delete-ca"
"$sk" opaque-key make --name k1 --type ec-p256 --key ec.pem --sign-key ec.pem \
	--device-pub ec.pub --out "$out/fuzz_pkg/opaque-key"
"$sk" opaque-key make --name k2 --type aes-256 --key <(head -c 32 /dev/urandom) --sign-key rsa.pem \
	--device-pub ec.pub --cipher aes-256-gcm --mac hmac-sha512 --kdf x963-sha384 --out "$work/aes.okey"
"$sk" oo make --in payload --out "$work/obj.enc" --info "$work/obj.oocfg"
"$sk" oo make --in payload --cipher aes-256-gcm --not-before 2026-01-01 --not-after 2036-01-01 \
	--out "$work/gcm.enc" --info "$work/gcm.oocfg"
cp "$work/obj.enc" "$out/fuzz_pkg/opaque-object"
"$sk" oo id --info "$work/obj.oocfg" --sign-key ec.pem --device-pub ec.pub --out "$out/fuzz_pkg/ooid"
# the opaque bodies: packages, object headers (cut short), OOInfo files
cp "$out/fuzz_pkg/opaque-key" "$out/fuzz_pkg/ooid" "$out/fuzz_opaque/"
cp "$work/aes.okey" "$out/fuzz_opaque/opaque-key-aes"
head -c 200 "$work/gcm.enc" > "$out/fuzz_opaque/object-head"
cp "$work/obj.oocfg" "$out/fuzz_opaque/ooinfo-ctr.oocfg"
cp "$work/gcm.oocfg" "$out/fuzz_opaque/ooinfo-gcm.oocfg"

# YAML: the shipped examples and a few shapes
cp "$top/config.example.yaml" "$out/fuzz_yaml/config.example.yaml"
[ -f "$top/manifest.example.yaml" ] && cp "$top/manifest.example.yaml" "$out/fuzz_yaml/"
printf 'backend: tpm2\ntcti: "swtpm:port=2321"\ntpm2-parent: 0x81000001\nroles: {device-key: dev}\n' > "$out/fuzz_yaml/flow.yaml"
printf 'devices:\n  - id: d1\n    public-key: |\n%s\n' "$(sed 's/^/      /' ec.pub)" > "$out/fuzz_yaml/fleet.yaml"
printf 'a: &x [1, 2]\nb: *x\n' > "$out/fuzz_yaml/alias.yaml"

# store objects: a key, a password object and a data object
"$sk" key create k --type ec-p256
"$sk" key password create pw --pass pass:x
if "$sk" help store >/dev/null 2>&1; then
	printf 'secret' | "$sk" store write obj
fi
i=0
for f in "$SECKIT_STORE"/*; do
	case $(basename "$f") in
	[0-9a-f]*) [ ${#f} -gt 64 ] && cp "$f" "$out/fuzz_store/object-$i" && i=$((i + 1)) ;;
	esac
done
cp "$SECKIT_STORE/master.key" "$out/fuzz_store/master-key"
# TPM answers (needs swtpm, tpm2-tools and build/fuzz/fuzz_tpm2)
"$top/fuzz/make-corpus-tpm2.sh"
echo "seeds written to $out" >&2
