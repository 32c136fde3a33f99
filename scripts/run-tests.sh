#!/bin/sh
# Run the bats suite (or the given .bats files) and end with the line
#   N passed, N failed
# which is what CI reads.  Exit status is non-zero if anything failed.
set -u
cd "$(dirname "$0")/.." || exit 1

if [ $# -eq 0 ]; then
	set -- tests/*.bats
fi
log=$(mktemp "${TMPDIR:-/tmp}/seckit-tests.XXXXXX") || exit 1
rcfile=$(mktemp "${TMPDIR:-/tmp}/seckit-tests.XXXXXX") || exit 1
trap 'rm -f "$log" "$rcfile"' EXIT INT TERM

jobs=""
if command -v parallel >/dev/null 2>&1; then
	jobs="--jobs $(nproc 2>/dev/null || echo 1)"
fi
# shellcheck disable=SC2086
{ bats --tap $jobs "$@" 2>&1; echo $? > "$rcfile"; } | tee "$log"
status=$(cat "$rcfile")

passed=$(grep -c '^ok ' "$log")
failed=$(grep -c '^not ok ' "$log")
skipped=$(grep -c '^ok .* # skip' "$log")
planned=$(sed -n 's/^1\.\.\([0-9]*\)$/\1/p' "$log" | head -n 1)
if [ "$skipped" -gt 0 ]; then
	echo "($skipped of the passed tests were skipped)"
fi
# A crash of bats itself or a missing result is a failure too.
if [ -n "$planned" ] && [ $((passed + failed)) -lt "$planned" ]; then
	failed=$((failed + planned - passed - failed))
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$status" -eq 0 ]
