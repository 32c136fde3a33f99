#!/usr/bin/env bats
# docs/formats/store.md against the code: its openssl-only recipe recovers
# objects that seckit wrote, and the layout it describes holds.

load helper
load store

# The fenced block of docs/formats/store.md starting "# recipe: NAME".
recipe() {
	awk -v name="# recipe: $1" '
		/^```sh$/ { getline l; if (l == name) { on = 1; print l; next } }
		on && /^```$/ { on = 0 }
		on' "$SECKIT_SRC/docs/formats/store.md"
}

@test "the store-read recipe recovers objects of every size with openssl alone" {
	recipe store-read > read.sh
	[ -s read.sh ]
	: > d0
	head -c 5 /dev/urandom > d5
	head -c 65536 /dev/urandom > d64k
	head -c 200001 /dev/urandom > d200k
	for f in d0 d5 d64k d200k; do
		sk store write "obj-$f" --in "$f"
		STORE=$SECKIT_STORE NAME="obj-$f" sh read.sh > "$f.out"
		cmp "$f" "$f.out"
	done
	# (the recipe opens the file whose name it derives: the names agree)
}

@test "the recipe notices a changed store (it is a check, not only a decoder)" {
	recipe store-read > read.sh
	echo data | sk store write x
	f="$SECKIT_STORE/$(obj_file x)"
	cp "$f" keep
	need_storetool
	# a flipped bit in the master key's check value, in the object's size
	cp "$SECKIT_STORE/master.key" mk
	"$ST" flip "$SECKIT_STORE/master.key" 330
	run ! env STORE="$SECKIT_STORE" NAME=x sh read.sh
	cp mk "$SECKIT_STORE/master.key"
	echo more | sk store write x
	cp keep "$f"   # an older version: the index entry no longer matches
	run ! env STORE="$SECKIT_STORE" NAME=x sh read.sh
}

@test "layout: file sizes, magics, modes as documented" {
	sk store write empty < /dev/null
	f="$SECKIT_STORE/$(obj_file empty)"
	# 28 fixed + header (23 + name 5, no attributes) + 16 tag + 16 tag of the empty chunk
	[ "$(stat -c %s "$f")" -eq $((28 + 28 + 16 + 16)) ]
	[ "$(head -c 4 "$f")" = SKSO ]
	[ "$(stat -c %s "$SECKIT_STORE/master.key")" -eq 56 ]
	[ "$(head -c 4 "$SECKIT_STORE/master.key")" = SKMK ]
	b="$SECKIT_STORE/$(bucket_of "$(obj_file empty)")"
	[ "$(stat -c %s "$b")" -eq $((12 + 49 + 32)) ]
	[ "$(head -c 4 "$b")" = SKIX ]
	[ "$(stat -c %s "$SECKIT_STORE/lock")" -eq 1 ]
	head -c $((3 * 65536)) /dev/zero | sk store write three
	[ "$(stat -c %s "$SECKIT_STORE/$(obj_file three)")" -eq $((28 + 28 + 16 + 3 * 65536 + 3 * 16)) ]
}

@test "key objects: the store-key recipe recovers soft keys as key export gives them; attributes and blob as documented" {
	recipe store-key > key.sh
	[ -s key.sh ]
	for t in ec-p256 ec-p521 rsa-2048 aes-128 hmac-sha512; do
		run -0 sk key create "k-$t" --type "$t" --exportable
		run -0 env STORE="$SECKIT_STORE" NAME="k-$t" sh key.sh
		[ "$(file_mode key.bin)" = 600 ]
		[ "${lines[0]}" = "1 type: $t" ]
		[ "${lines[1]}" = "2 flags: 1" ]
		[ "${lines[2]}" = "5 backend: soft" ]
		[[ "${lines[3]}" =~ ^"6 created: "[0-9]+$ ]]
		[ "${lines[4]}" = "7 origin: generated" ]
		attrs=("${lines[@]}")
		run -0 sk key export "k-$t" --private --no-encrypt --out exported
		case $t in
		ec-*|rsa-*)
			# the public key attribute is the SPKI DER openssl writes
			pub=$(openssl pkey -in exported -pubout -outform DER | od -An -v -tx1 | tr -d ' \n')
			[ "${attrs[5]}" = "4 public key: $pub" ]
			[ "${#attrs[@]}" -eq 6 ]
			# the blob is the key, in the type-specific DER form (SEC1, PKCS#1)
			openssl pkey -in exported -outform DER -out want.p8
			openssl pkey -inform DER -in key.bin -outform DER -out got.p8
			cmp want.p8 got.p8
			if [ "${t%%-*}" = ec ]; then
				openssl ec -inform DER -in key.bin -outform DER -out canon 2>/dev/null
			else
				openssl rsa -inform DER -in key.bin -traditional -outform DER -out canon 2>/dev/null
			fi
			cmp canon key.bin
			;;
		*)
			[ "${#attrs[@]}" -eq 5 ]
			cmp exported key.bin
			;;
		esac
	done
	# a public-only key: no body, flags bit 2 (+ provisioned, bit 1)
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out p.pem 2>/dev/null
	openssl pkey -in p.pem -pubout -out p.pub
	run -0 sk key import pub --in p.pub --provisioned
	run -0 env STORE="$SECKIT_STORE" NAME=pub sh key.sh
	[ "${lines[1]}" = "2 flags: 6" ]
	[ "${lines[4]}" = "7 origin: imported" ]
	assert_absent key.bin
}

# The file of key object $1: HMAC(names key, 01 || name), store.md.
key_file() {
	local k nk
	k=$(od -An -v -tx1 -j 8 -N 32 "$SECKIT_STORE/master.key" | tr -d ' \n')
	nk=$(openssl kdf -keylen 32 -kdfopt digest:SHA256 -kdfopt hexkey:"$k" \
		-kdfopt info:seckit/v1/names HKDF | tr -d ':')
	printf '\001%s' "$1" | openssl mac -digest SHA256 -macopt hexkey:"$nk" HMAC | tr A-F a-f
}

@test "key objects: an independent reader (python3 + openssl) checks every GCM tag, password-bound keys too" {
	require python3
	run -0 sk key password create vault --pass pass:pw1
	run -0 sk key create wrapped --type ec-p384 --password-object vault --pass pass:pw1 --exportable
	run -0 sk key create plain --type aes-256 --exportable
	python3 "$SECKIT_SRC/tests/store-key.py" "$SECKIT_STORE" wrapped pw1 > blob 2> attrs
	grep -qx "3 vault" attrs
	grep -qx "1 ec-p384" attrs
	run -0 sk key export wrapped --private --no-encrypt --pass pass:pw1 --out exported
	openssl pkey -in exported -outform DER -out want.p8
	tail -c +2 blob | openssl pkey -inform DER -outform DER -out got.p8
	cmp want.p8 got.p8
	[ "$(head -c 1 blob | od -An -tx1 | tr -d ' ')" = 01 ]
	python3 "$SECKIT_SRC/tests/store-key.py" "$SECKIT_STORE" plain > blob 2> attrs
	run -0 sk key export plain --private --no-encrypt --out exported
	cmp exported <(tail -c +2 blob)
	# the wrong password fails the record's verifier; a flipped bit, a tag
	run -1 python3 "$SECKIT_SRC/tests/store-key.py" "$SECKIT_STORE" wrapped nope
	[[ "$output" == *"wrong password"* ]]
	need_storetool
	f="$SECKIT_STORE/$(key_file plain)"
	[ -f "$f" ]
	"$ST" flip "$f" 300
	run -1 python3 "$SECKIT_SRC/tests/store-key.py" "$SECKIT_STORE" plain
	[[ "$output" == *"tag mismatch"* ]]
}
