#!/usr/bin/env bats
# The pkcs11 backend against SoftHSM2: a token initialised per test in its
# own SOFTHSM2_CONF, keys made and used by seckit and cross-checked with
# OpenSC's pkcs11-tool and plain openssl, the provider with token keys, and
# the bad inputs (wrong PIN, not a module, no token, a label on two keys,
# a mechanism the token lacks, a PIN in a URI).

load helper
load pkcs11

setup() {
	pkcs11_setup
}

# The --json output of a command against its schema definition.
json_valid() {
	local def=$1
	shift
	"$SECKIT" --json "$@" > out.json
	python3 -c '
import json, sys, jsonschema
s = json.load(open(sys.argv[1]))
d = dict(s["$defs"][sys.argv[2]], **{"$defs": s["$defs"]})
jsonschema.validate(json.load(open(sys.argv[3])), d)' "$SECKIT_SRC/docs/json.schema.json" "$def" out.json
}

@test "key create makes the pair on the token (sensitive, never extractable, one CKA_ID), and the store holds nothing" {
	run -0 sk key create dev --type ec-p256
	run -0 sk key create rsa --type rsa-2048
	assert_absent "$SECKIT_STORE"
	run -0 p11tool --list-objects --type privkey
	[[ "$output" == *"label:      dev"* ]]
	[[ "$output" == *"label:      rsa"* ]]
	run -0 bash -c "pkcs11-tool --module '$MODULE' --login --pin 1234 --list-objects --type privkey 2>/dev/null | grep -A4 'label:      dev' | grep Access"
	[[ "$output" == *"sensitive"* ]]
	[[ "$output" == *"never extractable"* ]]
	# The public key shares the private key's CKA_ID.
	run -0 bash -c "pkcs11-tool --module '$MODULE' --login --pin 1234 --list-objects 2>/dev/null | grep -A2 'label:      dev' | sed -n 's/.*ID: *//p' | sort -u | wc -l"
	[ "$output" = 1 ]
	run -0 bash -c "'$SECKIT' key list --names | sort"
	[ "$output" = "$(printf 'dev\nrsa')" ]
	run -0 sk key info dev
	[[ "$output" == *"backend:         pkcs11"* ]]
	[[ "$output" == *"type:            ec-p256"* ]]
	[[ "$output" == *"exportable:      no"* ]]
	run -0 json_valid key_info key info dev
	run -0 json_valid key_list key list
	# The fingerprint is the token's public key, as openssl sees it.
	run -0 sk key export dev --out dev.pub
	run -0 bash -c "openssl pkey -pubin -in dev.pub -outform DER | sha256sum | cut -d' ' -f1"
	fp=$output
	run -0 sk key info dev
	[[ "$output" == *"fingerprint:     sha256:$fp"* ]]
}

@test "key sign on the token (ECDSA P-256/P-384, RSA PKCS#1 and PSS): openssl pkeyutl -verify accepts it" {
	for t in ec-p256 ec-p384 rsa-2048 rsa-3072; do
		run -0 sk key create "k-$t" --type "$t"
		run -0 sk key export "k-$t" --out "$t.pub"
		run -0 sk key sign "k-$t" --in data --out "$t.sig"
		run -0 openssl pkeyutl -verify -pubin -inkey "$t.pub" -rawin -digest sha256 -in data -sigfile "$t.sig"
		run -0 sk key verify "k-$t" --in data --sig "$t.sig"
	done
	run -0 sk key sign k-rsa-3072 --pss --in data --out pss.sig
	run -0 openssl dgst -sha256 -verify rsa-3072.pub -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:-1 -signature pss.sig data
	run -0 sk key verify k-rsa-3072 --pss --in data --sig pss.sig
	echo "other data" > other
	sk_fails 7 "key verify: " key verify k-ec-p256 --in other --sig ec-p256.sig
}

@test "a key made by pkcs11-tool --keypairgen is a seckit key; pkcs11-tool --sign verifies with seckit and the reverse" {
	run -0 p11tool --keypairgen --key-type EC:prime256v1 --label ext --id 0102
	run -0 sk key list --names
	[ "$output" = ext ]
	run -0 sk key info ext
	[[ "$output" == *"type:            ec-p256"* ]]
	# pkcs11-tool signs, seckit verifies.
	openssl dgst -sha256 -binary data > data.h
	run -0 p11tool --sign --mechanism ECDSA --signature-format openssl --label ext --input-file data.h --output-file ext.sig
	run -0 sk key verify ext --in data --sig ext.sig
	# seckit signs, pkcs11-tool verifies.
	run -0 sk key sign ext --in data --out sk.sig
	run -0 p11tool --verify --mechanism ECDSA --signature-format openssl --label ext --input-file data.h --signature-file sk.sig
	[[ "$output" == *"Signature is valid"* ]]
	# An RSA key of pkcs11-tool's too.
	run -0 p11tool --keypairgen --key-type rsa:2048 --label extrsa --id 03
	run -0 sk key sign extrsa --in data --out r.sig
	run -0 sk key export extrsa --out r.pub
	run -0 openssl dgst -sha256 -verify r.pub -signature r.sig data
}

@test "a key that asks for its PIN at every use (CKA_ALWAYS_AUTHENTICATE) signs after a context-specific login" {
	run -0 p11tool --keypairgen --key-type EC:prime256v1 --label aa --id 0a --always-auth
	run -0 sk key sign aa --in data --out aa.sig
	run -0 sk key export aa --out aa.pub
	run -0 openssl dgst -sha256 -verify aa.pub -signature aa.sig data
}

@test "key delete removes both token objects; a deleted key is not found" {
	run -0 sk key create gone --type ec-p256
	run -0 sk key create kept --type ec-p256
	run -0 sk key delete gone
	run -0 p11tool --list-objects
	[[ "$output" != *"label:      gone"* ]]
	[[ "$output" == *"label:      kept"* ]]
	sk_fails 8 "key info: " key info gone
	sk_fails 8 "key delete: " key delete gone
	run -0 sk key list --names
	[ "$output" = kept ]
}

@test "key random comes from the token's C_GenerateRandom" {
	run -0 sk key random 32
	[[ "$output" =~ ^[0-9a-f]{64}$ ]]
	run -0 sk key random 10000 --out r.bin
	[ "$(stat -c %s r.bin)" = 10000 ]
	# It opens the token: without a module, no bytes.
	SECKIT_PKCS11_MODULE= sk_fails 4 "key random: " key random 32
	run -0 sk --backend soft key random 32
}

@test "openssl with -provider seckit uses token keys: pkeyutl sign (EC, RSA PSS), ECDH and RSA-OAEP" {
	export OPENSSL_MODULES="$SECKIT_SRC"
	run -0 sk key create ec --type ec-p256
	run -0 sk key create rsa --type rsa-2048
	run -0 sk key export ec --out ec.pub
	run -0 sk key export rsa --out rsa.pub
	head -c 32 /dev/urandom > dgst
	run -0 openssl pkeyutl -provider seckit -provider default -sign -inkey seckit:ec -in dgst -out ec.sig
	run -0 openssl pkeyutl -verify -pubin -inkey ec.pub -in dgst -sigfile ec.sig
	run -0 openssl pkeyutl -provider seckit -provider default -sign -inkey seckit:rsa -in dgst -out rsa.sig \
		-pkeyopt rsa_padding_mode:pss -pkeyopt digest:sha256
	run -0 openssl pkeyutl -verify -pubin -inkey rsa.pub -in dgst -sigfile rsa.sig \
		-pkeyopt rsa_padding_mode:pss -pkeyopt digest:sha256
	# ECDH through CKM_ECDH1_DERIVE: the peer computes the same secret.
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out peer.pem 2>/dev/null
	openssl pkey -in peer.pem -pubout -out peer.pub
	openssl pkeyutl -provider seckit -provider default -derive -inkey seckit:ec -peerkey peer.pub -out s1
	openssl pkeyutl -derive -inkey peer.pem -peerkey ec.pub -out s2
	run -0 cmp s1 s2
	run -0 sk key derive ec --peer peer.pub --out s3
	run -0 cmp s1 s3
	# RSA-OAEP: SoftHSM2 decrypts OAEP with SHA-1 only.
	echo secret > pt
	openssl pkeyutl -encrypt -pubin -inkey rsa.pub -in pt -out ct -pkeyopt rsa_padding_mode:oaep \
		-pkeyopt rsa_oaep_md:sha1 -pkeyopt rsa_mgf1_md:sha1
	run -0 openssl pkeyutl -provider seckit -provider default -decrypt -inkey seckit:rsa -in ct \
		-pkeyopt rsa_padding_mode:oaep -pkeyopt rsa_oaep_md:sha1 -pkeyopt rsa_mgf1_md:sha1
	[ "$output" = secret ]
}

@test "RSA-OAEP parameters the token refuses are unsupported (exit 6), named" {
	run -0 sk key create rsa --type rsa-2048
	echo secret > pt
	run -0 sk key encrypt rsa --mode oaep --in pt --out ct
	sk_fails 6 "key decrypt: " key decrypt rsa --in ct --out out
	[[ "$stderr" == *"CKM_RSA_PKCS_OAEP refused by the token"* ]]
	assert_absent out
}

@test "the token by label, serial, slot or pkcs11: URI; a key by a pkcs11: URI with its id" {
	run -0 sk key create k --type ec-p256
	pkcs11-tool --module "$MODULE" --list-slots > slots
	serial=$(sed -n 's/^ *serial num *: *//p' slots | head -1)
	slot=$(sed -n 's/^Slot 0 (\(0x[0-9a-f]*\)).*/\1/p' slots)
	[ -n "$serial" ]
	[ -n "$slot" ]
	run -0 sk --token seckit key list --names
	[ "$output" = k ]
	run -0 sk --token "$serial" key list --names
	[ "$output" = k ]
	run -0 sk --token "$((slot))" key list --names
	[ "$output" = k ]
	run -0 sk --token "pkcs11:slot-id=$((slot))" key list --names
	[ "$output" = k ]
	run -0 sk --token "pkcs11:token=seckit" key list --names
	[ "$output" = k ]
	run -0 sk --token "pkcs11:model=SoftHSM%20v2;token=seckit" key list --names
	[ "$output" = k ]
	SECKIT_PKCS11_MODULE= run -0 sk --token "pkcs11:token=seckit;module-path=$MODULE" key list --names
	[ "$output" = k ]
	sk_fails 4 "key list: " --token nosuch key list
	[[ "$stderr" == *"no token 'nosuch' (the module has: 'seckit')"* ]]
	sk_fails 4 "key list: " --token "pkcs11:token=other" key list
	run -0 p11tool --keypairgen --key-type EC:prime256v1 --label twin --id 0a
	run -0 p11tool --keypairgen --key-type EC:prime256v1 --label twin --id 0b
	run -0 sk key sign "pkcs11:object=twin;id=%0b" --in data --out t.sig
	run -0 p11tool --read-object --type pubkey --id 0b --output-file twin.der
	run -0 openssl dgst -sha256 -verify twin.der -keyform DER -signature t.sig data
}

@test "the config's pkcs11: module, token and pin; options win" {
	unset SECKIT_PKCS11_MODULE SK_TEST_PIN
	echo 1234 > pin
	printf 'pkcs11:\n  module: %s\n  token: seckit\n  pin: file:%s/pin\n' "$MODULE" "$PWD" > p11.yaml
	run -0 sk --config p11.yaml key create k --type ec-p256
	run -0 sk --config p11.yaml key list --names
	[ "$output" = k ]
	sk_fails 4 "key list: " --config p11.yaml --pkcs11-module /nonexistent/module.so key list
	sk_fails 4 "key list: " --config p11.yaml --token other key list
	sk_fails 5 "key list: " --config p11.yaml --pin pass:0000 key list
	run -0 sk --config p11.yaml --pin pass:1234 key list --names
	printf 'pkcs11:\n  modul: x\n' > bad.yaml
	sk_fails 3 "key list: " --config bad.yaml key list
}

@test "bad input: wrong PIN 5, not a module 4, label on two keys 9, PIN in a URI 2, unusable requests 6, taken name 9" {
	run -0 sk key create k --type ec-p256
	sk_fails 5 "key sign: " --pin pass:0000 key sign k --in data --out s
	[[ "$stderr" == *"token 'seckit': wrong PIN"* ]]
	assert_absent s
	SK_TEST_PIN=0000 sk_fails 5 "key list: " key list
	sk_fails 4 "key list: " --pkcs11-module /usr/lib/x86_64-linux-gnu/libc.so.6 key list
	[[ "$stderr" == *"is not a PKCS#11 module (it has no C_GetFunctionList)"* ]]
	echo "not a library" > fake.so
	sk_fails 4 "key list: " --pkcs11-module "$PWD/fake.so" key list
	[[ "$stderr" == *"cannot load module"* ]]
	run -0 p11tool --keypairgen --key-type EC:prime256v1 --label twin --id 0a
	run -0 p11tool --keypairgen --key-type EC:prime256v1 --label twin --id 0b
	sk_fails 9 "key sign: " key sign twin --in data --out s
	[[ "$stderr" == *"key 'twin': 2 private keys on token 'seckit' have that label"* ]]
	assert_absent s
	sk_fails 9 "key delete: " key delete twin
	run -0 p11tool --list-objects --type privkey
	[ "$(grep -c 'label:      twin' <<< "$output")" = 2 ]
	sk_fails 2 "key list: " --token "pkcs11:token=seckit;pin-value=1234" key list
	[[ "$stderr" == *"a PIN in the URI (pin-value) would show in process lists and logs"* ]]
	sk_fails 2 "key sign: " key sign "pkcs11:object=k?pin-value=1234" --in data --out s
	sk_fails 6 "key create: " key create a --type aes-128 --exportable
	sk_fails 6 "key create: " key create e --type ec-p256 --exportable
	run -0 sk --backend soft key password create pw --pass pass:x
	sk_fails 6 "key create: " key create e --type ec-p256 --password-object pw --pass pass:x
	sk_fails 9 "key create: " key create k --type ec-p256
	run -0 p11tool --list-objects --type privkey
	[ "$(grep -c 'label:      k$' <<< "$output")" = 1 ]
}

@test "a mechanism the token lacks is exit 6 naming it, before anything is signed" {
	# SoftHSM 2.6.1 ignores the first name of a "-" list: it is repeated.
	mk_token "$BATS_TEST_TMPDIR/lacking" lacking "-CKM_ECDSA,CKM_ECDSA,CKM_RSA_PKCS_PSS"
	run -0 sk key create r --type rsa-2048
	run -0 sk key create e --type ec-p256
	sk_fails 6 "key sign: " key sign r --pss --in data --out s
	[[ "$stderr" == *"token 'lacking' cannot sign with RSA-PSS: it lacks CKM_RSA_PKCS_PSS" ]]
	assert_absent s
	sk_fails 6 "key sign: " key sign e --in data --out s
	[[ "$stderr" == *"token 'lacking' cannot sign with ECDSA: it lacks CKM_ECDSA" ]]
	assert_absent s
	run -0 sk key sign r --in data --out s
}

@test "cert csr, oo open and opaque-key import with the device key on the token (ECDH by CKM_ECDH1_DERIVE, the key stored by C_CreateObject)" {
	run -0 sk key create dev --type ec-p256
	run -0 sk key export dev --out dev.pub
	run -0 sk cert csr --key dev --subject /CN=dev --out dev.csr
	run -0 openssl req -in dev.csr -verify -noout
	run -0 bash -c "openssl req -in dev.csr -pubkey -noout | cmp - dev.pub"
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out oem.pem 2>/dev/null
	openssl pkey -in oem.pem -pubout -out oem.pub
	run -0 sk key import oem-root --in oem.pub --provisioned
	echo secret > data
	run -0 sk oo make --in data
	run -0 sk oo id --info data.oocfg --sign-key oem.pem --device-pub dev.pub
	run -0 sk oo open --id data.oid --in data.enc --out out --device-key dev
	[ "$(cat out)" = secret ]
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out key.pem 2>/dev/null
	run -0 sk opaque-key make --name k --type ec-p256 --key key.pem --sign-key oem.pem --device-pub dev.pub --out k.okp
	run -0 sk opaque-key import k.okp --device-key dev
	run -0 sk key sign k --in data --out k.sig
	run -0 bash -c "openssl pkey -in key.pem -pubout > k.pub"
	run -0 openssl dgst -sha256 -verify k.pub -signature k.sig data
	run -0 p11tool --list-objects --type privkey --label k
	[[ "$output" == *"sensitive"* ]]
}

@test "key import puts EC and RSA private keys and AES keys on the token (sensitive), public keys in the store" {
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out ec.pem 2>/dev/null
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa.pem 2>/dev/null
	openssl pkey -in ec.pem -pubout -out ec.pub
	openssl pkey -in rsa.pem -pubout -out rsa.pub
	run -0 sk key import ec --in ec.pem
	run -0 sk key import rsa --in rsa.pem
	run -0 sk key import pub --in ec.pub
	run -0 p11tool --list-objects --type privkey
	[[ "$output" == *"label:      ec"* ]]
	[[ "$output" == *"label:      rsa"* ]]
	[[ "$output" != *"label:      pub"* ]]
	run -0 sk key info pub
	[[ "$output" == *"public only:     yes"* ]]
	for k in ec rsa; do
		run -0 sk key sign "$k" --in data --out "$k.sig"
		run -0 openssl dgst -sha256 -verify "$k.pub" -signature "$k.sig" data
	done
	run -0 sk key verify pub --in data --sig ec.sig
	sk_fails 9 "key import: " key import ec --in ec.pem
	sk_fails 6 "key import: " key import ec2 --in ec.pem --exportable
	# a raw AES key goes on the token as a secret key (80-pkcs11-sym.bats)
	echo 00112233445566778899aabbccddeeff | xxd -r -p > aes.bin
	run -0 sk key import aes --type aes-128 --in aes.bin
	run -0 p11tool --list-objects --type secrkey --label aes
	[[ "$output" == *"sensitive"* ]]
}

@test "key import: an EC key with explicit curve parameters is kept on the token in named-curve form" {
	# (found by the backend matrix, tests/10-key.bats on pkcs11: the
	# token's CKA_PUBLIC_KEY_INFO was the explicit form seckit was given)
	openssl ecparam -name secp384r1 -genkey -noout -param_enc explicit -out explicit.pem
	run -0 openssl asn1parse -in explicit.pem
	[[ "$output" == *"prime-field"* ]]
	run -0 sk key import x --in explicit.pem
	run -0 sk key export x --out x.pub
	run -0 openssl asn1parse -in x.pub
	[[ "$output" == *":secp384r1"* ]]
	[[ "$output" != *"prime-field"* ]]
	run -0 sk key sign x --in data --out sig --digest sha384
	run -0 openssl dgst -sha384 -verify x.pub -signature sig data
}

@test "a token key's origin is the token's CKA_LOCAL: made there (seckit, pkcs11-tool --keypairgen) generated, written there (key import, pkcs11-tool --write-object) imported" {
	run -0 p11tool --keypairgen --key-type EC:prime256v1 --label kpg --id 0a01
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out wo.pem 2>/dev/null
	openssl pkey -in wo.pem -pubout -out wo.pub
	run -0 p11tool --write-object wo.pem --type privkey --label wo --id 0a02
	run -0 p11tool --write-object wo.pub --type pubkey --label wo --id 0a02
	run -0 sk key create made --type ec-p256
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out imp.pem 2>/dev/null
	run -0 sk key import imp --in imp.pem
	run -0 sk key info kpg
	[[ "$output" == *"origin:          generated"* ]]
	run -0 sk key info wo
	[[ "$output" == *"origin:          imported"* ]]
	run -0 sk key info made
	[[ "$output" == *"origin:          generated"* ]]
	run -0 sk key info imp
	[[ "$output" == *"origin:          imported"* ]]
	run -0 sk --json key info wo
	[[ "$output" == *'"origin":"imported"'* ]]
	run -0 sk --json key list
	run -0 python3 -c '
import json, sys
got = {k["name"]: k["origin"] for k in json.loads(sys.argv[1])["keys"]}
assert got == {"kpg": "generated", "wo": "imported", "made": "generated", "imp": "imported"}, got' "$output"
}

@test "key list is sorted by name, then type, on soft and on a token, with the token's keys among the store's" {
	# soft: the store's keys, made out of order.
	for k in zeta alpha mid; do
		run -0 sk --backend soft key create "$k" --type ec-p256
	done
	run -0 sk --backend soft key list --names
	[ "$output" = "$(printf 'alpha\nmid\nzeta')" ]
	rm -rf "$SECKIT_STORE"
	# pkcs11: token keys by seckit and pkcs11-tool (one label on an RSA and
	# an EC key, the RSA one made first), and a public key in the store.
	run -0 sk key create zeta --type ec-p256
	run -0 p11tool --keypairgen --key-type rsa:2048 --label dup --id 0b01
	run -0 p11tool --keypairgen --key-type EC:prime256v1 --label dup --id 0b02
	run -0 sk key create alpha --type ec-p256
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 2>/dev/null |
		openssl pkey -pubout -out pub.pem
	run -0 sk key import mid --in pub.pem
	run -0 sk key import beta --in pub.pem
	run -0 bash -c "'$SECKIT' key list | awk '{ print \$1, \$2 }'"
	[ "$output" = "$(printf 'alpha ec-p256\nbeta ec-p256\ndup ec-p256\ndup rsa-2048\nmid ec-p256\nzeta ec-p256')" ]
	run -0 sk --json key list
	run -0 python3 -c '
import json, sys
print(" ".join(k["name"] for k in json.loads(sys.argv[1])["keys"]))' "$output"
	[ "$output" = "alpha beta dup dup mid zeta" ]
}

@test "a CKA_ALWAYS_AUTHENTICATE key with the PIN from a descriptor or stdin (read once): the context-specific login uses the user's PIN, the signature verifies" {
	run -0 p11tool --keypairgen --key-type EC:prime256v1 --label aa --id 0a --always-auth
	run -0 sk key export aa --out aa.pub
	# No PIN in the config: only --pin gives it.
	sed -i '/^pkcs11:/d;/pin: env/d' "$SECKIT_CONFIG"
	use_p11count
	P11COUNT_LOG=$PWD/log run -0 "$SECKIT" --pin fd:3 key sign aa --in data --out fd.sig 3< <(printf 1234)
	# The user's login, then the context-specific one of the signature.
	[ "$(calls log C_Login)" = 2 ]
	run -0 openssl dgst -sha256 -verify aa.pub -signature fd.sig data
	printf 1234 > pin.txt
	run -0 "$SECKIT" --pin fd:0 key sign aa --in data --out stdin.sig < pin.txt
	run -0 openssl dgst -sha256 -verify aa.pub -signature stdin.sig data
	# A wrong PIN is still refused at the user's login: 5, one line.
	export SK_BAD_PIN=4321
	sk_fails 5 "key sign: " --pin env:SK_BAD_PIN key sign aa --in data --out bad.sig
	assert_absent bad.sig
}
