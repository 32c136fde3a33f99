#!/usr/bin/env bash
# pkcs11 backend: one `seckit key sign` against `pkcs11-tool --sign` with
# the same SoftHSM2 token and key, and the PKCS#11 calls each makes (the
# wrapper module tests/pkcs11/p11count.c, built by make, counts them).
# Rows: name, seckit, reference, unit, goal.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
SECKIT=${SECKIT:-$top/seckit}
MODULE=${BENCH_PKCS11_MODULE:-/usr/lib/softhsm/libsofthsm2.so}
P11COUNT=${SECKIT_P11COUNT:-$top/build/pkcs11/p11count.so}
runs=${BENCH_RUNS:-50}
# A STATIC=0 build to compare too (make bench passes it), by its absolute
# path: the bench runs in a directory of its own.
if [ -n "${SECKIT_STATIC0:-}" ]; then
	SECKIT_STATIC0=$(cd "$(dirname "$SECKIT_STATIC0")" && pwd)/$(basename "$SECKIT_STATIC0")
fi
for t in softhsm2-util pkcs11-tool hyperfine openssl; do
	command -v "$t" >/dev/null || { echo "pkcs11 bench: $t is missing" >&2; exit 1; }
done
[ -e "$MODULE" ] || { echo "pkcs11 bench: no module $MODULE" >&2; exit 1; }
[ -e "$P11COUNT" ] || { echo "pkcs11 bench: $P11COUNT is not built (make)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
mkdir tokens
printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' \
	"$work" > softhsm2.conf
export SOFTHSM2_CONF=$work/softhsm2.conf HOME=$work SECKIT_STORE=$work/store \
	SECKIT_BACKEND=pkcs11 SECKIT_PKCS11_MODULE=$MODULE BENCH_PIN=1234
softhsm2-util --init-token --free --label bench --so-pin 5678 --pin 1234 >/dev/null
printf 'pkcs11:\n  pin: env:BENCH_PIN\n' > config.yaml
export SECKIT_CONFIG=$work/config.yaml
head -c 4096 /dev/urandom > data
openssl dgst -sha256 -binary data > data.h
"$SECKIT" key create dev --type ec-p256

sk_sign="$SECKIT key sign dev --in data --out s1"
tool_sign="pkcs11-tool --module $MODULE --token-label bench --login --pin 1234 --sign --mechanism ECDSA --signature-format openssl --label dev --input-file data.h --output-file s2"

# The calls of one signature each, through the wrapper module.
P11COUNT_MODULE=$MODULE P11COUNT_LOG=$work/sk.log SECKIT_PKCS11_MODULE=$P11COUNT $sk_sign
P11COUNT_MODULE=$MODULE P11COUNT_LOG=$work/tool.log \
	${tool_sign/--module $MODULE/--module $P11COUNT} >/dev/null 2>&1
"$SECKIT" key verify dev --in data --sig s2 >&2
printf 'pkcs11 sign: PKCS#11 calls per signature\t%s\t%s\tcalls\tno more than pkcs11-tool\n' \
	"$(wc -l < sk.log)" "$(wc -l < tool.log)"
printf 'pkcs11 sign: object searches per signature\t%s\t%s\tsearches\tone (the key)\n' \
	"$(grep -c '^C_FindObjectsInit ' sk.log)" "$(grep -c '^C_FindObjectsInit ' tool.log)"

# Wall time, same token, same run.  seckit's --out FILE is atomic and
# durable (fsync of the file and of its directory: some milliseconds on a
# disk), pkcs11-tool's --output-file a plain write: the second row is the
# same signature written to standard output, the cost without the fsyncs.
sk_sign_stdout="$SECKIT key sign dev --in data --out -"
# pkcs11-tool signs a digest, not a file: what its user runs first.
dgst="openssl dgst -sha256 -binary -out data.h data"
hyperfine -N -w 3 -r "$runs" --export-json lat.json "$sk_sign" "$tool_sign" "$sk_sign_stdout" \
	"$dgst" >/dev/null 2>&1
read -r t_sk t_ref t_sk_stdout t_dgst < <(python3 -c 'import json;r=json.load(open("lat.json"))["results"];print(" ".join("%.2f"%(x["median"]*1000) for x in r))')
printf 'pkcs11 sign: median wall time (SoftHSM2, EC P-256)\t%s\t%s\tms\t>= 1.0x pkcs11-tool --sign\n' \
	"$t_sk" "$t_ref"
printf 'pkcs11 sign: median wall time, signature to stdout (no fsync)\t%s\t%s\tms\t>= 1.0x pkcs11-tool --sign\n' \
	"$t_sk_stdout" "$t_ref"
printf 'pkcs11 sign a file: key sign vs openssl dgst, then pkcs11-tool --sign\t%s\t%s\tms\tinformation (medians added)\n' \
	"$t_sk" "$(python3 -c "print('%.2f' % ($t_ref + $t_dgst))")"

# The same with a STATIC=0 build (make bench passes it; the Yocto recipe
# builds seckit so): its libcrypto is the one the module loads, so its
# first digest fetch finds OpenSSL's name map built (bench/README.md).
if [ -x "${SECKIT_STATIC0:-}" ]; then
	dyn_sign="$SECKIT_STATIC0 key sign dev --in data --out s3"
	hyperfine -N -w 3 -r "$runs" --export-json dyn.json "$dyn_sign" "$tool_sign" >/dev/null 2>&1
	read -r t_dyn t_ref2 < <(python3 -c 'import json;r=json.load(open("dyn.json"))["results"];print(" ".join("%.2f"%(x["median"]*1000) for x in r))')
	"$SECKIT" key verify dev --in data --sig s3 >&2
	printf 'pkcs11 sign: median wall time, STATIC=0 build (as Yocto builds it)\t%s\t%s\tms\t>= 1.0x pkcs11-tool --sign\n' \
		"$t_dyn" "$t_ref2"
fi

# Instructions (callgrind: the same count whatever the machine's load) of
# one signature each, and of them those in the module's C_Initialize and
# C_Login (the token's start and its PIN check, the same work for both
# tools): what is left is each tool's own.
if command -v valgrind >/dev/null && command -v callgrind_annotate >/dev/null; then
	ir() {
		valgrind --tool=callgrind --callgrind-out-file="$1" "${@:2}" >/dev/null 2>&1
		callgrind_annotate --inclusive=yes "$1" 2>/dev/null |
			awk -v tot=0 '/PROGRAM TOTALS/ { gsub(",", "", $1); tot = $1 }
				/:C_Initialize \[/ { gsub(",", "", $1); m += $1 }
				/:C_Login \[/ { gsub(",", "", $1); m += $1 }
				END { printf "%.2f %.2f\n", tot / 1e6, (tot - m) / 1e6 }'
	}
	# shellcheck disable=SC2086
	read -r i_sk o_sk < <(ir sk.cg $sk_sign_stdout)
	# shellcheck disable=SC2086
	read -r i_ref o_ref < <(ir ref.cg $tool_sign)
	printf 'pkcs11 sign: instructions per signature\t%s\t%s\tM instr\tinformation\n' "$i_sk" "$i_ref"
	printf 'pkcs11 sign: instructions outside C_Initialize, C_Login\t%s\t%s\tM instr\tinformation\n' \
		"$o_sk" "$o_ref"
	if [ -x "${SECKIT_STATIC0:-}" ]; then
		read -r i_dyn o_dyn < <(ir dyn.cg "$SECKIT_STATIC0" key sign dev --in data --out -)
		printf 'pkcs11 sign: instructions per signature, STATIC=0 build\t%s\t%s\tM instr\tinformation\n' \
			"$i_dyn" "$i_ref"
		printf 'pkcs11 sign: instructions outside the module, STATIC=0 build\t%s\t%s\tM instr\tinformation\n' \
			"$o_dyn" "$o_ref"
	fi
fi
