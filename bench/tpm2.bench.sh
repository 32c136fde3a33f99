#!/usr/bin/env bash
# tpm2 backend: what one `seckit key sign` costs the TPM, against tpm2-tools
# signing with a persistent key.  Rows: name, seckit, reference, unit, goal.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
SECKIT=${SECKIT:-$top/seckit}
work=$(mktemp -d)
trap 'kill "$(cat "$work/tpm/swtpm.pid" 2>/dev/null)" 2>/dev/null; rm -rf "$work"' EXIT
cd "$work"
# shellcheck source=/dev/null
. "$top/tests/tpm.bash"
start_swtpm "$work/tpm" >/dev/null
export SECKIT_STORE=$work/store SECKIT_BACKEND=tpm2 SECKIT_TCTI=$SWTPM_TCTI
head -c 4096 /dev/urandom > data

"$SECKIT" key create dev --type ec-p256
# tpm2-tools' reference: an ECC P-256 key made persistent, signed by handle.
tpm2_createprimary -Q -C o -G ecc256:aes128cfb -c prim.ctx
tpm2_flushcontext -t
tpm2_create -Q -C prim.ctx -G ecc256 -u k.pub -r k.priv
tpm2_flushcontext -t
tpm2_load -Q -C prim.ctx -u k.pub -r k.priv -c k.ctx
tpm2_flushcontext -t
tpm2_evictcontrol -Q -C o -c k.ctx 0x81000020 >/dev/null
tpm2_flushcontext -t
openssl dgst -sha256 -binary data > data.dgst
# seckit with a persistent storage parent (config tpm2-parent).
tpm2_evictcontrol -Q -C o -c prim.ctx 0x81000021 >/dev/null
tpm2_flushcontext -t
printf 'tpm2-parent: 0x81000021\n' > parent.yaml
# A store of its own: its master key is sealed under that parent (a store's
# keys and master key belong to the parent they were made under).
SECKIT_STORE=$work/store2 "$SECKIT" --config parent.yaml key create dev2 --type ec-p256

# A store whose master key is a file (master-key: file): the key's own path.
printf 'master-key: file\n' > mkfile.yaml
SECKIT_STORE=$work/store3 "$SECKIT" --config mkfile.yaml key create dev3 --type ec-p256
# Both: a persistent parent and the master key in a file (load, sign, flush).
printf 'tpm2-parent: 0x81000021\nmaster-key: file\n' > pfile.yaml
SECKIT_STORE=$work/store4 "$SECKIT" --config pfile.yaml key create dev4 --type ec-p256

count() {
	rm -f "$work/cap.pcap"
	TCTI_PCAP_FILE="$work/cap.pcap" "$@" >/dev/null
	python3 "$here/tpm-commands.py" "$work/cap.pcap" | cut -d' ' -f1
}
n_sk=$(SECKIT_TCTI="pcap:$SWTPM_TCTI" count "$SECKIT" key sign dev --in data --out s1)
n_ref=$(TPM2TOOLS_TCTI="pcap:$SWTPM_TCTI" count tpm2_sign -c 0x81000020 -g sha256 -d -o s2 data.dgst)
n_skp=$(SECKIT_STORE=$work/store2 SECKIT_TCTI="pcap:$SWTPM_TCTI" count "$SECKIT" --config parent.yaml key sign dev2 --in data --out s1)
n_skf=$(SECKIT_STORE=$work/store3 SECKIT_TCTI="pcap:$SWTPM_TCTI" count "$SECKIT" --config mkfile.yaml key sign dev3 --in data --out s1)
n_skpf=$(SECKIT_STORE=$work/store4 SECKIT_TCTI="pcap:$SWTPM_TCTI" count "$SECKIT" --config pfile.yaml key sign dev4 --in data --out s1)
printf 'tpm2 sign: commands, tpm2-parent, mk file\t%s\t%s\tcommands\t3 (load, sign, flush)\n' "$n_skpf" "$n_ref"
# The sealed master key is a persistent object, the parent's public area
# in master.key: a salted session and the unseal (4 is not reachable
# without the key crossing the bus in clear: seckit-measure(1)).
printf 'tpm2 sign: commands, tpm2-parent, mk sealed\t%s\t%s\tcommands\t5 (+ salted session, unseal)\n' "$n_skp" "$n_ref"
printf 'tpm2 sign: commands, SRK template, mk file\t%s\t%s\tcommands\t5 (+ CreatePrimary, flush)\n' "$n_skf" "$n_ref"
printf 'tpm2 sign: commands, SRK template, mk sealed\t%s\t%s\tcommands\t7 (+ CreatePrimary, flush)\n' "$n_sk" "$n_ref"

# Latency, same TPM, same run.
RUNS=${BENCH_RUNS:-50}
warm=$(( RUNS < 5 ? 1 : 5 ))
hyperfine -N -w "$warm" -r "$RUNS" --export-json lat.json \
	"$SECKIT key sign dev --in data --out s1" \
	"$SECKIT --store $work/store2 --config parent.yaml key sign dev2 --in data --out s1" \
	"tpm2_sign -c 0x81000020 -g sha256 -d -o s2 data.dgst" >/dev/null 2>&1
read -r t_sk t_skp t_ref < <(python3 -c 'import json;r=json.load(open("lat.json"))["results"];print(" ".join("%.2f"%(x["median"]*1000) for x in r))')
printf 'tpm2 sign: median wall time (swtpm)\t%s\t%s\tms\tbelow tpm2_sign\n' "$t_sk" "$t_ref"
printf 'tpm2 sign: median wall time, persistent parent\t%s\t%s\tms\tbelow tpm2_sign\n' "$t_skp" "$t_ref"
