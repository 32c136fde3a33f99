#!/usr/bin/env bats
# Disk full and I/O errors: a write that fails leaves the old value intact
# and exits 1 with the reason; the next write after the problem is gone
# succeeds and leaves no debris.

load helper
load store

# Run tests/store-diskfull.sh with a tmpfs of $1 mounted in a private mount
# namespace: as root directly, otherwise in a user namespace.
with_small_fs() {
	local size=$1 mnt="$BATS_TEST_TMPDIR/small" script="$SECKIT_SRC/tests/store-diskfull.sh"
	local flags=""
	mkdir -p "$mnt" "$BATS_TEST_TMPDIR/work"
	if [ "$(id -u)" -eq 0 ] && unshare -m true 2> /dev/null; then
		flags=-m
	elif unshare -rm true 2> /dev/null; then
		flags=-rm
	else
		skip "cannot mount a small filesystem here (needs root or user namespaces)"
	fi
	# shellcheck disable=SC2016
	unshare $flags bash -c 'mount -t tmpfs -o size="$1",mode=0700 tmpfs "$2" && exec bash "$3" "$2" "$4"' \
		_ "$size" "$mnt" "$script" "$BATS_TEST_TMPDIR/work"
}

@test "disk full at every stage of a write: exit 1 with the reason, the old value intact" {
	run with_small_fs 1m
	echo "$output" | tail -n 3 >&3
	[ "$status" -eq 0 ]
	[[ "$output" == *"writes refused for lack of space: "* ]]
}

# I/O errors injected at each step (SECKIT_TEST_FAIL_AT, store.h).
@test "I/O errors at each step of a commit: exit 1, old value intact, next write clean" {
	need_storetool
	echo old | sk store write a
	echo pw-old | sk store write p --pass pass:pw
	"$ST" "$SECKIT_STORE" multi m 6 m-old
	for step in body-write body-sync index-write stage commit; do
		echo new > new
		SECKIT_TEST_FAIL_AT=$step run -1 --separate-stderr sk_testbuild store write a --in new
		assert_one_error_line "seckit store write: "
		[[ "$stderr" == *"Input/output error" ]]
		run -0 sk store read a
		[ "$output" = old ]
		SECKIT_TEST_FAIL_AT=$step run -1 sk_testbuild store write p --pass pass:pw --in new
		run -0 sk store read p --pass pass:pw
		[ "$output" = pw-old ]
		case $step in
		index-write|commit) # the steps a delete goes through
			SECKIT_TEST_FAIL_AT=$step run -1 sk_testbuild store delete a
			run -0 sk store read a ;;
		esac
		SECKIT_TEST_FAIL_AT=$step run -1 sk_testbuild key create "k-$step" --type ec-p256
		run -8 sk key info "k-$step"
		SECKIT_TEST_FAIL_AT=$step run -1 "$ST" "$SECKIT_STORE" multi m 6 m-new
		run -0 "$ST" "$SECKIT_STORE" same m 6
		[ "$output" = m-old ]
		run -0 sk store list
	done
	echo fine | sk store write a
	run -0 sk store read a
	[ "$output" = fine ]
	assert_store_clean
	run -0 sk store check
}

# The hooks are compiled into the test build only (Makefile, store.h).
@test "the release binary reads no test hook; the test build does" {
	echo old | sk store write a
	echo new > new
	SECKIT_TEST_FAIL_AT=commit run -0 sk store write a --in new
	run -0 sk store read a
	[ "$output" = new ]
	SECKIT_TEST_CRASH_AT=before-rename run -0 sk store write b --in new
	run -0 sk store read b
	[ "$output" = new ]
	run -1 grep -c SECKIT_TEST_ "$SECKIT"
	[ "$output" = 0 ]
	# The same variable does work in the test build.
	SECKIT_TEST_FAIL_AT=commit run -1 sk_testbuild store write a --in old
	run -0 sk store read a
	[ "$output" = new ]
}
