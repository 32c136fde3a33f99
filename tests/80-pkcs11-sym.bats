#!/usr/bin/env bats
# Secret keys on a PKCS#11 token (SoftHSM2): AES and HMAC keys made on the
# token or imported into it, sensitive and never extractable; AES-CBC,
# AES-CTR and AES-GCM, CMAC and HMAC through the token, cross-checked with
# openssl enc and openssl mac (with keys imported from known bytes), both
# ways; tampered and truncated input; a token that lacks a mechanism.

load helper
load pkcs11

setup() {
	pkcs11_setup
	head -c 100000 /dev/urandom > data
}

# import_known TYPE BYTES: key TYPE on the token from BYTES random bytes,
# whose hex is in TYPE.hex.
import_known() {
	head -c "$2" /dev/urandom > "$1.raw"
	xxd -p -c 64 "$1.raw" > "$1.hex"
	run -0 sk key import "$1" --type "$1" --in "$1.raw"
}

@test "AES and HMAC keys made on the token: secret-key objects, sensitive, never extractable; info, list, delete" {
	run -0 sk key create a --type aes-256
	run -0 sk key create h --type hmac-sha384
	run -0 p11tool --list-objects --type secrkey
	[[ "$output" == *"label:      a"* ]]
	[[ "$output" == *"label:      h"* ]]
	[ "$(grep -c 'never extractable' <<< "$output")" = 2 ]
	[ "$(grep -c 'Access:.*sensitive' <<< "$output")" = 2 ]
	[[ "$output" == *"AES length 32"* ]]
	run -0 sk key info a
	[[ "$output" == *"type:            aes-256"* ]]
	[[ "$output" == *"size:            256 bits"* ]]
	[[ "$output" == *"origin:          generated"* ]]
	[[ "$output" == *"exportable:      no"* ]]
	[[ "$output" == *"fingerprint:     -"* ]]
	run -0 sk key info h
	[[ "$output" == *"type:            hmac-sha384"* ]]
	run -0 sk key list --names
	[ "$output" = "$(printf 'a\nh')" ]
	# nothing in a store: the token is the catalogue
	assert_absent "$SECKIT_STORE"
	run -0 sk key encrypt a --in data --out ct
	run -0 sk key decrypt a --in ct --out pt
	cmp data pt
	run -0 sk key mac h --in data
	[ ${#output} -eq 96 ]
	sk_fails 6 "key export: " key export a --private --no-encrypt --out a.raw
	assert_absent a.raw
	run -0 sk key delete a
	run -0 p11tool --list-objects --type secrkey
	[[ "$output" != *"label:      a"* ]]
	[[ "$output" == *"label:      h"* ]]
	sk_fails 8 "key info: " key info a
}

@test "AES-CBC and AES-CTR on the token: openssl enc decrypts seckit's output and seckit decrypts openssl's" {
	for t in aes-128 aes-256; do
		import_known "$t" $(( ${t#aes-} / 8 ))
		for m in cbc ctr; do
			run -0 sk key encrypt "$t" --mode "$m" --in data --out ct
			iv=$(head -c 16 ct | xxd -p)
			tail -c +17 ct | openssl enc -d "-${t}-$m" -K "$(cat "$t.hex")" -iv "$iv" -out pt
			cmp data pt
			iv=$(openssl rand -hex 16)
			{ echo "$iv" | xxd -r -p; openssl enc -e "-${t}-$m" -K "$(cat "$t.hex")" -iv "$iv" -in data; } > oct
			run -0 sk key decrypt "$t" --mode "$m" --in oct --out opt
			cmp data opt
			[ "$(file_mode opt)" = 600 ]
		done
	done
	# a counter that wraps from 2^128 - 1 to 0 within the data, as
	# OpenSSL's does (the token will not wrap: seckit starts it again),
	# at once and inside the second 64 KiB chunk; the last block short
	# (and a file that ends exactly at the wrap)
	head -c 99999 data > odd
	head -c 16 data > one
	for iv in ffffffffffffffffffffffffffffffff fffffffffffffffffffffffffffff000 0000000000000000ffffffffffffffff; do
		for f in odd one; do
			{ echo "$iv" | xxd -r -p; openssl enc -e -aes-128-ctr -K "$(cat aes-128.hex)" -iv "$iv" -in "$f"; } > wrap
			run -0 sk key decrypt aes-128 --mode ctr --in wrap --out wrap.pt
			cmp "$f" wrap.pt
			rm wrap.pt
		done
	done
	# CBC: whole blocks, one more for aligned input
	head -c 32 /dev/urandom > d32
	run -0 sk key encrypt aes-256 -m cbc --in d32 --out c32
	[ "$(stat -c %s c32)" -eq $((16 + 48)) ]
}

@test "AES-GCM on the token: the soft backend's and OpenSSL's bytes, every length; tampering is 7 with nothing written" {
	import_known aes-256 32
	# the same key in a soft store opens what the token made, and the reverse
	run -0 sk --backend soft key import soft --type aes-256 --in aes-256.raw
	for n in 0 1 15 16 17 65535 65536 65537 200000; do
		head -c "$n" /dev/urandom > "p$n"
		run -0 sk key encrypt aes-256 --in "p$n" --out "c$n"
		[ "$(stat -c %s "c$n")" -eq $((12 + n + 16)) ]
		run -0 sk --backend soft key decrypt soft --in "c$n" --out "s$n"
		cmp "p$n" "s$n"
		run -0 sk --backend soft key encrypt soft --in "p$n" --out "o$n"
		run -0 sk key decrypt aes-256 --in "o$n" --out "d$n"
		cmp "p$n" "d$n"
	done
	# and with openssl alone (python's cryptography is not assumed): the
	# GCM of a 96-bit nonce is CTR from nonce || 2, so the ciphertext is
	# openssl's AES-CTR of the same key from that counter
	nonce=$(head -c 12 c200000 | xxd -p)
	tail -c +13 c200000 | head -c 200000 |
		openssl enc -d -aes-256-ctr -K "$(cat aes-256.hex)" -iv "${nonce}00000002" -out via-ctr
	cmp p200000 via-ctr
	run -0 sk key encrypt aes-256 --in data --out ct
	for off in 0 11 12 5000 $((12 + 100000 + 15)); do
		cp ct bad
		b=$(dd if=ct bs=1 skip="$off" count=1 status=none | xxd -p)
		printf '%02x' $((0x$b ^ 1)) | xxd -r -p | dd of=bad bs=1 seek="$off" conv=notrunc status=none
		sk_fails 7 "key decrypt: " key decrypt aes-256 --in bad --out out
		assert_absent out
	done
	head -c -1 ct > trunc
	sk_fails 7 "key decrypt: " key decrypt aes-256 --in trunc --out out
	head -c 27 ct > trunc
	sk_fails 7 "key decrypt: " key decrypt aes-256 --in trunc --out out
	run -0 sk key create other --type aes-256
	sk_fails 7 "key decrypt: " key decrypt other --in ct --out out
	assert_absent out
	assert_no_debris .
	# a failed decryption leaves the session free: the next one works
	run -0 sk key decrypt aes-256 --in ct --out out
	cmp data out
}

@test "AES through the token streams: 16 MiB from a pipe to a pipe, GCM and CBC, equal to the soft backend's" {
	import_known aes-128 16
	run -0 sk --backend soft key import soft --type aes-128 --in aes-128.raw
	run -0 bash -c "set -o pipefail; head -c 16M /dev/zero |
		'$SECKIT' key encrypt aes-128 --in - --out - |
		'$SECKIT' --backend soft key decrypt soft --in - --out - |
		cmp - <(head -c 16M /dev/zero)"
	run -0 bash -c "set -o pipefail; head -c 16M /dev/zero |
		'$SECKIT' --backend soft key encrypt soft -m cbc --in - --out - |
		'$SECKIT' key decrypt aes-128 -m cbc --in - --out - |
		cmp - <(head -c 16M /dev/zero)"
}

@test "CMAC and HMAC on the token equal openssl mac; --check; a key made by pkcs11-tool --keygen is a seckit key" {
	for c in "hmac-sha256 32 SHA256" "hmac-sha384 48 SHA384" "hmac-sha512 64 SHA512"; do
		set -- $c
		import_known "$1" "$2"
		want=$(openssl mac -digest "$3" -macopt "hexkey:$(cat "$1.hex")" -in data HMAC | tr A-F a-f)
		run -0 sk key mac "$1" --in data
		[ "$output" = "$want" ]
	done
	for t in aes-128 aes-256; do
		import_known "$t" $(( ${t#aes-} / 8 ))
		want=$(openssl mac -cipher "${t^^}-CBC" -macopt "hexkey:$(cat "$t.hex")" -in data CMAC | tr A-F a-f)
		run -0 sk key mac "$t" --in data
		[ "$output" = "$want" ]
	done
	sk key mac hmac-sha256 --in data --out mac.bin
	run -0 sk key mac hmac-sha256 --in data --check mac.bin
	[ "$output" = "MAC OK" ]
	echo x >> data
	sk_fails 7 "key mac: " key mac hmac-sha256 --in data --check mac.bin
	# keys another tool made: an AES key and a 32-byte generic secret
	run -0 p11tool --keygen --key-type AES:16 --label ext-aes --id 0c
	run -0 p11tool --keygen --key-type GENERIC:32 --label ext-hmac --id 0d
	run -0 sk key info ext-aes
	[[ "$output" == *"type:            aes-128"* ]]
	run -0 sk key info ext-hmac
	[[ "$output" == *"type:            hmac-sha256"* ]]
	run -0 sk key encrypt ext-aes --in data --out ct
	run -0 sk key decrypt ext-aes --in ct --out pt
	cmp data pt
	run -0 sk key mac ext-hmac --in data
	[ ${#output} -eq 64 ]
}

@test "secret keys: what a token lacks is 6 naming the mechanism; wrong keys, lengths and twin labels fail; nothing written" {
	# SoftHSM 2.6.1 ignores the first name of a "-" list: it is repeated.
	mk_token "$BATS_TEST_TMPDIR/lacking" lacking "-CKM_AES_CTR,CKM_AES_CTR,CKM_AES_CMAC,CKM_GENERIC_SECRET_KEY_GEN"
	run -0 sk key create a --type aes-128
	sk_fails 6 "key encrypt: " key encrypt a --mode ctr --in data --out out
	[[ "$stderr" == *"token 'lacking' cannot encrypt with AES-CTR: it lacks CKM_AES_CTR" ]]
	sk_fails 6 "key encrypt: " key encrypt a --in data --out out
	[[ "$stderr" == *"it lacks CKM_AES_CTR" ]]
	sk_fails 6 "key mac: " key mac a --in data
	[[ "$stderr" == *"it lacks CKM_AES_CMAC" ]]
	sk_fails 6 "key create: " key create h --type hmac-sha256
	[[ "$stderr" == *"it lacks CKM_GENERIC_SECRET_KEY_GEN" ]]
	assert_absent out
	run -0 sk key encrypt a --mode cbc --in data --out ct
	run -0 sk key decrypt a --mode cbc --in ct --out pt
	cmp data pt
	# CBC with bad padding (a wrong key) and a truncated ciphertext
	run -0 sk key create b --type aes-128
	sk_fails 7 "key decrypt: " key decrypt b --mode cbc --in ct --out out
	head -c -5 ct > trunc
	sk_fails 7 "key decrypt: " key decrypt a --mode cbc --in trunc --out out
	assert_absent out
	# an HMAC key does not encrypt; raw bytes of the wrong length
	head -c 32 /dev/urandom > k32
	run -0 sk key import h --type hmac-sha256 --in k32
	sk_fails 6 "key encrypt: " key encrypt h --in data --out out
	sk_fails 1 "key import: " key import x --type aes-128 --in k32
	# two secret keys with one label: never a silent pick
	run -0 pkcs11-tool --module "$MODULE" --token-label lacking --login --pin 1234 --keygen --key-type AES:16 --label twin --id 0a
	run -0 pkcs11-tool --module "$MODULE" --token-label lacking --login --pin 1234 --keygen --key-type AES:16 --label twin --id 0b
	sk_fails 9 "key encrypt: " key encrypt twin --mode cbc --in data --out out
	[[ "$stderr" == *"key 'twin': 2 secret keys on token 'lacking' have that label"* ]]
	assert_absent out
	assert_no_debris .
}
