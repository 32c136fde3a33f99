#!/bin/sh
# Fleet output at scale, in one run on one machine (its name, CPUs and load
# on the first row):
#  - `oo id --devices` into one archive (--out-archive) and into a
#    directory (--out-dir), both on disk (BENCH_OUT_DIR, default /var/tmp:
#    not a tmpfs), against the `openssl speed` limit for its per-device
#    crypto (one ECDH, one key generation costed as a signature, one ECDSA
#    signature, as bench/opaque.bench.sh) on the cores used (`openssl
#    speed -multi`, all cores busy at once; the one-core limit times the
#    cores is printed beside it).  Goal: >= 75% of it into an archive.
#    Beside it the same as CPU time (user + system) per device against the
#    limit's CPU time per device (openssl speed counts CPU time).
#  - the same for `opaque-key make --devices`, with one key for all (the
#    crypto of an OOID) and with --generate (one more key generation).
#  - peak RSS (GNU time) of the full run at BENCH_DEVICES (10^4); and of
#    fleets of 10^4 and BENCH_RSS_DEVICES (10^5) devices, and of 10^6 with
#    BENCH_MILLION=1 (or BENCH_FLEET_BIG=1; about 10 s more), each against
#    the 10^4 fleet's: the ids (28 bytes) are all parsed and checked for
#    duplicates (src/base/bigset.c: a bounded filter in memory, the ids in
#    an unnamed file in TMPDIR), but --shard 1/100000 makes only the
#    devices 0, 100000 ..., whose key is a file; what is measured is the
#    parse and the set of ids, not the crypto (bounded by the job queue).
#  - `oo id --key NAME` with the OEM key on a SoftHSM2 token (backend
#    pkcs11): devices/s, one signature each, against openssl's signatures/s
#    for the same key type on one core (the token signs one at a time).
# BENCH_HSM_DEVICES (2000) devices for the token run.
set -eu
SECKIT=${SECKIT:-$(dirname "$0")/../seckit}
SECKIT=$(cd "$(dirname "$SECKIT")" && pwd)/$(basename "$SECKIT")
N=${BENCH_DEVICES:-10000}
NRSS=${BENCH_RSS_DEVICES:-100000}
NHSM=${BENCH_HSM_DEVICES:-2000}
KEYS=${BENCH_KEYS:-200}
MODULE=${BENCH_PKCS11_MODULE:-/usr/lib/softhsm/libsofthsm2.so}
for t in openssl softhsm2-util; do
	command -v "$t" >/dev/null || { echo "fleet.bench: $t is not installed" >&2; exit 1; }
done
[ -x /usr/bin/time ] || { echo "fleet.bench: /usr/bin/time (GNU time) is not installed" >&2; exit 1; }
[ -e "$MODULE" ] || { echo "fleet.bench: no SoftHSM2 module at $MODULE" >&2; exit 1; }

tmp=$(mktemp -d "${BENCH_OUT_DIR:-/var/tmp}/seckit-fleet-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
cd "$tmp"
export SECKIT_STORE="$tmp/store" SECKIT_CONFIG="$tmp/config.yaml"
unset SECKIT_BACKEND SECKIT_PKCS11_MODULE
: > "$SECKIT_CONFIG"
fs=$(df -PT . | awk 'NR == 2 { print $2 }')
printf 'fleet: machine %s, %s CPUs, load %s, outputs on %s (%s)\t-\t-\t-\tinformation\n' \
	"$(uname -n)" "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)" "$fs" "${BENCH_OUT_DIR:-/var/tmp}"

# fleet.yaml of $1 devices over $KEYS distinct keys (inline PEM)
mk_fleet() {
	awk -v n="$1" -v k="$KEYS" 'BEGIN {
		for (i = 1; i <= k; i++) {
			f = "keys/k" i ".pub"; pem[i] = ""
			while ((getline line < f) > 0) pem[i] = pem[i] "      " line "\n"
		}
		print "devices:"
		for (i = 0; i < n; i++)
			printf "  - id: dev%07d\n    public-key: |\n%s", i, pem[i % k + 1]
	}' > "$2"
}
echo "fleet.bench: $KEYS device keys, a fleet of $N" >&2
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out oem.pem 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out sent.pem 2>/dev/null
mkdir keys
seq 1 "$KEYS" | xargs -P 4 -I{} sh -c \
	'openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 2>/dev/null |
	 openssl pkey -pubout -out keys/k{}.pub'
mk_fleet "$N" fleet.yaml
head -c 100000 /dev/urandom > obj.bin
"$SECKIT" oo make --in obj.bin --out obj.enc --info obj.oocfg

# run NAME SECKIT-ARGS...: devices/s of one run from its JSON summary
# (wall clock); NAME.rss gets the peak RSS in kB, NAME.cpu the CPU time
# (user + system, all threads) per device written in microseconds: that
# one does not move with the machine's load
run() {
	name=$1
	shift
	/usr/bin/time -f '%M %U %S' -o "$name.time" "$SECKIT" --json "$@" > "$name.json"
	awk -F '[:,}]' '{ for (i = 1; i < NF; i++) {
		if ($i ~ /"written"/) w = $(i + 1); if ($i ~ /"milliseconds"/) ms = $(i + 1) } }
		END { printf "%.0f\n", w * 1000 / (ms > 0 ? ms : 1) }' "$name.json"
	awk '{ print $1 }' "$name.time" > "$name.rss"
	w=$(sed -n 's/.*"written":\([0-9]*\).*/\1/p' "$name.json")
	awk -v w="$w" '{ printf "%.1f\n", ($2 + $3) * 1e6 / (w > 0 ? w : 1) }' "$name.time" > "$name.cpu"
}
# ooid NAME ARGS..., okey NAME ARGS...: one run over fleet.yaml
ooid() {
	n=$1
	shift
	run "$n" oo id --info obj.oocfg --sign-key oem.pem --devices fleet.yaml "$@"
}
okey() {
	n=$1
	shift
	run "$n" opaque-key make --name app.key --type ec-p256 --sign-key oem.pem --devices fleet.yaml "$@"
}

echo "fleet.bench: oo id" >&2
oo_ar=$(ooid oo-ar --out-archive oo.tar --manifest oo.jsonl)
oo_dir=$(ooid oo-dir --out-dir oo-out)
cores=$(sed -n 's/.*"jobs":\([0-9]*\).*/\1/p' oo-ar.json)
[ "$(tar -tf oo.tar | wc -l)" -eq "$N" ] || { echo "fleet.bench: the archive misses OOIDs" >&2; exit 1; }
echo "fleet.bench: opaque-key make" >&2
ok_ar=$(okey ok-ar --key sent.pem --out-archive ok.tar --manifest ok.jsonl)
ok_dir=$(okey ok-dir --key sent.pem --out-dir ok-out)
ok_gen=$(okey ok-gen --generate --out-archive gen.tar --manifest gen.jsonl)
[ "$(wc -l < gen.jsonl)" -eq "$N" ] || { echo "fleet.bench: the manifest misses devices" >&2; exit 1; }
rss=$(cat oo-ar.rss)

# The limit, from `openssl speed` (which counts user CPU time per
# operation): one ECDH and two signatures per device (three with
# --generate).  Measured twice, after the seckit runs: on one core while
# the others idle (speed.txt), and with -multi on as many cores as the
# runs used, all busy at once (speedm.txt: the sum of the processes'
# rates).  The second is the limit on the cores used: two busy vCPUs of
# a VM need not run as fast as one busy one (shared host core or cache),
# and seckit keeps them all busy.  The goal rows use it; the single-core
# limit times the cores is printed beside it for information.
# limit_of FILE SIGNS: devices/s; cpu_of FILE SIGNS CORES: us per device
limit_of() {
	awk -F: -v k="$2" '/^\+F4:/ { sign = $4 } /^\+F5:/ { ecdh = $4 }
		END { printf "%.0f\n", 1 / (1 / ecdh + k / sign) }' "$1"
}
cpu_of() {
	awk -F: -v k="$2" -v c="$3" '/^\+F4:/ { sign = $4 } /^\+F5:/ { ecdh = $4 }
		END { printf "%.1f\n", c * 1e6 * (1 / ecdh + k / sign) }' "$1"
}
echo "fleet.bench: openssl speed, 1 core and $cores cores" >&2
openssl speed -seconds 3 -mr ecdhp256 ecdsap256 2>/dev/null > speed.txt
openssl speed -seconds 3 -multi "$cores" -mr ecdhp256 ecdsap256 2>/dev/null | grep '^+F' > speedm.txt
sign=$(awk -F: '/^\+F4:/ { print $4 }' speed.txt)
limit1=$(limit_of speed.txt 2)
limit=$(limit_of speedm.txt 2)
limit_gen=$(limit_of speedm.txt 3)
# the same as CPU time per device, against seckit's (user + system, all
# threads): a ratio a loaded machine moves less
cpu_limit1=$(cpu_of speed.txt 2 1)
cpu_limit=$(cpu_of speedm.txt 2 "$cores")
cpu_limit_gen=$(cpu_of speedm.txt 3 "$cores")

# ids_rss N: peak RSS (kB) of oo id over a fleet of N devices (ids of 28
# bytes, keys by file), shard 1/100000
ids_rss() {
	awk -v n="$1" 'BEGIN { print "devices:"
		for (i = 0; i < n; i++)
			printf "  - id: plant-a-batch-11-dev-%07d\n    public-key-file: keys/k1.pub\n", i }' > ids.yaml
	rm -f ids.tar
	run rss-ids oo id --info obj.oocfg --sign-key oem.pem --devices ids.yaml --shard 1/100000 \
		--out-archive ids.tar > /dev/null
	rm -f ids.yaml ids.tar
	cat rss-ids.rss
}
echo "fleet.bench: peak RSS, 10^4 and $NRSS devices" >&2
rss_4=$(ids_rss 10000)
rss_big=$(ids_rss "$NRSS")
if [ "${BENCH_MILLION:-${BENCH_FLEET_BIG:-0}}" = 1 ]; then
	echo "fleet.bench: peak RSS, 10^6 devices" >&2
	rss_m=$(ids_rss 1000000)
fi

echo "fleet.bench: SoftHSM2, $NHSM devices" >&2
mkdir -p hsm/tokens
printf 'directories.tokendir = %s/hsm/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' \
	"$tmp" > hsm/softhsm2.conf
export SOFTHSM2_CONF="$tmp/hsm/softhsm2.conf" SK_BENCH_PIN=1234
softhsm2-util --init-token --free --label seckit --so-pin 5678 --pin 1234 > /dev/null
printf 'pkcs11:\n  pin: env:SK_BENCH_PIN\n' > hsm.yaml
hsm() {
	SECKIT_CONFIG="$tmp/hsm.yaml" "$SECKIT" --backend pkcs11 --pkcs11-module "$MODULE" "$@"
}
hsm key create oem --type ec-p256 > /dev/null
mk_fleet "$NHSM" hsm.yaml.fleet
hsm_rate=$(export SECKIT_CONFIG="$tmp/hsm.yaml"; run hsm-run --backend pkcs11 --pkcs11-module "$MODULE" \
	oo id --info obj.oocfg --key oem --devices hsm.yaml.fleet --out-archive hsm.tar)
[ "$(tar -tf hsm.tar | wc -l)" -eq "$NHSM" ] || { echo "fleet.bench: the token run misses OOIDs" >&2; exit 1; }

printf 'fleet: oo id, %s devices, --out-archive on %s vs limit on %s cores (speed -multi)\t%s\t%s\tdevices/s\t>= 0.75x\n' \
	"$N" "$fs" "$cores" "$oo_ar" "$limit"
printf 'fleet: oo id, %s devices, --out-archive on %s vs 1-core limit x %s\t%s\t%s\tdevices/s\tinformation\n' \
	"$N" "$fs" "$cores" "$oo_ar" "$((limit1 * cores))"
printf 'fleet: oo id, %s devices, --out-dir on %s vs limit on %s cores\t%s\t%s\tdevices/s\tinformation\n' \
	"$N" "$fs" "$cores" "$oo_dir" "$limit"
printf 'fleet: opaque-key make --key, --out-archive vs limit on %s cores\t%s\t%s\tdevices/s\t>= 0.75x\n' \
	"$cores" "$ok_ar" "$limit"
printf 'fleet: opaque-key make --key, --out-dir vs limit on %s cores\t%s\t%s\tdevices/s\tinformation\n' \
	"$cores" "$ok_dir" "$limit"
printf 'fleet: opaque-key make --generate, --out-archive vs limit on %s cores\t%s\t%s\tdevices/s\t>= 0.75x\n' \
	"$cores" "$ok_gen" "$limit_gen"
printf 'fleet: oo id, --out-archive, CPU time per device vs the limit'"'"'s on %s cores (1 ECDH + 2 signatures)\t%s\t%s\tus\t>= 0.75x\n' \
	"$cores" "$(cat oo-ar.cpu)" "$cpu_limit"
printf 'fleet: oo id, --out-archive, CPU time per device vs the 1-core limit'"'"'s\t%s\t%s\tus\tinformation\n' \
	"$(cat oo-ar.cpu)" "$cpu_limit1"
printf 'fleet: opaque-key make --key, --out-archive, CPU time per device vs the limit'"'"'s\t%s\t%s\tus\t>= 0.75x\n' \
	"$(cat ok-ar.cpu)" "$cpu_limit"
printf 'fleet: opaque-key make --generate, --out-archive, CPU time per device vs the limit'"'"'s (1 ECDH + 3 signatures)\t%s\t%s\tus\t>= 0.75x\n' \
	"$(cat ok-gen.cpu)" "$cpu_limit_gen"
printf 'fleet: peak RSS, oo id, %s devices\t%s\t-\tkB\tinformation\n' "$N" "$rss"
printf 'fleet: peak RSS, ids of 10^4 devices (shard 1/100000 made)\t%s\t-\tkB\tinformation\n' "$rss_4"
printf 'fleet: peak RSS, ids of %s devices vs 10^4\t%s\t%s\tkB\t>= 0.67x (bounded)\n' "$NRSS" "$rss_big" "$rss_4"
if [ -n "${rss_m:-}" ]; then
	printf 'fleet: peak RSS, ids of 10^6 devices vs 10^4\t%s\t%s\tkB\t>= 0.67x (bounded)\n' "$rss_m" "$rss_4"
fi
printf 'fleet: oo id --key on SoftHSM2 (pkcs11), %s devices vs openssl ECDSA P-256 signs, 1 core\t%s\t%s\tsignatures/s\tinformation\n' \
	"$NHSM" "$hsm_rate" "$(printf '%.0f' "$sign")"
