#!/usr/bin/env bats
# Certificates as token objects (CKO_CERTIFICATE, CKC_X_509): `cert import`
# with the pkcs11 backend puts a key's certificate on the token beside the
# key (its CKA_ID, the certificate's name as CKA_LABEL); `cert get`, `list`
# and `show` read token certificates, including ones written by
# `pkcs11-tool --write-object --type cert`.  Cross-checked with pkcs11-tool.

load helper
load pkcs11

setup() {
	pkcs11_setup
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key \
		-subj /CN=ca -days 30 -out ca.pem 2>/dev/null
	run -0 sk key create dev --type ec-p256
}

# issue KEY CN OUT: a certificate for token key KEY, issued by the test CA.
issue() {
	"$SECKIT" cert csr --key "$1" --subject "/CN=$2" --out "$2.csr"
	openssl x509 -req -in "$2.csr" -CA ca.pem -CAkey ca.key -set_serial "$RANDOM" -days 1 \
		-out "$3" 2>/dev/null
}

# The CKA_ID pkcs11-tool shows for the object of type $1 labelled $2.
obj_id() {
	p11tool --list-objects --type "$1" --label "$2" 2>/dev/null | sed -n 's/^ *ID: *//p'
}

@test "cert import puts a token key's certificate on the token with the key's CKA_ID; get/list/show read it" {
	issue dev dev dev.pem
	run -0 sk cert import device dev.pem
	[ "$output" = "device: imported certificate of key 'dev'" ]
	# On the token, not in a store.
	assert_absent "$SECKIT_STORE"
	run -0 p11tool --list-objects --type cert
	[[ "$output" == *"label:      device"* ]]
	id=$(obj_id cert device)
	[ -n "$id" ]
	[ "$id" = "$(obj_id privkey dev)" ]
	run -0 p11tool --read-object --type cert --label device --output-file tok.der
	openssl x509 -in dev.pem -outform DER -out dev.der
	run -0 cmp tok.der dev.der
	run -0 sk cert get device --format der --out got.der
	run -0 cmp got.der dev.der
	run -0 sk cert list --names
	[ "$output" = device ]
	run -0 sk --json cert list
	[[ "$output" == *'"name":"device"'* ]]
	[[ "$output" == *'"key":"dev"'* ]]
	run -0 sk cert show device
	[[ "$output" == *"CN=dev"* ]]
	# Its key's name finds it too.
	run -0 sk cert get dev --format der --out bykey.der
	run -0 cmp bykey.der dev.der
	# Again: unchanged; another one: exit 9 unless --force, which replaces it.
	run -0 sk cert import device dev.pem
	[ "$output" = "device: unchanged, certificate of key 'dev'" ]
	issue dev dev2 dev2.pem
	sk_fails 9 "cert import: " cert import device dev2.pem
	run -0 sk cert get device --format der --out still.der
	run -0 cmp still.der dev.der
	run -0 sk cert import device dev2.pem --force
	run -0 p11tool --list-objects --type cert
	[ "$(grep -c 'label:      device' <<< "$output")" = 1 ]
	run -0 sk cert get device --out now.pem
	run -0 cmp now.pem dev2.pem
}

@test "a certificate written by pkcs11-tool --write-object --type cert is a seckit certificate" {
	issue dev dev dev.pem
	openssl x509 -in dev.pem -outform DER -out dev.der
	id=$(obj_id privkey dev)
	run -0 p11tool --write-object dev.der --type cert --label provisioned --id "$id"
	run -0 sk cert get provisioned --format der --out got.der
	run -0 cmp got.der dev.der
	run -0 sk cert get dev --format der --out bykey.der
	run -0 cmp bykey.der dev.der
	run -0 sk --json cert list --provisioned
	[[ "$output" == *'"name":"provisioned"'* ]]
	[[ "$output" == *'"key":"dev"'* ]]
	run -0 sk cert show provisioned
	[[ "$output" == *"CN=dev"* ]]
}

@test "bad input: no token key for the certificate (7), an expired one (7), two certificates with one name (9); nothing written" {
	# A device certificate (no CA) of a key that is not on the token.
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout other.key \
		-subj /CN=other -out other.csr 2>/dev/null
	openssl x509 -req -in other.csr -CA ca.pem -CAkey ca.key -set_serial 5 -days 5 -out other.pem 2>/dev/null
	sk_fails 7 "cert import: " cert import other other.pem
	[[ "$stderr" == *"certifies no private key"* ]]
	run -0 p11tool --list-objects --type cert
	[[ "$output" != *"label:"* ]]
	# Expired: a day's certificate imported three days later.
	require faketime
	issue dev old old.pem
	faketime '+3 days' "$SECKIT" cert import old old.pem 2> err || status=$?
	[ "${status:-0}" = 7 ]
	grep -q "^seckit cert import: the certificate for 'old' expired on" err
	run -0 p11tool --list-objects --type cert
	[[ "$output" != *"label:"* ]]
	# Two certificates labelled alike by another tool: never a silent pick.
	issue dev dev dev.pem
	openssl x509 -in dev.pem -outform DER -out dev.der
	run -0 p11tool --write-object dev.der --type cert --label twin --id 01
	run -0 p11tool --write-object dev.der --type cert --label twin --id 02
	sk_fails 9 "cert get: " cert get twin --out x.pem
	assert_absent x.pem
	sk_fails 8 "cert get: certificate 'nosuch': not found (nor on token 'seckit')" cert get nosuch --out x.pem
	assert_absent x.pem
}
