#!/bin/sh
# Signed payload packages on a 1 GiB payload, against openssl dgst on the
# same payload in the same run: throughput of verify and make (median of
# hyperfine runs, page cache warm) and peak RSS.
# Goals (issue 3): verify >= 95% of the throughput of
# `openssl dgst -sha256 -verify`, peak RSS < 16 MiB whatever the payload
# size; make likewise against `openssl dgst -sha256 -sign`.  make also
# writes the package (a 1 GiB copy, fsync'ed): measured with the package on
# tmpfs (the tool's own cost) and in TMPDIR (what a build host sees).
set -eu
SECKIT=${SECKIT:-$(dirname "$0")/../seckit}
RUNS=${BENCH_RUNS:-5}
MIB=${BENCH_PAYLOAD_MIB:-1024}
for t in hyperfine python3 openssl /usr/bin/time; do
	command -v "$t" >/dev/null || { echo "payload.bench: $t is not installed" >&2; exit 1; }
done
case $SECKIT in /*) ;; *) SECKIT=$(pwd)/$SECKIT ;; esac

tmp=$(mktemp -d "${TMPDIR:-/tmp}/seckit-bench.XXXXXX")
shm=""
if [ -d /dev/shm ] && [ -w /dev/shm ]; then
	shm=$(mktemp -d /dev/shm/seckit-bench.XXXXXX)
fi
trap 'rm -rf "$tmp" ${shm:+"$shm"}' EXIT INT TERM
export SECKIT_STORE="$tmp/store" SECKIT_CONFIG="$tmp/config.yaml"
: > "$SECKIT_CONFIG"
cd "$tmp"

openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out k.pem 2>/dev/null
openssl pkey -in k.pem -pubout -out k.pub
echo "payload.bench: writing a $MIB MiB payload" >&2
head -c "$((MIB * 1048576))" /dev/zero > payload    # real pages, not a sparse file
openssl dgst -sha256 -sign k.pem -out payload.sig payload
"$SECKIT" payload make --sign-key k.pem --in payload --out payload.pkg
bytes=$((MIB * 1048576))

# Throughput in MB/s of one command over the payload (median of RUNS).
rate() {
	hyperfine -N --warmup 1 --runs "$RUNS" --style none --export-json h.json "$1" \
		>/dev/null 2>&1 || { echo "payload.bench: hyperfine failed on: $1" >&2; return 1; }
	python3 -c 'import json,sys; m=json.load(open(sys.argv[1]))["results"][0]["median"]; print("%.0f" % (int(sys.argv[2]) / m / 1e6))' \
		h.json "$bytes"
}

# Peak resident set size in MiB of one command.
rss() {
	# shellcheck disable=SC2086
	/usr/bin/time -f %M -o rss.txt $1 >/dev/null 2>&1 ||
		{ echo "payload.bench: failed: $1" >&2; return 1; }
	python3 -c 'import sys; print("%.1f" % (int(open(sys.argv[1]).read().split()[-1]) / 1024))' rss.txt
}

# Median user / system CPU seconds of one command (3 runs).
cpu() {
	for _ in 1 2 3; do
		# shellcheck disable=SC2086
		/usr/bin/time -f "$1" -o cpu.txt $2 >/dev/null 2>&1 ||
			{ echo "payload.bench: failed: $2" >&2; return 1; }
		tail -n 1 cpu.txt
	done | sort -n | sed -n 2p
}
ucpu() { cpu %U "$1"; }
scpu() { cpu %S "$1"; }

verify="$SECKIT payload verify --pubkey k.pub --in payload.pkg"
overify="openssl dgst -sha256 -verify k.pub -signature payload.sig payload"
osign="openssl dgst -sha256 -sign k.pem -out o.sig payload"
make_disk="$SECKIT payload make --sign-key k.pem --in payload --out $tmp/out.pkg"

v=$(rate "$verify")
ov=$(rate "$overify")
printf 'payload: verify %s MiB vs openssl dgst -verify\t%s\t%s\tMB/s\t>= 0.95x\n' "$MIB" "$v" "$ov"
printf 'payload: verify %s MiB, peak RSS\t%s\t%s\tMiB\t< 16 MiB\n' "$MIB" "$(rss "$verify")" "$(rss "$overify")"
os=$(rate "$osign")
if [ -n "$shm" ]; then
	make_shm="$SECKIT payload make --sign-key k.pem --in payload --out $shm/out.pkg"
	printf 'payload: make %s MiB (tmpfs) vs openssl dgst -sign\t%s\t%s\tMB/s\t>= 0.95x\n' \
		"$MIB" "$(rate "$make_shm")" "$os"
	rm -f "$shm/out.pkg"
fi
printf 'payload: make %s MiB (TMPDIR, fsync) vs dgst -sign\t%s\t%s\tMB/s\t>= 0.95x\n' \
	"$MIB" "$(rate "$make_disk")" "$os"
printf 'payload: make %s MiB, peak RSS\t%s\t%s\tMiB\t< 16 MiB\n' "$MIB" "$(rss "$make_disk")" "$(rss "$osign")"
# make's own work besides the copy: user CPU (hash, sign, buffers) against
# dgst -sign's; the kernel's time to allocate and fill the copy's pages is
# what separates the two wall-clock rates (it varies a lot on a VM).
if [ -n "$shm" ]; then
	printf 'payload: make %s MiB (tmpfs), user CPU vs dgst -sign\t%s\t%s\ts\tinfo\n' "$MIB" \
		"$(ucpu "$make_shm")" "$(ucpu "$osign")"
	printf 'payload: make %s MiB (tmpfs), system CPU vs dgst -sign\t%s\t%s\ts\tinfo\n' "$MIB" \
		"$(scpu "$make_shm")" "$(scpu "$osign")"
	rm -f "$shm/out.pkg"
fi
