#!/bin/sh
# Start-up cost: median wall time of short commands, launched directly
# (hyperfine -N, no shell in between), against `openssl version` (a
# program that loads the same library) and /bin/true (the floor).
# Goal (issue 2): seckit --version and seckit key info NAME <= 1.5 ms and at
# least 2x faster than `openssl version` in the same run.  Goal (issue 14):
# within 1.3x of /bin/true, measured in pairs (bench/pairs.py: seckit, then
# /bin/true, alternately; the median of the pairs' ratios), so that both
# see the same load.
set -eu
SECKIT=${SECKIT:-$(dirname "$0")/../seckit}
RUNS=${BENCH_RUNS:-300}
command -v hyperfine >/dev/null || { echo "startup.bench: hyperfine is not installed" >&2; exit 1; }
command -v python3 >/dev/null || { echo "startup.bench: python3 is not installed" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/seckit-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
export SECKIT_STORE="$tmp/store" SECKIT_CONFIG="$tmp/config.yaml"
: > "$SECKIT_CONFIG"
"$SECKIT" key create device --type ec-p256 >&2
true=$(command -v true)
openssl=$(command -v openssl)

# Median in milliseconds of one command.
median() {
	hyperfine -N --warmup 30 --runs "$RUNS" --style none \
		--export-json "$tmp/h.json" "$1" >/dev/null 2>&1 ||
		{ echo "startup.bench: hyperfine failed on: $1" >&2; return 1; }
	python3 -c 'import json,sys; print("%.3f" % (json.load(open(sys.argv[1]))["results"][0]["median"] * 1000))' "$tmp/h.json"
}

v=$(median "$SECKIT --version")
i=$(median "$SECKIT key info device")
o=$(median "$openssl version")
printf 'startup: seckit --version vs openssl version\t%s\t%s\tms\t<= 1.5 ms, >= 2x\n' "$v" "$o"
printf 'startup: seckit key info vs openssl version\t%s\t%s\tms\t<= 1.5 ms, >= 2x\n' "$i" "$o"
# In pairs with /bin/true: the medians of each side, and of the ratios
# (stderr, as run.sh's ratio column is computed from the medians).
for c in "--version" "key info device"; do
	# shellcheck disable=SC2086 # $c is the command's words
	r=$("$(dirname "$0")/pairs.py" "$RUNS" 30 "$SECKIT" $c -- "$true") ||
		{ echo "startup.bench: pairs failed on: seckit $c" >&2; exit 1; }
	# shellcheck disable=SC2086 # three numbers
	set -- $r
	echo "startup.bench: seckit $c / $true: median of $RUNS pairs' ratios $3" >&2
	printf 'startup: seckit %s vs /bin/true (pairs)\t%s\t%s\tms\t<= 1.3x (ratio >= 0.77)\n' "${c% device}" "$1" "$2"
done
