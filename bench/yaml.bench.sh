#!/bin/sh
# The YAML reader on one mapping of 10^6 keys (BENCH_YAML_KEYS): a fleet
# file whose one device carries that many extra keys (the factory's own
# data, allowed and ignored), read by `seckit oo id --devices`, which
# builds the item as a tree and checks every mapping for duplicate keys.
# Reference: the floor, libyaml's event parser alone over the same file
# (bench/yaml-events.c, compiled here; no tree, no checks).  PyYAML's
# libyaml loader, what a user might reach for, is no reference: it takes
# over a minute on this file.  Goal (issue 17): linear, within 10 s (the
# quadratic check took 6.4 s for 40,000 keys and over 10 minutes for
# 300,000).  Median of BENCH_RUNS (default 3) runs, in CPU seconds.
set -eu
SECKIT=${SECKIT:-$(dirname "$0")/../seckit}
SECKIT=$(cd "$(dirname "$SECKIT")" && pwd)/$(basename "$SECKIT")
N=${BENCH_YAML_KEYS:-1000000}
RUNS=${BENCH_RUNS:-3}
command -v openssl >/dev/null || { echo "yaml.bench: openssl is not installed" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "yaml.bench: /usr/bin/time (GNU time) is not installed" >&2; exit 1; }
command -v cc >/dev/null || { echo "yaml.bench: no C compiler for the reference" >&2; exit 1; }
here=$(cd "$(dirname "$0")" && pwd)

tmp=$(mktemp -d "${TMPDIR:-/tmp}/seckit-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
# shellcheck disable=SC2046 # pkg-config prints several words
cc -O2 -o "$tmp/yaml-events" "$here/yaml-events.c" $(pkg-config --cflags --libs yaml-0.1) ||
	{ echo "yaml.bench: cannot build yaml-events (libyaml-dev)" >&2; exit 1; }
cd "$tmp"
export SECKIT_STORE="$tmp/store" SECKIT_CONFIG="$tmp/config.yaml"
: > "$SECKIT_CONFIG"

openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out oem.pem 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 2>/dev/null |
	openssl pkey -pubout -out dev.pub
echo payload > obj.bin
"$SECKIT" oo make --in obj.bin --out obj.enc --info obj.oocfg >&2
awk -v n="$N" 'BEGIN {
	print "devices:"
	print "  - id: dev000001"
	print "    public-key-file: dev.pub"
	for (i = 0; i < n; i++) printf "    k%07d: %d\n", i, i
}' > fleet.yaml
echo "yaml.bench: one mapping of $N keys, $(wc -c < fleet.yaml) bytes" >&2

# CPU seconds (user + system) of one run of a command: on a shared
# machine the wall clock measures the neighbours as much as the command.
secs() {
	/usr/bin/time -f '%U %S' -o cpu.txt "$@" > /dev/null
	awk '{ printf "%.3f\n", $1 + $2 }' cpu.txt
}

# Median of RUNS runs.
median() {
	i=0
	: > times.txt
	while [ "$i" -lt "$RUNS" ]; do
		secs "$@" >> times.txt
		i=$((i + 1))
	done
	sort -n times.txt | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

sk=$(median "$SECKIT" oo id --info obj.oocfg --sign-key oem.pem --devices fleet.yaml --out-dir out)
[ -s out/dev000001.oid ] || { echo "yaml.bench: no OOID written" >&2; exit 1; }
ev=$(median ./yaml-events fleet.yaml)
printf 'yaml: %s keys in one mapping (oo id --devices) vs libyaml events alone (CPU)\t%s\t%s\ts\t<= 10 s\n' "$N" "$sk" "$ev"
