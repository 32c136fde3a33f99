# shellcheck shell=bash
# Helpers shared by tests/30-store*.bats.

# The test-only driver of the store library (tests/unit/storetool.c).
ST="$SECKIT_SRC/build/unit/storetool"

# STORE_STRESS=1 (make stress) runs the long versions of the soak tests.
stress() {
	[ "${STORE_STRESS:-0}" = 1 ]
}

need_storetool() {
	[ -x "$ST" ] || skip "tests/unit/storetool.c is not built (make)"
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
	local d=${1:-$SECKIT_STORE} f rel junk=""
	for f in "$d"/* "$d"/.[!.]* "$d"/tmp/* "$d"/tmp/.[!.]*; do
		[ -e "$f" ] || continue
		rel=${f#"$d"/}
		case $rel in
		master.key | lock | tmp | idx.[0-9a-f][0-9a-f]) ;;
		*) [[ $rel =~ ^[0-9a-f]{64}$ ]] || junk="$junk $rel" ;;
		esac
	done
	if [ -n "$junk" ]; then
		echo "debris in $d:$junk" >&2
		return 1
	fi
}
