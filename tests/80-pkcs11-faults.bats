#!/usr/bin/env bats
# Bad input from the token itself, made by the wrapper module
# (tests/pkcs11/p11count.c) in front of SoftHSM2: a token that disappears
# in the middle of an operation, a locked PIN, a PIN with few tries left.
# Each: one error line, the exit code of CLI.md, nothing written.

load helper
load pkcs11

setup() {
	pkcs11_setup
	run -0 sk key create dev --type ec-p256
	use_p11count
}

@test "a token that disappears at C_Sign (removed, not present, session gone): exit 4 naming it, nothing written" {
	for rv in CKR_DEVICE_REMOVED CKR_TOKEN_NOT_PRESENT CKR_SESSION_HANDLE_INVALID; do
		P11COUNT_FAIL="C_Sign=$rv" sk_fails 4 "key sign: " key sign dev --in data --out s
		assert_one_error_line
		[[ "$stderr" == *"token 'seckit': signing: the token is not reachable ($rv)"* ]]
		assert_absent s
	done
	# A CSR is not written half-way either.
	P11COUNT_FAIL="C_Sign=CKR_DEVICE_REMOVED" sk_fails 4 "cert csr: " cert csr --key dev --subject /CN=dev --out dev.csr
	assert_absent dev.csr
	# Gone between the search and the signature: the session dies at C_SignInit.
	P11COUNT_FAIL="C_SignInit=CKR_SESSION_HANDLE_INVALID" sk_fails 4 "key sign: " key sign dev --in data --out s
	assert_absent s
	# Gone from the start: the search fails, and the rest of the calls too.
	P11COUNT_FAIL="C_FindObjectsInit=CKR_DEVICE_REMOVED,C_CloseSession=CKR_DEVICE_REMOVED,C_Finalize=CKR_DEVICE_REMOVED" \
		sk_fails 4 "key sign: " key sign dev --in data --out s
	[[ "$stderr" == *"the token is not reachable (CKR_DEVICE_REMOVED)"* ]]
	assert_absent s
	# The token back: the key signs.
	run -0 sk key sign dev --in data --out s
}

@test "a locked user PIN: exit 4 saying so, whether C_Login reports it or the token's flags do (then no login is tried)" {
	rm -f log
	P11COUNT_LOG=$PWD/log P11COUNT_FAIL="C_Login=CKR_PIN_LOCKED" sk_fails 4 "key sign: " key sign dev --in data --out s
	assert_one_error_line
	[[ "$stderr" == *"token 'seckit': logging in: the user PIN is locked (the security officer must unblock it)"* ]]
	assert_absent s
	rm -f log
	P11COUNT_LOG=$PWD/log P11COUNT_TOKEN_FLAGS=CKF_USER_PIN_LOCKED sk_fails 4 "key sign: " key sign dev --in data --out s
	[[ "$stderr" == *"the user PIN is locked"* ]]
	[ "$(calls log C_Login)" = 0 ]
	assert_absent s
}

@test "a wrong PIN says how many tries the token has left when it flags it (exit 5)" {
	# SoftHSM2 itself sets CKF_USER_PIN_COUNT_LOW after a wrong PIN.
	sk_fails 5 "key sign: " --pin pass:0000 key sign dev --in data --out s
	assert_one_error_line
	[[ "$stderr" == *"token 'seckit': wrong PIN (few tries left before the PIN locks)" ]]
	assert_absent s
	P11COUNT_TOKEN_FLAGS=CKF_USER_PIN_FINAL_TRY sk_fails 5 "key sign: " --pin pass:0000 key sign dev --in data --out s
	assert_one_error_line
	[[ "$stderr" == *"token 'seckit': wrong PIN (one try left before the PIN locks)" ]]
	assert_absent s
	# The right PIN with a low count still signs.
	P11COUNT_TOKEN_FLAGS=CKF_USER_PIN_COUNT_LOW run -0 sk key sign dev --in data --out s
}
