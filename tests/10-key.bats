#!/usr/bin/env bats
# seckit key: create, export, sign and verify, cross-checked with openssl.

load helper

@test "key create + sign verifies with openssl dgst" {
	run -0 sk key create device --type ec-p256
	run -0 sk key export device --out dev.pub
	echo "hello" > data
	run -0 sk key sign device --in data --out data.sig
	run -0 openssl dgst -sha256 -verify dev.pub -signature data.sig data
	[ "$output" = "Verified OK" ]
}

@test "a signature made by openssl verifies with seckit" {
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out k.pem 2>/dev/null
	openssl pkey -in k.pem -pubout -out k.pub
	echo "payload" > data
	openssl dgst -sha256 -sign k.pem -out data.sig data
	run -0 sk key import peer --in k.pub
	run -0 sk key verify peer --in data --sig data.sig
	run -0 sk key verify --pubkey k.pub --in data --sig data.sig
	echo "changed" > data
	run -7 sk key verify peer --in data --sig data.sig
}

@test "unknown key: exit 8, one error line, nothing written" {
	run -0 sk key create other --type ec-p256
	echo x > data
	run -8 --separate-stderr sk key sign nosuch --in data --out data.sig
	assert_one_error_line "seckit key sign: "
	[ -z "$output" ]
	assert_absent data.sig
}
