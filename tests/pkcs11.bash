# shellcheck shell=bash
# The pkcs11 test files' set-up (tests/80-pkcs11*.bats): SoftHSM2 tokens in
# a temporary SOFTHSM2_CONF, pkcs11-tool against them, and the wrapper
# module (tests/pkcs11/p11count.c) that counts the calls of a run and
# makes chosen calls fail.

MODULE=/usr/lib/softhsm/libsofthsm2.so
# Built by make (the Makefile's P11COUNT); SECKIT_P11COUNT for another
# build directory.
P11COUNT="${SECKIT_P11COUNT:-$SECKIT_SRC/build/pkcs11/p11count.so}"

# The set-up of a pkcs11 test: one token 'seckit' (user PIN 1234), the
# backend pkcs11 with its PIN from the config.
# shellcheck disable=SC2154 # $output is set by bats' run
pkcs11_setup() {
	common_setup
	require softhsm2-util pkcs11-tool openssl
	[ -e "$MODULE" ] || skip "SoftHSM2's module is not installed"
	# CI builds with p11-kit's header (scripts/install-deps.sh): the backend
	# is there.
	run -0 "$SECKIT" --version
	[[ "$output" == *"backend pkcs11: yes"* ]]
	mk_token "$BATS_TEST_TMPDIR/softhsm" seckit
	export SECKIT_BACKEND=pkcs11 SECKIT_PKCS11_MODULE=$MODULE SK_TEST_PIN=1234
	printf 'pkcs11:\n  pin: env:SK_TEST_PIN\n' >> "$SECKIT_CONFIG"
	echo "data to sign" > data
}

# mk_token DIR LABEL [MECHANISMS]: a SoftHSM2 configuration in DIR (exported
# as SOFTHSM2_CONF) with one token LABEL, user PIN 1234, SO PIN 5678.
mk_token() {
	mkdir -p "$1/tokens"
	{
		printf 'directories.tokendir = %s/tokens\n' "$1"
		printf 'objectstore.backend = file\nlog.level = ERROR\n'
		[ -z "${3:-}" ] || printf 'slots.mechanisms = %s\n' "$3"
	} > "$1/softhsm2.conf"
	export SOFTHSM2_CONF="$1/softhsm2.conf"
	softhsm2-util --init-token --free --label "$2" --so-pin 5678 --pin 1234 > /dev/null
}

p11tool() {
	pkcs11-tool --module "$MODULE" --token-label seckit --login --pin 1234 "$@"
}

# Calls through the wrapper module from now on (P11COUNT_* variables
# steer it: tests/pkcs11/p11count.c).
use_p11count() {
	[ -f "$P11COUNT" ] || skip "the PKCS#11 wrapper module is not built (make)"
	export SECKIT_PKCS11_MODULE=$P11COUNT P11COUNT_MODULE=$MODULE
}

# calls LOG NAME: how many times the log of the wrapper has call NAME.
calls() {
	grep -c "^$2 " "$1" || true
}
