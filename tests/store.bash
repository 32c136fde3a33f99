# shellcheck shell=bash
# Helpers shared by tests/30-store*.bats.

ST="$SECKIT_SRC/tests/storetool"

# STORE_STRESS=1 (make stress) runs the long versions of the soak tests.
stress() {
	[ "${STORE_STRESS:-0}" = 1 ]
}

need_storetool() {
	[ -x "$ST" ] || skip "tests/storetool is not built (make tests/storetool)"
}

# The store file of data object $1.
obj_file() {
	"$SECKIT" store info "$1" | awk '$1 == "file:" { print $2 }'
}

# Its index bucket.
bucket_of() {
	echo "idx.$(printf %s "$1" | cut -c1-2)"
}

# Nothing a crash could have left behind: no staged versions, no journal,
# no temporary files (call after a successful write).
assert_store_clean() {
	local d=${1:-$SECKIT_STORE} junk
	junk=$(ls -A "$d" | grep -v -E '^([0-9a-f]{64}|idx\.[0-9a-f]{2}|master\.key|lock|tmp)$' || true)
	if [ -n "$junk" ] || [ -n "$(ls -A "$d/tmp" 2>/dev/null)" ]; then
		echo "debris in $d: $junk $(ls -A "$d/tmp" 2>/dev/null)" >&2
		return 1
	fi
}
