# shellcheck shell=bash
# Shared set-up for every test file: each test runs hermetically in its own
# directory with its own HOME, store and config, a fixed locale and time
# zone, and none of the caller's SECKIT_* variables.

bats_require_minimum_version 1.5.0

SECKIT_SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# The binaries under test (ELF files: tests/90-hardening.bats reads them).
SECKIT_ELF="${SECKIT_BIN:-$SECKIT_SRC/seckit}"
# The test build (Makefile: seckit with the store's test hooks,
# SECKIT_TEST_CRASH_AT / SECKIT_TEST_FAIL_AT).  Only the tests that set a
# hook run it; every other test runs the release binary, $SECKIT.
SECKIT_TESTBUILD_ELF="${SECKIT_TESTBIN:-$SECKIT_SRC/build/test/seckit}"
SECKIT=$SECKIT_ELF
SECKIT_TESTBUILD=$SECKIT_TESTBUILD_ELF
# A binary for another architecture (make check-arm64) runs under an
# emulator: SECKIT_RUNNER="qemu-aarch64-static" (no binfmt here).  $SECKIT
# is then a script that runs the emulator with argv[0] kept, so that
# "$SECKIT", symbolic links named seckit-COMMAND to it and every tool
# that starts it (setsid, timeout, openssl's peers) work unchanged.
sk_runner_wrap() {
	local dir="${BATS_RUN_TMPDIR:?}/runner/$1" w
	w="$dir/seckit"
	if [ ! -x "$w" ]; then
		mkdir -p "$dir"
		# shellcheck disable=SC2016 # $0 and $@ are the script's
		printf '#!/bin/sh\nexec %s -0 "$0" %s "$@"\n' "$SECKIT_RUNNER" "'$2'" > "$w.$$"
		chmod 755 "$w.$$"
		mv -f "$w.$$" "$w"
	fi
	printf '%s\n' "$w"
}
if [ -n "${SECKIT_RUNNER:-}" ]; then
	SECKIT=$(sk_runner_wrap release "$SECKIT_ELF")
	SECKIT_TESTBUILD=$(sk_runner_wrap test "$SECKIT_TESTBUILD_ELF")
fi
export SECKIT_SRC SECKIT SECKIT_TESTBUILD SECKIT_ELF SECKIT_TESTBUILD_ELF
# shellcheck source=tests/wait.bash
. "$SECKIT_SRC/tests/wait.bash"
# shellcheck source=tests/backend.bash
. "$SECKIT_SRC/tests/backend.bash"

common_setup() {
	unset SECKIT_CONFIG SECKIT_STORE SECKIT_BACKEND SECKIT_TCTI SECKIT_PKCS11_MODULE
	export LC_ALL=C TZ=UTC
	export HOME="$BATS_TEST_TMPDIR/home"
	mkdir -p "$HOME"
	cd "$BATS_TEST_TMPDIR" || return 1
	umask 022
	# Cheap password hashing so that tests stay fast; the parameters are
	# stored in each object, so production defaults are untouched.
	cat > "$BATS_TEST_TMPDIR/config.yaml" <<-YAML
	password-kdf:
	  n: 1024
	  r: 8
	  p: 1
	YAML
	export SECKIT_CONFIG="$BATS_TEST_TMPDIR/config.yaml"
	export SECKIT_STORE="$BATS_TEST_TMPDIR/store"
	backend_test_setup
}

setup() {
	common_setup
}

# The backend matrix's set-up (tests/backend.bash); a file with its own
# setup_file or teardown_file calls these from it.
setup_file() {
	backend_setup_file
}

teardown_file() {
	backend_teardown_file
}

# Run seckit (use with bats' run: run -N sk key list).
sk() {
	"$SECKIT" "$@"
}

# Run the test build, for a test that sets a test hook:
#   SECKIT_TEST_FAIL_AT=commit run -1 sk_testbuild store write a --in f
sk_testbuild() {
	"$SECKIT_TESTBUILD" "$@"
}

# Fail with a message unless $1 does not exist.
assert_absent() {
	if [ -e "$1" ]; then
		echo "expected '$1' not to exist" >&2
		ls -la "$1" >&2
		return 1
	fi
}

# Exactly one line on stderr, starting with the given prefix.  bats' run
# mixes stdout and stderr unless --separate-stderr is used; tests that
# check stderr use `run --separate-stderr`.
assert_one_error_line() {
	local prefix="$1" n
	# shellcheck disable=SC2154 # $stderr is set by bats' run --separate-stderr
	n=$(printf '%s\n' "$stderr" | grep -c .)
	if [ "$n" -ne 1 ]; then
		echo "expected one line on stderr, got $n:" >&2
		printf '%s\n' "$stderr" >&2
		return 1
	fi
	case "$stderr" in
	"$prefix"*) ;;
	*) echo "stderr '$stderr' does not start with '$prefix'" >&2; return 1 ;;
	esac
}

# No temporary files left next to an output path.
assert_no_debris() {
	local dir="${1:-.}" f
	for f in "$dir"/.*.??????; do
		[ -e "$f" ] || continue
		echo "temporary files left in $dir:" >&2
		ls -la "$dir" >&2
		return 1
	done
}

# File mode in octal (e.g. 600).
file_mode() {
	stat -c %a "$1"
}

# Whether $SECKIT is a sanitizer build (make SANITIZE=1): valgrind cannot
# run it, LeakSanitizer cannot run under ptrace (strace), and its counts of
# instructions or memory mean nothing.
sanitizer_build() {
	grep -q __asan_init "$SECKIT"
}

# Under strace: no leak check (LeakSanitizer stops a traced process).
no_leak_check() {
	export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
}

# A test needs a tool: skip only when it is really absent (CI installs
# everything, so CI never skips).
require() {
	local t
	for t in "$@"; do
		command -v "$t" >/dev/null 2>&1 || skip "$t is not installed"
	done
}

# A seckit command that must fail: exit status $1, exactly one line on
# stderr starting with "seckit $2" ("seckit: " when $2 is empty), nothing
# on stdout.
#   sk_fails 8 "key sign: " key sign nosuch --in data --out sig
sk_fails() {
	local code=$1 prefix="seckit $2"
	shift 2
	[ "$prefix" != "seckit " ] || prefix="seckit: "
	run "-$code" --separate-stderr "$SECKIT" "$@"
	assert_one_error_line "$prefix"
	if [ -n "$output" ]; then
		echo "unexpected output on stdout: $output" >&2
		return 1
	fi
}

# flip_bit FILE OFFSET: invert the low bit of the byte at OFFSET (a
# corruption that always changes the file, unlike writing a fixed byte).
flip_bit() {
	local f=$1 off=$2 b
	b=$(dd if="$f" bs=1 skip="$off" count=1 status=none | xxd -p)
	[ -n "$b" ] || return 1
	printf '%b' "\\x$(printf '%02x' $((0x$b ^ 0x01)))" | dd of="$f" bs=1 seek="$off" conv=notrunc status=none
}

# Run a command with its stdout a pipe (not a file), into FILE; the status
# is the command's own (in a bare `cmd | cat`, only cat's would count).
#   piped got sk store read big
piped() {
	local out=$1
	shift
	"$@" | cat > "$out"
	return "${PIPESTATUS[0]}"
}
