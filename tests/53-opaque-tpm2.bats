#!/usr/bin/env bats
# Opaque keys and OOIDs on a device whose key lives in a TPM (swtpm): the
# ECDH happens in the TPM, through the same backend operation as with the
# soft backend, and the imported key goes into the TPM.

load helper
load tpm
load opaque

setup_file() {
	require swtpm tpm2_getcap
	export BATS_NO_PARALLELIZE_WITHIN_FILE=true
	start_swtpm "$BATS_FILE_TMPDIR/tpm"
}

teardown_file() {
	stop_swtpm
}

setup() {
	common_setup
	export SECKIT_BACKEND=tpm2 SECKIT_TCTI="$SWTPM_TCTI" TPM2TOOLS_TCTI="$SWTPM_TCTI"
}

teardown() {
	assert_no_transient_handles
}

@test "tpm2: OOIDs open with a TPM device key on every curve; a soft device refuses them" {
	mk_oem
	head -c 50000 /dev/urandom > data
	sk oo make --in data --cipher aes-256-gcm
	for c in ec-p256 ec-p384 ec-p521; do
		sk key create "dev-$c" --type "$c"
		sk key export "dev-$c" --out "dev-$c.pub"
		sk oo id --info data.oocfg --sign-key oem.pem --device-pub "dev-$c.pub" --out "$c.oid" \
			--kdf x963-sha384 --mac hmac-sha384
		rm -f out
		run -0 sk oo open --id "$c.oid" --in data.enc --out out --device-key "dev-$c"
		cmp data out
	done
	run -0 sk --json key info dev-ec-p384
	[[ "$output" == *'"backend":"tpm2"'* ]]
	# the same OOID on another device (a soft one) is refused
	SECKIT_BACKEND=soft sk2 key import oem-root --in oem.pub
	SECKIT_BACKEND=soft sk2 key create device --type ec-p256
	SECKIT_BACKEND=soft run -7 sk2 oo open --id ec-p256.oid --in data.enc --out out2
	assert_absent out2
}

@test "tpm2: an opaque key is decrypted with the TPM device key and imported into the TPM" {
	mk_oem
	mk_device ec-p256
	mk_ec app P-256
	head -c 32 /dev/urandom > aes.bin
	sk opaque-key make --name app.signing --type ec-p256 --key app.pem --sign-key oem.pem \
		--device-pub dev.pub --out app.okp
	sk opaque-key make --name app.aes --type aes-256 --key aes.bin --sign-key oem.pem \
		--device-pub dev.pub --cipher aes-256-cbc --out aes.okp
	run -0 sk opaque-key import app.okp
	run -0 sk opaque-key import aes.okp
	run -0 sk --json key info app.signing
	[[ "$output" == *'"backend":"tpm2"'* && "$output" == *'"origin":"opaque-key"'* ]]
	echo "signed in the TPM" > d
	run -0 sk key sign app.signing --in d --out d.sig
	run -0 openssl dgst -sha256 -verify app.pub -signature d.sig d
	run -0 sk key encrypt app.aes --mode ctr --in d --out d.enc
	tail -c +17 d.enc | openssl enc -d -aes-256-ctr -K "$(hexof aes.bin)" -iv "$(head -c 16 d.enc | hexof)" | cmp - d
	run -9 sk opaque-key import app.okp
}

@test "tpm2: a TPM device key bound to a password object needs its secret" {
	mk_oem
	sk key password create devpw --pass pass:pin1234
	sk key create device --type ec-p256 --password-object devpw --pass pass:pin1234
	sk key export device --out dev.pub
	echo data > data
	sk oo make --in data
	sk oo id --info data.oocfg --sign-key oem.pem --device-pub dev.pub
	run -5 sk oo open --id data.oid --in data.enc --out out --device-pass pass:wrong
	assert_absent out
	run -0 sk oo open --id data.oid --in data.enc --out out --device-pass pass:pin1234
	cmp data out
}
