#!/bin/sh
# The store (issue 5): write+read throughput of 4 KiB and 16 MiB objects
# against `openssl enc -aes-256-ctr` on the same data (the reference: an
# encrypted file without authentication, index or crash safety) and plain
# `cp` (the floor: no crypto at all); then operations per second with
# 10,000 small objects in one store.  No goal is set by the issue: the
# figures are measured, and the ratios show what sealing costs.
#   BENCH_RUNS      hyperfine runs per figure (default 30)
#   BENCH_OBJECTS   objects for the ops/s figures (default 10000)
set -eu
SECKIT=${SECKIT:-$(dirname "$0")/../seckit}
RUNS=${BENCH_RUNS:-30}
OBJECTS=${BENCH_OBJECTS:-10000}
command -v hyperfine >/dev/null || { echo "store.bench: hyperfine is not installed" >&2; exit 1; }
command -v python3 >/dev/null || { echo "store.bench: python3 is not installed" >&2; exit 1; }
command -v openssl >/dev/null || { echo "store.bench: openssl is not installed" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/seckit-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
export SECKIT_STORE="$tmp/store" SECKIT_CONFIG="$tmp/config.yaml"
: > "$SECKIT_CONFIG"
cd "$tmp"
KEY=$(openssl rand -hex 32)
IV=$(openssl rand -hex 16)
head -c 4096 /dev/urandom > d4k
head -c 16777216 /dev/urandom > d16m

# Median wall time of a shell command line, in seconds.
median() {
	hyperfine --warmup 3 --runs "$RUNS" --style none --export-json h.json "$1" >/dev/null 2>&1 ||
		{ echo "store.bench: hyperfine failed on: $1" >&2; return 1; }
	python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["results"][0]["median"])' h.json
}

# Seconds -> milliseconds; bytes / seconds -> MB/s (10^6).
ms() { python3 -c "import sys; print('%.2f' % (float(sys.argv[1]) * 1000))" "$1"; }
mbs() { python3 -c "import sys; print('%.1f' % (float(sys.argv[1]) / float(sys.argv[2]) / 1e6))" "$1" "$2"; }
rate() { python3 -c "import sys; print('%.0f' % (float(sys.argv[1]) / float(sys.argv[2])))" "$1" "$2"; }

# One write and one read of the same data, by each tool.
"$SECKIT" store write warm --in d4k
for f in d4k d16m; do
	s=$(median "$SECKIT store write obj --in $f && $SECKIT store read obj > /dev/null")
	o=$(median "openssl enc -aes-256-ctr -K $KEY -iv $IV -in $f -out $f.enc && openssl enc -d -aes-256-ctr -K $KEY -iv $IV -in $f.enc -out /dev/null")
	c=$(median "cp $f $f.copy && cp $f.copy /dev/null")
	size=$(wc -c < "$f")
	if [ "$f" = d4k ]; then
		printf 'store: write+read 4 KiB vs openssl enc\t%s\t%s\tms\tmeasure (sealed, indexed, crash-safe)\n' "$(ms "$s")" "$(ms "$o")"
		printf 'store: write+read 4 KiB vs cp (floor)\t%s\t%s\tms\tmeasure\n' "$(ms "$s")" "$(ms "$c")"
	else
		printf 'store: write+read 16 MiB vs openssl enc\t%s\t%s\tMB/s\tmeasure (sealed, indexed, crash-safe)\n' "$(mbs "$size" "$s")" "$(mbs "$size" "$o")"
		printf 'store: write+read 16 MiB vs cp (floor)\t%s\t%s\tMB/s\tmeasure\n' "$(mbs "$size" "$s")" "$(mbs "$size" "$c")"
	fi
done

# Many small objects: one process per operation, as scripts use it.
now() { date +%s.%N; }
elapsed() { python3 -c "import sys; print(float(sys.argv[2]) - float(sys.argv[1]))" "$1" "$2"; }
printf 'small value\n' > small
mkdir -p plain
echo "store.bench: writing $OBJECTS objects" >&2
t0=$(now)
i=0
while [ "$i" -lt "$OBJECTS" ]; do
	"$SECKIT" store write "o$i" --in small
	i=$((i + 1))
done
t1=$(now)
i=0
while [ "$i" -lt "$OBJECTS" ]; do
	openssl enc -aes-256-ctr -K "$KEY" -iv "$IV" -in small -out "plain/o$i"
	i=$((i + 1))
done
t2=$(now)
sw=$(rate "$OBJECTS" "$(elapsed "$t0" "$t1")")
ow=$(rate "$OBJECTS" "$(elapsed "$t1" "$t2")")
printf 'store: %s small objects, writes\t%s\t%s\tops/s\tmeasure\n' "$OBJECTS" "$sw" "$ow"
t0=$(now)
i=0
while [ "$i" -lt "$OBJECTS" ]; do
	"$SECKIT" store read "o$i" > /dev/null
	i=$((i + 1))
done
t1=$(now)
i=0
while [ "$i" -lt "$OBJECTS" ]; do
	openssl enc -d -aes-256-ctr -K "$KEY" -iv "$IV" -in "plain/o$i" -out /dev/null
	i=$((i + 1))
done
t2=$(now)
sr=$(rate "$OBJECTS" "$(elapsed "$t0" "$t1")")
or=$(rate "$OBJECTS" "$(elapsed "$t1" "$t2")")
printf 'store: %s small objects, reads\t%s\t%s\tops/s\tmeasure\n' "$OBJECTS" "$sr" "$or"
l=$(median "$SECKIT store list > /dev/null")
printf 'store: list with %s objects\t%s\t-\tms\tmeasure\n' "$OBJECTS" "$(ms "$l")"
c=$(median "$SECKIT store check > /dev/null")
printf 'store: check (verify all) with %s objects\t%s\t-\tms\tmeasure\n' "$OBJECTS" "$(ms "$c")"
