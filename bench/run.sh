#!/bin/sh
# Run every bench/*.bench.sh (or the ones given) and print one table:
#   figure  seckit  reference  unit  ratio  goal
# Each bench script prints rows "name<TAB>seckit<TAB>reference<TAB>unit<TAB>goal"
# on stdout (anything else goes to stderr).  ratio > 1 means seckit is
# better: reference/seckit for times, seckit/reference for rates (units
# ending in "/s").  See bench/README.md.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
SECKIT=${SECKIT:-$here/../seckit}
export SECKIT
[ -x "$SECKIT" ] || { echo "bench: $SECKIT is not built (run make)" >&2; exit 1; }

if [ $# -eq 0 ]; then
	set -- "$here"/*.bench.sh
fi
rows=$(mktemp "${TMPDIR:-/tmp}/seckit-bench.XXXXXX")
trap 'rm -f "$rows"' EXIT INT TERM
status=0
for b in "$@"; do
	[ -f "$b" ] || continue
	echo "bench: running $(basename "$b")" >&2
	# A script's own shebang decides its shell; plain files run with sh.
	if [ -x "$b" ]; then run="$b"; else run="sh $b"; fi
	# shellcheck disable=SC2086
	if ! $run >> "$rows"; then
		echo "bench: $(basename "$b") failed" >&2
		status=1
	fi
done

awk -F '\t' '
function ratio(s, r, u) {
	if (s == "-" || r == "-" || s + 0 <= 0 || r + 0 <= 0) return "-"
	if (u ~ /\/s$/) return sprintf("%.2fx", s / r)
	return sprintf("%.2fx", r / s)
}
BEGIN { printf "%-44s %12s %12s %-8s %8s  %s\n", "figure", "seckit", "reference", "unit", "ratio", "goal" }
NF >= 5 { printf "%-44s %12s %12s %-8s %8s  %s\n", $1, $2, $3, $4, ratio($2, $3, $4), $5 }
NF > 0 && NF < 5 { print "bench: malformed row: " $0 > "/dev/stderr"; bad = 1 }
END { exit bad }
' "$rows" || status=1
exit $status
