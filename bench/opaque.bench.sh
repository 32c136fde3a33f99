#!/bin/sh
# Batch OOID generation (seckit oo id --devices) for a fleet of 10,000
# devices (BENCH_DEVICES), against
#  - the physical limit: per device one ECDH, one key generation and one
#    ECDSA signature, at the per-core rates `openssl speed ecdhp256
#    ecdsap256` measures in the same run (key generation costed as one
#    signature: both are one fixed-base scalar multiplication), times the
#    cores used.  Goal: >= 60% of it.  (openssl speed divides by CPU
#    time; on a busy machine the wall-clock rates of seckit fall and its
#    CPU-time rate, also printed, is the figure to compare.)
#  - a per-device pipeline of openssl commands doing the same work
#    (bench/ooid-openssl.sh, on BENCH_BASELINE_DEVICES devices: it is slow).
#    Goal: >= 100x.
# The fleet's keys: BENCH_KEYS distinct P-256 keys made by openssl, reused
# under distinct ids (seckit does the same work per device whether keys
# repeat or not; making 10,000 key pairs with openssl would take minutes).
# Outputs go to a fresh directory of $TMPDIR (BENCH_OUT_DIR to choose the
# file system: file creation is a large part of the kernel time), synced at
# the end of each run as seckit always does (no per-file fsync: seckit-oo(1)).
set -eu
SECKIT=${SECKIT:-$(dirname "$0")/../seckit}
here=$(cd "$(dirname "$0")" && pwd)
N=${BENCH_DEVICES:-10000}
BASE=${BENCH_BASELINE_DEVICES:-40}
KEYS=${BENCH_KEYS:-200}
command -v openssl >/dev/null || { echo "opaque.bench: openssl is not installed" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "opaque.bench: /usr/bin/time (GNU time) is not installed" >&2; exit 1; }

tmp=$(mktemp -d "${BENCH_OUT_DIR:-${TMPDIR:-/tmp}}/seckit-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
cd "$tmp"
export SECKIT_STORE="$tmp/store" SECKIT_CONFIG="$tmp/config.yaml"
: > "$SECKIT_CONFIG"

echo "opaque.bench: $KEYS device keys, a fleet of $N" >&2
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out oem.pem 2>/dev/null
mkdir keys
seq 1 "$KEYS" | xargs -P 4 -I{} sh -c \
	'openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 2>/dev/null |
	 openssl pkey -pubout -out keys/k{}.pub'
awk -v n="$N" -v k="$KEYS" 'BEGIN {
	for (i = 1; i <= k; i++) {
		f = "keys/k" i ".pub"; pem[i] = ""
		while ((getline line < f) > 0) pem[i] = pem[i] "      " line "\n"
	}
	print "devices:"
	for (i = 0; i < n; i++) {
		printf "  - id: dev%06d\n    public-key: |\n%s", i, pem[i % k + 1]
	}
}' > fleet.yaml
head -c 100000 /dev/urandom > obj.bin
"$SECKIT" oo make --in obj.bin --out obj.enc --info obj.oocfg

# devices/s of one fleet run, from seckit's own JSON summary (wall clock);
# cpu.txt gets devices per user-CPU second (openssl speed's divisor too)
# and the kernel's microseconds per device (mostly creating the file)
rate() {
	dir=$1
	shift
	/usr/bin/time -f '%U %S' -o time.txt "$SECKIT" --json oo id --info obj.oocfg \
		--sign-key oem.pem --devices fleet.yaml --out-dir "$dir" "$@" > run.json
	awk -v n="$N" '{ printf "%.0f %.1f\n", n / ($1 > 0 ? $1 : 1), $2 * 1e6 / n }' time.txt > cpu.txt
	awk -F '[:,}]' '{ for (i = 1; i < NF; i++) {
		if ($i ~ /"written"/) w = $(i + 1); if ($i ~ /"milliseconds"/) ms = $(i + 1) } }
		END { printf "%.0f\n", w * 1000 / (ms > 0 ? ms : 1) }' run.json
}
cores=$("$SECKIT" --json oo id --info obj.oocfg --sign-key oem.pem --devices fleet.yaml \
	--out-dir warm --shard 1/100 | sed -n 's/.*"jobs":\([0-9]*\).*/\1/p')
echo "opaque.bench: seckit, $cores jobs" >&2
all=$(rate out-all)
echo "opaque.bench: seckit, 1 job" >&2
one=$(rate out-one --jobs 1)
onecpu=$(cut -d' ' -f1 cpu.txt)
onesys=$(cut -d' ' -f2 cpu.txt)
[ "$(find out-all -name '*.oid' | wc -l)" -eq "$N" ] || { echo "opaque.bench: not all OOIDs written" >&2; exit 1; }

echo "opaque.bench: openssl speed" >&2
openssl speed -seconds 3 -mr ecdhp256 ecdsap256 2>/dev/null > speed.txt
limit=$(awk -F: '/^\+F4:/ { sign = $4 } /^\+F5:/ { ecdh = $4 }
	END { printf "%.0f\n", 1 / (1 / ecdh + 2 / sign) }' speed.txt)

echo "opaque.bench: openssl pipeline, $BASE devices" >&2
set --
i=1
while [ "$i" -le "$BASE" ]; do
	cp "keys/k$(( (i - 1) % KEYS + 1 )).pub" "keys/base$i.pub"
	set -- "$@" "keys/base$i.pub"
	i=$((i + 1))
done
t0=$(date +%s.%N)
"$here/ooid-openssl.sh" obj.oocfg oem.pem out-openssl "$@"
t1=$(date +%s.%N)
base=$(awk -v n="$BASE" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f\n", n / (b - a) }')
# the baseline made real OOIDs (tests/51-oo.bats opens the recipes' OOIDs)
if [ "$(find out-openssl -name '*.oid' | wc -l)" -ne "$BASE" ] ||
	! "$SECKIT" oo show out-openssl/base1.oid >/dev/null; then
	echo "opaque.bench: the openssl baseline failed" >&2
	exit 1
fi

printf 'oo id: %s devices, %s jobs, vs limit x cores\t%s\t%s\tdevices/s\t>= 0.6x\n' \
	"$N" "$cores" "$all" "$((limit * cores))"
printf 'oo id: %s devices, 1 job, vs limit (1 core)\t%s\t%s\tdevices/s\t>= 0.6x\n' "$N" "$one" "$limit"
printf 'oo id: 1 job, devices per user-CPU second vs limit\t%s\t%s\tdevices/s\t>= 0.6x\n' "$onecpu" "$limit"
printf 'oo id: kernel time per OOID file (create, rename)\t%s\t-\tus\tinformation\n' "$onesys"
printf 'oo id: %s devices vs openssl pipeline\t%s\t%s\tdevices/s\t>= 100x\n' "$N" "$all" "$base"
