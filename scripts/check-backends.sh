#!/bin/sh
# The backend matrix (make check-backends): the suites that make keys, run
# once per backend with SECKIT_TEST_BACKEND set (tests/backend.bash):
# soft, tpm2 (swtpm), pkcs11 (SoftHSM2), pkcs11-tpm2 (tpm2-pkcs11 over
# swtpm and tpm2-abrmd).
# Prints, per backend, its own "N passed, N failed" line and the tests it
# skipped with their reasons, then a total line
#   backends: N passed, N failed (N of the passed skipped, Ns)
# Exit status is non-zero if anything failed on any backend.  With
# CHECK_BACKENDS_LOGS=DIR each backend's whole TAP log stays in DIR/B.log.
#   scripts/check-backends.sh [-b "soft tpm2"] suite.bats...
set -u
cd "$(dirname "$0")/.." || exit 1

backends="soft tpm2 pkcs11 pkcs11-tpm2"
if [ "${1:-}" = -b ]; then
	backends=$2
	shift 2
fi
if [ $# -eq 0 ]; then
	echo "usage: $0 [-b BACKENDS] SUITE.bats... (make check-backends passes BACKEND_SUITES)" >&2
	exit 2
fi
if [ -n "${CHECK_BACKENDS_LOGS:-}" ]; then
	dir=$CHECK_BACKENDS_LOGS
	mkdir -p "$dir" || exit 1
else
	dir=$(mktemp -d "${TMPDIR:-/tmp}/seckit-backends.XXXXXX") || exit 1
	trap 'rm -rf "$dir"' EXIT INT TERM
fi

total_p=0 total_f=0 total_s=0 summary=""
all_start=$(date +%s)
for b in $backends; do
	start=$(date +%s)
	echo "=== backend $b: $*"
	SECKIT_TEST_BACKEND=$b ./scripts/run-tests.sh "$@" > "$dir/$b.log" 2>&1
	secs=$(($(date +%s) - start))
	grep -E '^(not ok|#)' "$dir/$b.log" | grep -v '^# skip' || true
	last=$(tail -n 1 "$dir/$b.log")
	p=$(echo "$last" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1/p')
	f=$(echo "$last" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\2/p')
	if [ -z "$p" ] || [ $((p + f)) -eq 0 ]; then
		# run-tests.sh did not finish, or ran nothing: one failure.
		tail -n 20 "$dir/$b.log"
		p=0 f=1
	fi
	skips=$(grep -c '^ok .* # skip' "$dir/$b.log")
	if [ "$skips" -gt 0 ]; then
		echo "skipped on $b:"
		sed -n 's/^ok [0-9]* \(.*\) # skip \(.*\)$/  \1: \2/p' "$dir/$b.log"
		echo "skipped on $b, by reason:"
		sed -n 's/^ok [0-9]* .* # skip \(.*\)$/\1/p' "$dir/$b.log" | sort | uniq -c | sort -rn
	fi
	line="backend $b: $p passed, $f failed ($skips of the passed skipped, ${secs}s)"
	echo "$line"
	summary="$summary$line
"
	total_p=$((total_p + p))
	total_f=$((total_f + f))
	total_s=$((total_s + skips))
done
printf '%s' "$summary"
echo "backends: $total_p passed, $total_f failed ($total_s of the passed skipped, $(($(date +%s) - all_start))s)"
[ "$total_f" -eq 0 ]
