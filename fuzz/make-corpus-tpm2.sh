#!/usr/bin/env bash
# The seeds of fuzz_tpm2: real swtpm answers to each scenario, recorded by
# the harness itself (SK_FUZZ_TPM2_RECORD, see fuzz/fuzz_tpm2.c) after
# `make fuzz`.  Run from the top of the tree; fuzz/make-corpus.sh calls it.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
out="$top/fuzz/corpus/fuzz_tpm2"
harness="$top/build/fuzz/fuzz_tpm2"
[ -x "$harness" ] || { echo "make-corpus-tpm2: build $harness first (make fuzz)" >&2; exit 1; }
work=$(mktemp -d)
trap 'kill "$(cat "$work/tpm/swtpm.pid" 2>/dev/null)" 2>/dev/null; rm -rf "$work"' EXIT
cd "$work"
# shellcheck source=tests/tpm.bash
. "$top/tests/tpm.bash"
start_swtpm "$work/tpm" >/dev/null
# the scenarios' persistent parent (PARENT in fuzz_tpm2.c)
tpm2_createprimary -Q -C o -G ecc256:aes128cfb -c prim.ctx
tpm2_evictcontrol -Q -C o -c prim.ctx 0x81000001 >/dev/null
tpm2_flushcontext -t
rm -rf "$out"
mkdir -p "$out"
i=0
for name in ec-sign rsa-sign unseal wrong-password primary-ecdh pcr-read; do
	printf '%b' "\\x$(printf %02x "$i")" > scenario
	SK_FUZZ_TPM2_RECORD="$SWTPM_TCTI" SK_FUZZ_TPM2_SEED="$out/$name" \
		"$harness" -runs=1 scenario >/dev/null 2>&1
	[ -s "$out/$name" ] || { echo "make-corpus-tpm2: nothing recorded for $name" >&2; exit 1; }
	i=$((i + 1))
done
# A regression seed: rsa-sign with the Sign answer's sigAlg changed from
# RSASSA to RSAPSS (same layout), which seckit once wrote out as the
# PKCS#1 v1.5 signature asked for.
python3 - "$out/rsa-sign" "$out/rsa-sign-pss-answer" <<'PY'
import struct, sys
d = bytearray(open(sys.argv[1], "rb").read())
off = 3 + struct.unpack(">H", d[1:3])[0]
off += 2 + struct.unpack(">H", d[off:off + 2])[0]   # the Load's answer
sig = off + 2 + 14   # the Sign's answer: header 10, parameterSize 4
assert d[sig:sig + 2] == b"\x00\x14"
d[sig:sig + 2] = b"\x00\x16"
open(sys.argv[2], "wb").write(d)
PY
