#!/usr/bin/env bats
# The PKCS#11 calls of one `key sign`, counted by the wrapper module
# (tests/pkcs11/p11count.c) in front of SoftHSM2: one C_Initialize, one
# login, one object search (the key), its attributes in one call, and no
# more calls than `pkcs11-tool --sign` makes for the same signature.
# Counts, not times: the load of the machine does not change them.

load helper
load pkcs11

setup() {
	pkcs11_setup
}

@test "key sign with a key seckit made: one C_Initialize, one login, one object search, one attribute read" {
	run -0 sk key create ec --type ec-p256
	run -0 sk key create rsa --type rsa-2048
	use_p11count
	for k in ec rsa; do
		rm -f log
		P11COUNT_LOG=$PWD/log run -0 sk key sign "$k" --in data --out "$k.sig"
		[ "$(calls log C_Initialize)" = 1 ]
		[ "$(calls log C_Login)" = 1 ]
		[ "$(calls log C_FindObjectsInit)" = 1 ]
		[ "$(calls log C_GetAttributeValue)" = 1 ]
		[ "$(calls log C_SignInit)" = 1 ]
		[ "$(calls log C_Sign)" = 1 ]
		[ "$(calls log C_Finalize)" = 1 ]
		# Every call succeeded (but the attribute read, which names
		# attributes of the other key type: CKR_ATTRIBUTE_TYPE_INVALID).
		[ "$(grep -v '^C_GetAttributeValue ' log | grep -vc ' 0x0$')" = 0 ]
		run -0 sk key export "$k" --out "$k.pub"
		run -0 openssl dgst -sha256 -verify "$k.pub" -signature "$k.sig" data
	done
}

@test "key sign makes no more PKCS#11 calls than pkcs11-tool --sign with the same token and key" {
	run -0 sk key create ec --type ec-p256
	use_p11count
	P11COUNT_LOG=$PWD/sk.log run -0 sk key sign ec --in data --out sk.sig
	openssl dgst -sha256 -binary data > data.h
	P11COUNT_LOG=$PWD/tool.log run -0 pkcs11-tool --module "$P11COUNT" --token-label seckit \
		--login --pin 1234 --sign --mechanism ECDSA --signature-format openssl --label ec \
		--input-file data.h --output-file tool.sig
	run -0 sk key verify ec --in data --sig tool.sig
	echo "seckit $(wc -l < sk.log), pkcs11-tool $(wc -l < tool.log)"
	[ "$(wc -l < sk.log)" -le "$(wc -l < tool.log)" ]
}

@test "keys made by other tools: RSA needs one search; EC without CKA_PUBLIC_KEY_INFO finds its public object" {
	run -0 p11tool --keypairgen --key-type rsa:2048 --label extrsa --id 03
	run -0 p11tool --keypairgen --key-type EC:prime256v1 --label extec --id 04
	use_p11count
	P11COUNT_LOG=$PWD/rsa.log run -0 sk key sign extrsa --in data --out rsa.sig
	[ "$(calls rsa.log C_FindObjectsInit)" = 1 ]
	[ "$(calls rsa.log C_Login)" = 1 ]
	# The EC private key does not carry its point: a signature needs only
	# its type (CKA_EC_PARAMS), one search; what shows the public key
	# (key info) finds the public object in a second search.
	P11COUNT_LOG=$PWD/ec.log run -0 sk key sign extec --in data --out ec.sig
	[ "$(calls ec.log C_FindObjectsInit)" = 1 ]
	[ "$(calls ec.log C_Login)" = 1 ]
	P11COUNT_LOG=$PWD/info.log run -0 sk key info extec
	[ "$(calls info.log C_FindObjectsInit)" = 2 ]
	run -0 p11tool --read-object --type pubkey --id 04 --output-file ec.der
	run -0 openssl dgst -sha256 -verify ec.der -keyform DER -signature ec.sig data
	# key delete still removes the public object it did not need to sign.
	run -0 sk key delete extec
	run -0 p11tool --list-objects
	[[ "$output" != *"label:      extec"* ]]
}

@test "key sign reads no public key: a token key whose public object is gone still signs (EC and RSA), key info says what is missing" {
	run -0 p11tool --keypairgen --key-type EC:prime256v1 --label lone --id 05
	run -0 p11tool --keypairgen --key-type rsa:2048 --label lonersa --id 06
	run -0 p11tool --read-object --type pubkey --id 05 --output-file lone.der
	run -0 p11tool --delete-object --type pubkey --id 05
	run -0 sk key sign lone --in data --out lone.sig
	run -0 openssl dgst -sha256 -verify lone.der -keyform DER -signature lone.sig data
	# RSA: the type from CKA_MODULUS of the private object.
	run -0 p11tool --read-object --type pubkey --id 06 --output-file lonersa.der
	run -0 p11tool --delete-object --type pubkey --id 06
	run -0 sk key sign lonersa --in data --out lonersa.sig
	run -0 openssl dgst -sha256 -verify lonersa.der -keyform DER -signature lonersa.sig data
	# What shows the public key cannot, and says so.
	sk_fails 6 "key info: token 'seckit': key 'lone' has no public key on the token" key info lone
}
