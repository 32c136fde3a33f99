#!/usr/bin/env bats
# The primitives seckit computes without EVP fetches (start-up time):
# HMAC-SHA256 and HKDF-SHA256 over OpenSSL's SHA-256, and AES-256-GCM
# through the default provider's dispatch table -- against RFC/NIST
# vectors and against EVP, and GHASH (the tpm2 backend's GCM) against NIST
# (tests/unit/crypto-test.c).

load helper

@test "sha256/hmac/hkdf and provider-direct AES-GCM agree with EVP and the RFC vectors" {
	run -0 "$SECKIT_SRC/build/unit/crypto-test"
	[[ "$output" == *"1..17"* ]]
	[[ "$output" != *"not ok"* ]]
}

@test "key info needs no EVP fetch: a few hundred thousand instructions, not millions" {
	require valgrind
	! sanitizer_build || skip "instruction counts of a sanitizer build mean nothing"
	run -0 sk key create dev --type ec-p256
	run -0 valgrind --tool=callgrind --callgrind-out-file=cg.out "$SECKIT" key info dev
	n=$(sed -n 's/^summary: //p' cg.out)
	echo "instructions: $n"
	# An EVP fetch anywhere on this path costs 3 million or more
	# (OpenSSL 3.0's name map); without one the whole run is under 1.5.
	[ "$n" -lt 1500000 ]
}

@test "the digest policy, the key type and backend names agree with their tables (unit)" {
	run -0 "$SECKIT_SRC/build/unit/policy-test"
	[[ "$output" == *"1..16"* ]]
}
