# shellcheck shell=bash
# The backend matrix (make check-backends, docs/HACKING.md): with
# SECKIT_TEST_BACKEND=soft|tpm2|pkcs11 the suites that make keys make them
# on that backend, so that one suite runs over every backend.  Unset (make
# check, make test), nothing changes: keys are made on the default backend,
# soft, and SECKIT_BACKEND stays unset.
#
#   tpm2    one swtpm per test file (tests/tpm.bash), started by
#           backend_setup_file and stopped by backend_teardown_file; each
#           test gets SECKIT_BACKEND=tpm2 and its TCTI.
#   pkcs11  one SoftHSM2 token per test (tests/pkcs11.bash mk_token, its
#           own SOFTHSM2_CONF), SECKIT_BACKEND=pkcs11, the module, and the
#           user PIN from the test's config (pkcs11: pin: env:SK_TEST_PIN).
#   pkcs11-tpm2  the pkcs11 backend over tpm2-pkcs11, as the i.MX8X kit
#           uses it: per test file swtpm, a private D-Bus bus and
#           tpm2-abrmd (tests/tpm2-pkcs11.bash; a swtpm of the file's own
#           stays the file's), per test a token 'seckit' made by
#           tpm2_ptool init/addtoken in the test's own token store.  Tests
#           see SK_BACKEND=pkcs11 and SK_PKCS11_TOKEN=tpm2 (softhsm for
#           the pkcs11 pass).
#
# A test that a backend cannot pass says which capability it needs:
#   backend_needs export        (skips on tpm2 and pkcs11, naming the lack)
# and a test of one backend's own behaviour says so:
#   backend_only soft "the soft backend's blob is a DER private key"

SK_BACKEND=${SECKIT_TEST_BACKEND:-soft}
SK_PKCS11_TOKEN=""
case $SK_BACKEND in
soft | tpm2) ;;
pkcs11) SK_PKCS11_TOKEN=softhsm ;;
pkcs11-tpm2) SK_BACKEND=pkcs11 SK_PKCS11_TOKEN=tpm2 ;;
*)
	echo "SECKIT_TEST_BACKEND='$SK_BACKEND': not a backend (soft, tpm2, pkcs11, pkcs11-tpm2)" >&2
	exit 1
	;;
esac
export SK_BACKEND SK_PKCS11_TOKEN

# The environment file a test file's backend_setup_file leaves for its
# tests (the swtpm's TCTI).
backend_env_file() {
	echo "${BATS_FILE_TMPDIR:?}/backend.env"
}

# In setup_file (helper.bash's default, or a file's own): provision the
# file's backend.  A no-op outside the matrix and for soft and pkcs11.
backend_setup_file() {
	[ -n "${SECKIT_TEST_BACKEND:-}" ] || return 0
	case $SK_BACKEND in
	tpm2)
		require swtpm tpm2_getcap
		# One TPM for the file: its tests take turns.
		export BATS_NO_PARALLELIZE_WITHIN_FILE=true
		if [ -z "${SWTPM_PID:-}" ]; then
			# shellcheck source=tests/tpm.bash
			. "$SECKIT_SRC/tests/tpm.bash"
			start_swtpm "$BATS_FILE_TMPDIR/backend-tpm" || return 1
		fi
		printf 'SK_BACKEND_TCTI=%q\n' "$SWTPM_TCTI" > "$(backend_env_file)"
		;;
	pkcs11)
		if [ "$SK_PKCS11_TOKEN" = tpm2 ]; then
			backend_tpm2_p11_start || return 1
		else
			require softhsm2-util
			: > "$(backend_env_file)"
		fi
		;;
	*) : > "$(backend_env_file)" ;;
	esac
}

# pkcs11-tpm2's stack for a test file: its own swtpm, bus and broker
# (tests/tpm2-pkcs11.bash), whose addresses and PIDs go to the file's
# backend.env; the file's own swtpm, if any, stays what SWTPM_* name.
backend_tpm2_p11_start() {
	local saved
	saved=$(declare -p SWTPM_PID SWTPM_PORT SWTPM_TCTI SECKIT_TCTI TPM2TOOLS_TCTI 2>/dev/null)
	# shellcheck source=tests/tpm2-pkcs11.bash
	. "$SECKIT_SRC/tests/tpm2-pkcs11.bash"
	tpm2_p11_require
	export BATS_NO_PARALLELIZE_WITHIN_FILE=true
	start_swtpm "$BATS_FILE_TMPDIR/backend-tpm" || return 1
	start_bus "$BATS_FILE_TMPDIR/backend-dbus" || return 1
	start_abrmd || return 1
	{
		printf 'SK_BACKEND_SWTPM_PID=%q\n' "$SWTPM_PID"
		printf 'SK_BACKEND_DBUS_PID=%q\n' "$DBUS_PID"
		printf 'SK_BACKEND_DBUS=%q\n' "$DBUS_SESSION_BUS_ADDRESS"
		printf 'SK_BACKEND_ABRMD_PID=%q\n' "$(cat "$BATS_FILE_TMPDIR/abrmd.pid")"
	} > "$(backend_env_file)"
	unset SWTPM_PID SWTPM_PORT SWTPM_TCTI SECKIT_TCTI TPM2TOOLS_TCTI TPM2_PKCS11_TCTI
	if [ -n "$saved" ]; then
		eval "${saved//declare -x/export}"
	fi
}

backend_teardown_file() {
	[ -n "${SECKIT_TEST_BACKEND:-}" ] || return 0
	if [ "$SK_BACKEND" = tpm2 ] && [ -n "${SWTPM_PID:-}" ]; then
		kill "$SWTPM_PID" 2>/dev/null
	fi
	if [ "$SK_PKCS11_TOKEN" = tpm2 ] && [ -f "$(backend_env_file)" ]; then
		# shellcheck source=/dev/null
		. "$(backend_env_file)"
		kill "${SK_BACKEND_ABRMD_PID:-}" "${SK_BACKEND_DBUS_PID:-}" \
			"${SK_BACKEND_SWTPM_PID:-}" 2>/dev/null
	fi
	true
}

# In each test (common_setup): point seckit at the file's backend.
backend_test_setup() {
	[ -n "${SECKIT_TEST_BACKEND:-}" ] || return 0
	local env
	env=$(backend_env_file)
	if [ ! -f "$env" ]; then
		echo "backend $SK_BACKEND: not provisioned for this file (its setup_file must call backend_setup_file)" >&2
		return 1
	fi
	# shellcheck source=/dev/null
	. "$env"
	case $SK_BACKEND in
	soft)
		export SECKIT_BACKEND=soft
		;;
	tpm2)
		export SECKIT_BACKEND=tpm2 SECKIT_TCTI="$SK_BACKEND_TCTI" TPM2TOOLS_TCTI="$SK_BACKEND_TCTI"
		;;
	pkcs11)
		if [ "$SK_PKCS11_TOKEN" = tpm2 ]; then
			backend_tpm2_p11_token
			return
		fi
		local module=/usr/lib/softhsm/libsofthsm2.so
		[ -e "$module" ] || skip "backend pkcs11: SoftHSM2's module is not installed"
		mkdir -p "$BATS_TEST_TMPDIR/softhsm/tokens"
		printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' \
			"$BATS_TEST_TMPDIR/softhsm" > "$BATS_TEST_TMPDIR/softhsm/softhsm2.conf"
		export SOFTHSM2_CONF="$BATS_TEST_TMPDIR/softhsm/softhsm2.conf"
		softhsm2-util --init-token --free --label seckit --so-pin 5678 --pin 1234 > /dev/null || return 1
		export SECKIT_BACKEND=pkcs11 SECKIT_PKCS11_MODULE=$module SK_TEST_PIN=1234
		printf 'pkcs11:\n  pin: env:SK_TEST_PIN\n' >> "$SECKIT_CONFIG"
		;;
	esac
}

# pkcs11-tpm2, in each test: a token 'seckit' (user PIN 1234) in the
# test's own tpm2-pkcs11 store, reached through the file's broker.
backend_tpm2_p11_token() {
	backend_tpm2_p11_use "$BATS_TEST_TMPDIR/tpm2-pkcs11" || return 1
	export SECKIT_BACKEND=pkcs11
	printf 'pkcs11:\n  token: seckit\n  pin: env:SK_TEST_PIN\n' >> "$SECKIT_CONFIG"
}

# backend_tpm2_p11_store STORE: a tpm2-pkcs11 token store STORE, made
# (tpm2_ptool init, addtoken: token 'seckit', user PIN 1234) unless it
# exists, through the file's broker.
backend_tpm2_p11_store() {
	local tcti=tabrmd:bus_type=session
	[ ! -d "$1" ] || return 0
	# shellcheck source=/dev/null
	. "$(backend_env_file)"
	rm -rf "$1.new"
	mkdir -p "$1.new"
	DBUS_SESSION_BUS_ADDRESS=$SK_BACKEND_DBUS TPM2TOOLS_TCTI=$tcti \
		tpm2_ptool init --path="$1.new" > /dev/null || return 1
	DBUS_SESSION_BUS_ADDRESS=$SK_BACKEND_DBUS TPM2TOOLS_TCTI=$tcti \
		tpm2_ptool addtoken --pid=1 --label=seckit --userpin=1234 --sopin=5678 \
		--path="$1.new" > /dev/null || return 1
	mv "$1.new" "$1"
}

# backend_tpm2_p11_use STORE: seckit's pkcs11 backend on tpm2-pkcs11 with
# the token store STORE (made if new), through the file's broker: the
# module, the store, the bus and TCTI, the PIN (SK_TEST_PIN) exported.
backend_tpm2_p11_use() {
	backend_tpm2_p11_store "$1" || return 1
	# shellcheck source=/dev/null
	. "$(backend_env_file)"
	export DBUS_SESSION_BUS_ADDRESS=$SK_BACKEND_DBUS TPM2_PKCS11_TCTI=tabrmd:bus_type=session
	export TPM2_PKCS11_STORE=$1 SK_TEST_PIN=1234
	export SECKIT_PKCS11_MODULE=/usr/lib/x86_64-linux-gnu/pkcs11/libtpm2_pkcs11.so
}

# What each backend can do that a test may need, and why not where it
# cannot (src/backend/be_*.c caps()).
backend_lacks() {
	if [ "$SK_PKCS11_TOKEN" = tpm2 ]; then
		case $1 in
		rsa-4096)
			echo "tpm2-pkcs11 makes RSA keys of 1024 to 3072 bits only (the TPM's; 4096 is CKR_ATTRIBUTE_VALUE_INVALID)"
			return 0
			;;
		import)
			echo "tpm2-pkcs11 refuses private keys through C_CreateObject (CKR_ATTRIBUTE_VALUE_INVALID): keys are made on the token"
			return 0
			;;
		ecdh)
			echo "tpm2-pkcs11 has no CKM_ECDH1_DERIVE (C_DeriveKey is CKR_FUNCTION_NOT_SUPPORTED): the device key agrees no key, so nothing is opened or imported to it"
			return 0
			;;
		symmetric)
			echo "tpm2-pkcs11 makes no secret keys through PKCS#11 (C_GenerateKey is CKR_FUNCTION_NOT_SUPPORTED, a secret-key C_CreateObject CKR_ATTRIBUTE_VALUE_INVALID)"
			return 0
			;;
		esac
	fi
	case $SK_BACKEND:$1 in
	soft:*) return 1 ;;
	tpm2:export) echo "keys made in the TPM never leave it (no --exportable, no key export --private)" ;;
	pkcs11:export) echo "token keys are sensitive and not extractable (no --exportable, no key export --private)" ;;
	*:import) return 1 ;;
	tpm2:password) return 1 ;;
	pkcs11:password) echo "the token's PIN guards its keys, not a password object" ;;
	tpm2:symmetric) return 1 ;;
	pkcs11:symmetric) return 1 ;;
	*:ecdh) return 1 ;;
	tpm2:rsa-4096) echo "TPMs, swtpm too, stop at RSA-3072" ;;
	pkcs11:rsa-4096) return 1 ;;
	*)
		echo "backend_lacks: unknown capability '$1'" >&2
		return 2
		;;
	esac
}

# backend_needs CAP...: skip the test, naming the backend and what it
# lacks, unless the matrix backend has every CAP (export, password,
# symmetric, rsa-4096, import: private keys imported, ecdh: the device
# key agrees a key, for opaque-key import and oo open).
backend_needs() {
	local cap why rc
	for cap in "$@"; do
		rc=0
		why=$(backend_lacks "$cap") || rc=$?
		case $rc in
		0) skip "backend $SK_BACKEND cannot: $cap: $why" ;;
		1) ;;
		*) return 1 ;;
		esac
	done
	return 0
}

# backend_only NAME... REASON: a test of those backends' own behaviour;
# skipped on the others with REASON.
backend_only() {
	local names=""
	while [ $# -gt 1 ]; do
		[ "$SK_BACKEND" != "$1" ] || return 0
		names="$names${names:+, }$1"
		shift
	done
	skip "backend $SK_BACKEND: only $names: $1"
}

# backend_has CAP: whether the matrix backend has CAP (for the part of a
# test that only a backend with it can do; the rest runs everywhere).
backend_has() {
	local rc=0
	backend_lacks "$1" > /dev/null || rc=$?
	case $rc in
	0) return 1 ;;
	1) return 0 ;;
	*) return 2 ;;
	esac
}

# --exportable where the matrix backend makes exportable keys: for a test
# whose subject is not export (`sk key create k --type T $(exportable)`).
exportable() {
	if backend_has export; then echo --exportable; fi
}

# true or false: whether keys made with $(exportable) are exportable (the
# JSON value of key info's "exportable").
exportable_json() {
	if backend_has export; then echo true; else echo false; fi
}

# key info's origin of a key seckit made or imported: WHAT ("generated",
# "imported", "opaque-key").  On pkcs11 the token says it (CKA_LOCAL,
# docs/json.md): a key opaque-key import wrote to it is "imported".
backend_origin() {
	if [ "$SK_BACKEND" = pkcs11 ] && [ "$1" = opaque-key ]; then echo imported; else echo "$1"; fi
}

# A key type other than the test's main one that every backend makes:
# aes-128 (a symmetric key) where the backend makes them, else rsa-2048.
other_type() {
	if backend_has symmetric; then echo aes-128; else echo rsa-2048; fi
}

# After a test killed seckit (kill -9, a crash point): on tpm2, flush the
# objects and sessions the dead process left loaded.  The tests talk to
# swtpm without a resource manager, which holds three objects; on a
# device, /dev/tpmrm0 (or tpm2-abrmd) flushes a process's handles when it
# dies.  Elsewhere nothing to do.
backend_after_kill() {
	[ "$SK_BACKEND" = tpm2 ] && [ -n "${SECKIT_TEST_BACKEND:-}" ] || return 0
	tpm2_flush_all
}

tpm2_flush_all() {
	local h
	for h in $(tpm2_getcap handles-transient | sed 's/^- //') \
		$(tpm2_getcap handles-loaded-session | sed 's/^- //'); do
		tpm2_flushcontext "$h" > /dev/null 2>&1 || true
	done
}

# A second device of a test (tests/opaque.bash sk2): on pkcs11 its own
# token, so that its keys are not the first device's.  Prints the
# environment to run it with, one NAME=VALUE a line (nothing where the
# second store alone makes a second device: soft, tpm2, outside the
# matrix).  SoftHSM2: a second token directory (SOFTHSM2_CONF);
# tpm2-pkcs11: a second token store (TPM2_PKCS11_STORE) with its own
# token 'seckit' on the same TPM, behind the same broker.
backend_device2_env() {
	if [ "$SK_BACKEND" != pkcs11 ] || [ -z "${SECKIT_TEST_BACKEND:-}" ]; then
		return 0
	fi
	if [ "$SK_PKCS11_TOKEN" = tpm2 ]; then
		backend_tpm2_p11_store "$BATS_TEST_TMPDIR/tpm2-pkcs11-2" || return 1
		echo "TPM2_PKCS11_STORE=$BATS_TEST_TMPDIR/tpm2-pkcs11-2"
		return 0
	fi
	local d="$BATS_TEST_TMPDIR/softhsm2"
	if [ ! -f "$d/softhsm2.conf" ]; then
		mkdir -p "$d/tokens"
		printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' \
			"$d" > "$d/softhsm2.conf.new"
		SOFTHSM2_CONF="$d/softhsm2.conf.new" softhsm2-util --init-token --free --label seckit \
			--so-pin 5678 --pin 1234 > /dev/null || return 1
		mv "$d/softhsm2.conf.new" "$d/softhsm2.conf"
	fi
	echo "SOFTHSM2_CONF=$d/softhsm2.conf"
}
