#!/usr/bin/env bats
# One signing-key spelling for every off-device maker (seckit(1) SIGNING
# KEYS): --sign-key FILE, --key NAME or --sign-key seckit:NAME, a store key
# of the soft backend here (tests/54-fleet-signkey-tpm2.bats: in a TPM).

load helper
load signkey

setup() {
	common_setup
	export OEM_BACKEND=soft
}

@test "signing keys: payload, stp, oo id (one device and a fleet), opaque-key and cert issue sign with a store key" {
	setup_signkey
	check_makers_with_store_key
}

@test "signing keys: both, neither, an unknown name, a bad name, a password object" {
	setup_signkey
	head -c 100 /dev/urandom > fw.bin
	run -0 oem oo make --in fw.bin
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out file.pem 2>/dev/null
	id() { oem oo id --info fw.bin.oocfg --device-pub dev.pub --out x.oid "$@"; }
	sk_fails 2 "oo id: give --sign-key FILE or --key NAME" \
		oo id --info fw.bin.oocfg --device-pub dev.pub --out x.oid
	run -2 id --sign-key file.pem --key oem-sign
	run -2 id --sign-key seckit:oem-sign --key oem-sign
	run -8 --separate-stderr id --key nosuch
	assert_one_error_line "seckit oo id: "
	[[ "$stderr" == *"nosuch"* ]]
	run -8 id --sign-key seckit:nosuch
	run -2 id --sign-key seckit:../x
	assert_absent x.oid
	head -c 16 /dev/urandom > aes.bin
	run -8 oem opaque-key make --name k --type aes-128 --key aes.bin --sign-key seckit:nosuch \
		--device-pub dev.pub --out k.okp
	assert_absent k.okp
	openssl req -x509 -key file.pem -subj /CN=ca -days 1 -out ca.pem
	openssl req -new -key dev.pem -subj /CN=d -out x.csr
	run -8 oem cert issue --ca-cert ca.pem --ca-key seckit:nosuch --csr x.csr --out c.pem
	assert_absent c.pem
	# a store key behind a password object: its secret is the verb's pass option
	run -0 oem key password create pw --pass pass:s3cret-pw
	run -0 oem key create locked --type ec-p256 --password-object pw --pass pass:s3cret-pw
	run -5 id --key locked --sign-pass pass:wrong
	assert_absent x.oid
	run -0 id --key locked --sign-pass pass:s3cret-pw
	run -0 oem oo show x.oid
	# and a file still works as before
	run -0 id --sign-key file.pem
}
