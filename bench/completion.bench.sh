#!/bin/sh
# Completion: what one TAB on a store name costs (issue 16: one process
# start and one read of the store's index, <= 20 ms).  A TAB is measured
# inside one bash that has sourced completions/seckit.bash, as a user's
# shell would (the median of BENCH_RUNS calls of _seckit, via
# $EPOCHREALTIME), against the same bash starting /bin/true once (the floor
# for "one process start").  The program alone is measured with hyperfine
# (-N): `seckit __complete key` against `seckit key list --names` (what the
# scripts called before) and /bin/true.  The store has 50 keys and lives in
# $TMPDIR (stat -f prints its file system to stderr: measure on a disk,
# not only on tmpfs).
set -eu
SECKIT=${SECKIT:-$(dirname "$0")/../seckit}
SRC=$(cd "$(dirname "$0")/.." && pwd)
RUNS=${BENCH_RUNS:-200}
command -v hyperfine >/dev/null || { echo "completion.bench: hyperfine is not installed" >&2; exit 1; }
command -v bash >/dev/null || { echo "completion.bench: bash is not installed" >&2; exit 1; }
command -v python3 >/dev/null || { echo "completion.bench: python3 is not installed" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/seckit-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
export SECKIT_STORE="$tmp/store" SECKIT_CONFIG="$tmp/config.yaml"
: > "$SECKIT_CONFIG"
echo "completion.bench: store on $(stat -f -c %T "$tmp")" >&2
n=0
while [ $n -lt 50 ]; do
	"$SECKIT" key create "key$n" --type ec-p256 >&2
	n=$((n + 1))
done
mkdir "$tmp/bin"
ln -s "$(cd "$(dirname "$SECKIT")" && pwd)/$(basename "$SECKIT")" "$tmp/bin/seckit"
true=$(command -v true)

# Median in milliseconds of one command.
median() {
	hyperfine -N --warmup 20 --runs "$RUNS" --style none \
		--export-json "$tmp/h.json" "$1" >/dev/null 2>&1 ||
		{ echo "completion.bench: hyperfine failed on: $1" >&2; return 1; }
	python3 -c 'import json,sys; print("%.3f" % (json.load(open(sys.argv[1]))["results"][0]["median"] * 1000))' "$tmp/h.json"
}

# Median wall time in milliseconds of RUNS TABs in one bash, then the CPU
# time (user + system, bash and its children, from bash's `times`) per TAB:
# "tab" completes `seckit key sign k` (the key names), "true" starts
# /bin/true the way the script starts seckit.  The CPU figure holds on a
# busy machine, where the wall time mostly measures the wait for a core.
# shellcheck disable=SC2016 # bash code, expanded by bash
tab() {
	PATH="$tmp/bin:$PATH" bash -c '
		source "$1/completions/seckit.bash"
		COMP_LINE="seckit key sign k"; COMP_POINT=${#COMP_LINE}
		COMP_WORDS=(seckit key sign k); COMP_CWORD=3
		t=()
		# CPU milliseconds used so far by this bash and its children, in
		# $ms: bash itself must run `times` (a $(...) subshell starts at 0).
		cpu() {
			local v m sec a=() sum=0
			times > "$tf"
			mapfile -t a < "$tf"
			for v in ${a[0]} ${a[1]}; do
				m=${v%%m*}; sec=${v#*m}; sec=${sec%s}
				sum=$((sum + m * 60000 + 10#${sec%.*} * 1000 + 10#${sec#*.}))
			done
			ms=$sum
		}
		c0=0 tf=$4
		for ((r = 0; r < $3 + 10; r++)); do
			s=$EPOCHREALTIME
			if [ "$2" = tab ]; then _seckit; else mapfile -t x < <(/bin/true); fi
			e=$EPOCHREALTIME
			((r < 10)) || t+=("$(((${e/./} - ${s/./})))")
			((r != 9)) || { cpu; c0=$ms; }
		done
		cpu; c1=$ms
		[ "$2" = true ] || [ "${#COMPREPLY[@]}" -eq 50 ] || { echo "completion.bench: ${#COMPREPLY[@]} names" >&2; exit 1; }
		printf "%s\n" "${t[@]}" | sort -n | awk -v cpu=$((c1 - c0)) -v n="$3" "{ v[NR] = \$1 } END { printf \"%.3f %.3f\n\", v[int((NR + 1) / 2)] / 1000, cpu / n }"
	' _ "$SRC" "$1" "$RUNS" "$tmp/times"
}

c=$(median "$SECKIT __complete key k")
l=$(median "$SECKIT key list --names")
t=$(median "$true")
# shellcheck disable=SC2046 # two numbers each, split on purpose
set -- $(tab tab) $(tab true)
bt=$1 btc=$2 bf=$3 bfc=$4
printf 'completion: bash TAB on key names vs bash starting /bin/true\t%s\t%s\tms\t<= 20 ms\n' "$bt" "$bf"
printf 'completion: CPU per TAB (bash + seckit) vs bash starting /bin/true\t%s\t%s\tms\t<= 20 ms\n' "$btc" "$bfc"
printf 'completion: seckit __complete key vs key list --names\t%s\t%s\tms\t<= 20 ms\n' "$c" "$l"
printf 'completion: seckit __complete key vs /bin/true\t%s\t%s\tms\tclose to 1x\n' "$c" "$t"
