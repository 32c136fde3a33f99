#!/usr/bin/env bats
# The library's layering (docs/HACKING.md, "Errors" and "Policy"): src/
# speaks of what is wrong, never of a command-line option -- the command
# layer adds which option to change -- and only src/ctx/ctx.c reads the
# environment.

load helper
load opaque

# be_tpm2.c's "--clear-lockout" is an option of another program
# (tpm2_dictionarylockout).  The command layer adds seckit's own options to
# a message (sk_err_remedy in src/base/err.h, sk_report in cmd/opt.c).
known_flags() {
	printf '%s\n' '^src/backend/tpm2_auth\.c:.*tpm2_dictionarylockout --clear-lockout'
}

flag_messages() {
	grep -nE '"([^"]*[^-a-z0-9_])?--[a-z][-a-z]*' "$SECKIT_SRC"/src/*/*.c |
		sed "s|^$SECKIT_SRC/||" | grep -vEf <(known_flags) || true
}

@test "library messages name what is wrong, not a command-line option" {
	run -0 flag_messages
	[ -z "$output" ]
}

# The store's test hooks (SECKIT_TEST_*) are another piece of work's.
env_reads() {
	grep -nE '\bgetenv[[:space:]]*\(' "$SECKIT_SRC"/src/*/*.c | sed "s|^$SECKIT_SRC/||" |
		grep -v '^src/ctx/ctx\.c:' | grep -v 'SECKIT_TEST_' || true
}

@test "only src/ctx/ctx.c reads the environment" {
	run -0 env_reads
	[ -z "$output" ]
}

@test "oo open and opaque-key import: the command names the option of a missing role's key" {
	mk_oem
	mk_ec key
	sk key create mydev --type ec-p256
	sk key export mydev --out mydev.pub
	sk opaque-key make --name k --type ec-p256 --key key.pem --sign-key oem.pem --device-pub mydev.pub --out k.okp
	sk_fails 8 "opaque-key import: " opaque-key import k.okp
	[ "$stderr" = "seckit opaque-key import: device key 'device' not found (see --device-key)" ]
	sk_fails 8 "opaque-key import: " opaque-key import k.okp --device-key mydev --verify-key nosuch
	[ "$stderr" = "seckit opaque-key import: k.okp: OEM root key 'nosuch' not found (provision it, or see --verify-key)" ]
	echo secret > data
	sk oo make --in data
	sk oo id --info data.oocfg --sign-key oem.pem --device-pub mydev.pub
	sk_fails 8 "oo open: " oo open --id data.oid --in data.enc --out out --device-key nosuch
	[ "$stderr" = "seckit oo open: device key 'nosuch' not found (see --device-key)" ]
	assert_absent out
	printf 'roles:\n  oem-root: oem2\n' >> "$SECKIT_CONFIG"
	sk_fails 8 "oo open: " oo open --id data.oid --in data.enc --out out --device-key mydev
	[ "$stderr" = "seckit oo open: data.oid: OEM root key 'oem2' not found (provision it, or see --verify-key)" ]
}

@test "payload verify --out -: the payload waits in \$TMPDIR until verified" {
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out sign.pem 2>/dev/null
	openssl pkey -in sign.pem -pubout -out sign.pub
	echo payload > p
	sk payload make --sign-key sign.pem --in p --out p.pkg
	TMPDIR="$PWD/nosuch" sk_fails 1 "payload verify: " payload verify --pubkey sign.pub --in p.pkg --out -
	[[ "$stderr" == *"creating a temporary file in '$PWD/nosuch'"* ]]
	mkdir spool
	TMPDIR="$PWD/spool" run -0 sk payload verify --pubkey sign.pub --in p.pkg --out -
	[ "$output" = payload ]
}
