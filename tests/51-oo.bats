#!/usr/bin/env bats
# seckit oo: opaque objects (encrypt once), OOIDs (the OOInfo encrypted to
# one device, signed by the OEM) and opening on the device; every failed
# check is exit 7 with nothing written.

load helper
load opaque

# data (a file), its object data.enc, the OOInfo data.oocfg, and the OOID
# data.oid for the store's device.
mk_object() {
	head -c "${1:-5000}" /dev/urandom > data
	sk oo make --in data "${@:2}"
	sk oo id --info data.oocfg --sign-key oem.pem --device-pub dev.pub
}

@test "oo: make, id, open round trip on every curve, object cipher, ECIES cipher and MAC" {
	backend_needs ecdh
	mk_oem
	for curve in ec-p256 ec-p384 ec-p521; do
		reset_device
		sk key import oem-root --in oem.pub
		mk_device "$curve"
		for oc in aes-256-ctr aes-256-gcm; do
			head -c 3000 /dev/urandom > data
			run -0 sk oo make --in data --cipher $oc
			[ "$(file_mode data.oocfg)" = 600 ]
			[ "$(file_mode data.enc)" = 644 ]
			for c in aes-256-ctr aes-256-cbc aes-256-gcm; do
				for m in hmac-sha256 hmac-sha384 hmac-sha512; do
					run -0 sk oo id --info data.oocfg --sign-key oem.pem --device-pub dev.pub \
						--cipher $c --mac $m --kdf x963-sha384
					rm -f out
					run -0 sk oo open --id data.oid --in data.enc --out out
					cmp data out
					[ "$(file_mode out)" = 600 ]
				done
			done
		done
	done
}

@test "oo: empty and larger objects, stdin and stdout" {
	backend_needs ecdh
	mk_oem
	mk_device
	: > empty
	sk oo make --in empty
	sk oo id --info empty.oocfg --sign-key oem.pem --device-pub dev.pub
	run -0 sk oo open --id empty.oid --in empty.enc --out empty.out
	[ -f empty.out ]
	[ ! -s empty.out ]
	# a pipe in (the object is spooled, ciphertext only) and out
	head -c 300000 /dev/urandom > big
	cat big | sk oo make --in - --out big.enc --info big.oocfg --cipher aes-256-gcm
	sk oo id --info big.oocfg --sign-key oem.pem --device-pub dev.pub --out big.oid
	sk oo open --id big.oid --in - --out - < big.enc > big.out
	cmp big big.out
	sk oo make --in big --out - --info b2.oocfg > b2.enc
	sk oo id --info b2.oocfg --sign-key oem.pem --device-pub dev.pub
	sk oo open --id b2.oid --in b2.enc --out b2.out
	cmp big b2.out
	run -2 sk oo make --in - --out x.enc
	run -2 sk oo make --in big --info -
	assert_no_debris .
}

@test "oo open: decrypts in constant memory" {
	backend_needs ecdh
	require /usr/bin/time
	mk_oem
	mk_device
	head -c 64000000 /dev/zero > big
	sk oo make --in big
	sk oo id --info big.oocfg --sign-key oem.pem --device-pub dev.pub
	# resident set in KiB: far below the 64 MB object, over what the
	# program needs to show the OOID (a sanitizer build's runtime is large)
	/usr/bin/time -f %M -o rss0 "$SECKIT" oo show big.oid >/dev/null
	limit=$(($(cat rss0) + 16384))
	/usr/bin/time -f %M -o rss "$SECKIT" oo open --id big.oid --in big.enc --out big.out
	cmp big big.out
	echo "peak RSS: show $(cat rss0) KiB, open $(cat rss) KiB" >&3
	[ "$(cat rss)" -lt "$limit" ]
	/usr/bin/time -f %M -o rss "$SECKIT" oo make --in big --out big2.enc --info big2.oocfg
	[ "$(cat rss)" -lt "$limit" ]
}

@test "oo show: the clear parts of an OOID and of an object" {
	mk_oem
	mk_device
	mk_object 100
	oid=$(sed -n 's/^object-id: //p' data.oocfg)
	devid=$(openssl pkey -pubin -in dev.pub -outform DER | openssl dgst -sha256 -r | cut -d' ' -f1)
	run -0 sk oo show data.oid
	[[ "$output" == *"type:       ooid"* ]]
	[[ "$output" == *"object id:  $oid"* ]]
	[[ "$output" == *"device:     sha256:$devid"* ]]
	run -0 sk --json oo show data.enc
	[ "$output" = '{"ok":true,"path":"data.enc","type":"opaque-object","version":1,"object_id":"'$oid'","content_length":100}' ]
	run -0 sk --json oo show data.oid
	[[ "$output" == *'"kdf":"hkdf-sha256","cipher":"aes-256-ctr","mac":"hmac-sha256"}' ]]
	# the key is nowhere in the clear
	key=$(sed -n 's/^key: //p' data.oocfg)
	[[ "$(hexof data.oid)" != *"$key"* ]]
	[[ "$(hexof data.enc)" != *"$key"* ]]
	run -7 sk oo show data.oocfg
	run -7 sk oo show oem.pub
}

@test "oo open: an OOID for another device is refused (7), and works on that device" {
	mk_oem
	mk_device
	mk_device2
	head -c 1000 /dev/urandom > data
	sk oo make --in data
	sk oo id --info data.oocfg --sign-key oem.pem --device-pub dev2.pub
	run -7 --separate-stderr sk oo open --id data.oid --in data.enc --out out
	assert_one_error_line "seckit oo open: "
	[[ "$stderr" == *"another device"* ]]
	assert_absent out
	sk_device_agrees sk2 oo open --id data.oid --in data.enc --out out
	if backend_has ecdh; then cmp data out; else assert_absent out; fi
}

@test "oo open: an OOID signed by another key is refused (7)" {
	mk_oem
	mk_device
	mk_ec rogue
	head -c 1000 /dev/urandom > data
	sk oo make --in data
	sk oo id --info data.oocfg --sign-key rogue.pem --device-pub dev.pub
	run -7 --separate-stderr sk oo open --id data.oid --in data.enc --out out
	assert_one_error_line "seckit oo open: "
	assert_absent out
	sk key import rogue-pub --in rogue.pub
	sk_device_agrees sk oo open --id data.oid --in data.enc --out out --verify-key rogue-pub
}

@test "oo open: the OOID of object A does not open object B (7)" {
	backend_needs ecdh
	mk_oem
	mk_device
	echo "object A" > a
	echo "object B" > b
	sk oo make --in a
	sk oo make --in b
	sk oo id --info a.oocfg --sign-key oem.pem --device-pub dev.pub
	run -7 --separate-stderr sk oo open --id a.oid --in b.enc --out out
	assert_one_error_line "seckit oo open: "
	[[ "$stderr" == *"is for object"* ]]
	assert_absent out
	# the same content made twice is two objects with two keys
	cp a a2
	sk oo make --in a2
	run -7 sk oo open --id a.oid --in a2.enc --out out
	run -0 sk oo open --id a.oid --in a.enc --out out
	cmp a out
}

@test "oo open: policy window (not-before, not-after) is enforced with the reason" {
	# (oo open checks the policy window after the key agreement)
	backend_needs ecdh
	mk_oem
	mk_device
	echo data > d
	sk oo make --in d --out future.enc --info future.oocfg --not-before 2099-01-01
	sk oo make --in d --out past.enc --info past.oocfg --not-after 2001-01-01T00:00:00Z
	sk oo make --in d --out now.enc --info now.oocfg --not-before 2001-01-01 --not-after 2099-12-31T23:59:59+02:00
	for f in future past now; do
		sk oo id --info $f.oocfg --sign-key oem.pem --device-pub dev.pub
	done
	run -7 --separate-stderr sk oo open --id future.oid --in future.enc --out out
	assert_one_error_line "seckit oo open: policy: not valid before 2099-01-01T00:00:00Z"
	run -7 --separate-stderr sk oo open --id past.oid --in past.enc --out out
	assert_one_error_line "seckit oo open: policy: expired on 2001-01-01T00:00:00Z"
	assert_absent out
	run -0 sk oo open --id now.oid --in now.enc --out out
	cmp d out
	grep -q '^not-after: 2099-12-31T21:59:59Z$' now.oocfg
	run -2 sk oo make --in d --out x.enc --info x.oocfg --not-before tomorrow
	run -2 sk oo make --in d --out x.enc --info x.oocfg --not-before 2030-02-30
	run -2 sk oo make --in d --out x.enc --info x.oocfg --not-before 2030-01-02 --not-after 2030-01-01
	assert_absent x.enc
}

@test "oo open: the policy window follows the device's clock (faketime)" {
	backend_needs ecdh
	require faketime
	mk_oem
	mk_device
	echo data > d
	sk oo make --in d --not-before 2099-01-01 --not-after 2099-12-31T23:59:59Z
	sk oo id --info d.oocfg --sign-key oem.pem --device-pub dev.pub
	# (an ASan build must let libfaketime be preloaded first)
	export ASAN_OPTIONS=verify_asan_link_order=0
	run -0 faketime '2099-06-01 00:00:00' "$SECKIT" oo open --id d.oid --in d.enc --out out1
	cmp d out1
	run -7 faketime -f '2098-12-31 23:59:59' "$SECKIT" oo open --id d.oid --in d.enc --out out2
	run -0 faketime -f '2099-12-31 23:59:59' "$SECKIT" oo open --id d.oid --in d.enc --out out3
	run -7 faketime '2100-01-01 00:00:00' "$SECKIT" oo open --id d.oid --in d.enc --out out4
	assert_absent out2
	assert_absent out4
}

@test "oo open: a tampered or truncated object is refused (7) and nothing is written" {
	backend_needs ecdh
	mk_oem
	mk_device
	for c in aes-256-ctr aes-256-gcm; do
		head -c 70000 /dev/urandom > data
		sk oo make --in data --cipher $c
		sk oo id --info data.oocfg --sign-key oem.pem --device-pub dev.pub
		size=$(wc -c < data.enc)
		for at in 40 1000 $((size / 2)) $((size - 1)); do
			python3 -c "import sys; d=bytearray(open('data.enc','rb').read()); d[$at]^=4; open('t.enc','wb').write(d)"
			run -7 --separate-stderr sk oo open --id data.oid --in t.enc --out out
			assert_one_error_line "seckit oo open: "
			assert_absent out
		done
		for n in 0 10 30 $((size - 16)) $((size - 1)); do
			head -c "$n" data.enc > t.enc
			run -7 --separate-stderr sk oo open --id data.oid --in t.enc --out out
			assert_one_error_line "seckit oo open: "
			assert_absent out
		done
		{ cat data.enc; printf x; } > t.enc
		run -7 sk oo open --id data.oid --in t.enc --out out
		# stdout gets nothing either
		run -7 --separate-stderr sk oo open --id data.oid --in t.enc --out -
		[ -z "$output" ]
		assert_no_debris .
	done
}

@test "oo open: every single-bit flip of an OOID is refused with 7" {
	mk_oem
	mk_device
	echo "tiny" > data
	sk oo make --in data
	sk oo id --info data.oocfg --sign-key oem.pem --device-pub dev.pub
	flip_all data.oid flips
	bad=""
	for f in flips/*; do
		"$SECKIT" oo open --id "$f" --in data.enc --out out 2>/dev/null && rc=0 || rc=$?
		[ "$rc" -eq 7 ] || bad="$bad $f:$rc"
		[ ! -e out ] || bad="$bad $f:written"
	done
	[ -z "$bad" ] || { echo "not refused with 7:$bad" >&2; false; }
	sk_device_agrees sk oo open --id data.oid --in data.enc --out out
}

@test "oo id: bad input fails with the right code and one error line" {
	mk_oem
	mk_device
	echo data > d
	sk oo make --in d
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa.pem 2>/dev/null
	openssl pkey -in rsa.pem -pubout -out rsa.pub
	run -2 --separate-stderr sk oo id --info d.oocfg --sign-key oem.pem
	assert_one_error_line "seckit oo id: "
	run -2 sk oo id --info d.oocfg --sign-key oem.pem --device-pub dev.pub --devices f.yaml
	run -2 sk oo id --info d.oocfg --sign-key oem.pem --device-pub dev.pub --jobs 4
	run -2 sk oo id --info d.oocfg --device-pub dev.pub
	run -2 sk oo id --info d.oocfg --sign-key oem.pem --device-pub dev.pub --cipher rc4
	run -6 --separate-stderr sk oo id --info d.oocfg --sign-key oem.pem --device-pub rsa.pub
	assert_one_error_line "seckit oo id: "
	run -1 sk oo id --info d.oocfg --sign-key oem.pub --device-pub dev.pub
	run -1 sk oo id --info nope.oocfg --sign-key oem.pem --device-pub dev.pub
	# the OOInfo file is checked, with file:line:column
	sed 's/^key: .*/key: 1234/' d.oocfg > bad.oocfg
	run -3 --separate-stderr sk oo id --info bad.oocfg --sign-key oem.pem --device-pub dev.pub
	assert_one_error_line "seckit oo id: bad.oocfg:7:6: key must be 64 hex digits"
	sed '/^sha256: /d' d.oocfg > bad.oocfg
	run -3 sk oo id --info bad.oocfg --sign-key oem.pem --device-pub dev.pub
	sed 's/^cipher: .*/cipher: aes-256-gcm/' d.oocfg > bad.oocfg
	run -3 sk oo id --info bad.oocfg --sign-key oem.pem --device-pub dev.pub
	printf 'extra: 1\n' | cat d.oocfg - > bad.oocfg
	run -3 sk oo id --info bad.oocfg --sign-key oem.pem --device-pub dev.pub
	assert_absent d.oid
	assert_absent bad.oid
}

@test "oo recipes: seckit's OOID and object open with openssl alone" {
	backend_needs import
	mk_oem
	mk_device_openssl P-256
	head -c 10000 /dev/urandom > data
	sk oo make --in data --not-after 2099-01-01
	sk oo id --info data.oocfg --sign-key oem.pem --device-pub dev.pub --cipher aes-256-cbc --kdf hkdf-sha384
	run -0 env OOID=data.oid OEM=oem.pub DEV=dev.pem sh -c "$(recipe ooid ooid-verify)"
	[ "$(cat objid.txt)" = "$(sed -n 's/^object-id: //p' data.oocfg)" ]
	run -0 env ENV=env.der DEV=dev.pem CONTEXT=ooid OUT=ooinfo.der sh -c "$(recipe ecies ecies-open)"
	run -0 env OBJ=data.enc INFO=ooinfo.der OUT=out1 sh -c "$(recipe opaque-object oo-open)"
	cmp data out1
	# ... and with the OOInfo file, on the packaging host
	run -0 env OBJ=data.enc INFO=data.oocfg OUT=out2 sh -c "$(recipe opaque-object oo-open)"
	cmp data out2
	# the OOInfo DER the recipe makes from the file is the one seckit sealed
	run -0 env INFO=data.oocfg sh -c "$(recipe ooid ooinfo-der)"
	[ "$(file_mode ooinfo.der)" = 600 ]
	# (ooinfo-der overwrote ooinfo.der: decrypt again to compare)
	run -0 env ENV=env.der DEV=dev.pem CONTEXT=ooid OUT=ooinfo2.der sh -c "$(recipe ecies ecies-open)"
	cmp ooinfo.der ooinfo2.der
	# refusals: another signer, another device, another object, tampering
	mk_ec rogue
	mk_ec other
	run ! env OOID=data.oid OEM=rogue.pub DEV=dev.pem sh -c "$(recipe ooid ooid-verify)"
	run ! env OOID=data.oid OEM=oem.pub DEV=other.pem sh -c "$(recipe ooid ooid-verify)"
	echo other > b
	sk oo make --in b
	run ! env OBJ=b.enc INFO=ooinfo.der OUT=out3 sh -c "$(recipe opaque-object oo-open)"
	python3 -c "d=bytearray(open('data.enc','rb').read()); d[5000]^=1; open('t.enc','wb').write(d)"
	run ! env OBJ=t.enc INFO=ooinfo.der OUT=out3 sh -c "$(recipe opaque-object oo-open)"
	assert_absent out3
}

@test "oo recipes: AES-256-GCM objects and envelopes open with openssl alone; GCM without associated data" {
	backend_needs import
	require python3
	mk_oem
	mk_device_openssl P-384
	head -c 70000 /dev/urandom > data
	sk oo make --in data --cipher aes-256-gcm
	grep -q '^nonce: [0-9a-f]\{24\}$' data.oocfg
	run -1 grep -q '^iv:' data.oocfg
	sk oo id --info data.oocfg --sign-key oem.pem --device-pub dev.pub --cipher aes-256-gcm --mac hmac-sha384
	run -0 env OOID=data.oid OEM=oem.pub DEV=dev.pem sh -c "$(recipe ooid ooid-verify)"
	# the envelope: info "seckit-ecies-v1/ooid/aes-256-gcm/hmac-sha384" (ecies.md)
	run -0 env ENV=env.der DEV=dev.pem CONTEXT=ooid OUT=ooinfo.der sh -c "$(recipe ecies ecies-open)"
	run -0 env INFO=data.oocfg sh -c "$(recipe ooid ooinfo-der)"
	run -0 env ENV=env.der DEV=dev.pem CONTEXT=ooid OUT=ooinfo2.der sh -c "$(recipe ecies ecies-open)"
	cmp ooinfo.der ooinfo2.der
	# its GCM tag is over no associated data: Kenc (keys.bin, left by the
	# recipe), the nonce, the ciphertext and tag, checked independently
	run -0 openssl asn1parse -inform DER -in env.der
	nonce=$(echo "$output" | sed -n 's/^.*:d=3 .*OCTET STRING *\[HEX DUMP\]:\([0-9A-F]*\) *$/\1/p')
	set -- $(echo "$output" | sed -n 's/^ *\([0-9]*\):d=1  *hl= *\([0-9]*\) *l= *\([0-9]*\) .*/\1 \2 \3/p')
	ct_off=${16} ct_hl=${17} ct_len=${18}
	dd if=env.der bs=1 skip=$((ct_off + ct_hl)) count="$ct_len" status=none > ct.bin
	python3 "$SECKIT_SRC/tests/gcm-open.py" "$(head -c 32 keys.bin | od -An -v -tx1 | tr -d ' \n')" \
		"$nonce" "" < ct.bin > gcm.out
	cmp ooinfo2.der gcm.out
	# the object: CTR from nonce || 00000002 (oo-open), from the OOID's OOInfo and from the file
	run -0 env OBJ=data.enc INFO=ooinfo.der OUT=out1 sh -c "$(recipe opaque-object oo-open)"
	cmp data out1
	run -0 env OBJ=data.enc INFO=data.oocfg OUT=out2 sh -c "$(recipe opaque-object oo-open)"
	cmp data out2
	# and its tag is over no associated data either
	key=$(sed -n 's/^key: //p' data.oocfg)
	hl=$(openssl asn1parse -inform DER -in data.enc -dlimit 16 | sed -n 's/^ *\([0-9]*\):d=1  *hl= *\([0-9]*\) .*/\1 \2/p' | tail -n 1)
	set -- $hl
	tail -c +$(($1 + $2 + 1)) data.enc > content.bin
	[ "$(stat -c %s content.bin)" -eq $((70000 + 16)) ]
	python3 "$SECKIT_SRC/tests/gcm-open.py" "$key" "$(sed -n 's/^nonce: //p' data.oocfg)" "" \
		< content.bin > out3
	cmp data out3
	# a changed byte: the recipe's SHA-256 check refuses it
	python3 -c "d=bytearray(open('data.enc','rb').read()); d[5000]^=1; open('t.enc','wb').write(d)"
	run ! env OBJ=t.enc INFO=ooinfo.der OUT=out4 sh -c "$(recipe opaque-object oo-open)"
	assert_absent out4
}

@test "oo recipes: an object and an OOID built with openssl alone open with seckit" {
	backend_needs ecdh
	mk_oem
	mk_device ec-p384
	head -c 7000 /dev/urandom > data
	run -0 env DATA=data OBJ=data.enc INFO=data.oocfg sh -c "$(recipe opaque-object oo-build)"
	[ "$(file_mode data.oocfg)" = 600 ]
	run -0 sk --json oo show data.enc
	[[ "$output" == *'"content_length":7000'* ]]
	# seckit makes the OOID from the openssl-made OOInfo ...
	sk oo id --info data.oocfg --sign-key oem.pem --device-pub dev.pub
	run -0 sk oo open --id data.oid --in data.enc --out out1
	cmp data out1
	# ... and openssl alone makes one too, policies included
	printf 'not-before: 2001-01-01T00:00:00Z\nnot-after: 2099-01-01T00:00:00Z\n' >> data.oocfg
	run -0 env INFO=data.oocfg sh -c "$(recipe ooid ooinfo-der)"
	run -0 env DEVPUB=dev.pub PLAIN=ooinfo.der CONTEXT=ooid CIPHER=aes-256-ctr MAC=hmac-sha512 \
		KDF=x963-sha256 ENV=env.der sh -c "$(recipe ecies ecies-seal)"
	run -0 env ENV=env.der OBJID="$(sed -n 's/^object-id: //p' data.oocfg)" DEVPUB=dev.pub KEY=oem.pem \
		SIGALG=ecdsa-with-SHA256 MD=sha256 OOID=o.oid sh -c "$(recipe ooid ooid-build)"
	run -0 sk oo open --id o.oid --in data.enc --out out2
	cmp data out2
	# an expired policy written by openssl is enforced by seckit
	sed -i 's/^not-after: .*/not-after: 2002-01-01T00:00:00Z/' data.oocfg
	run -0 env INFO=data.oocfg sh -c "$(recipe ooid ooinfo-der)"
	run -0 env DEVPUB=dev.pub PLAIN=ooinfo.der CONTEXT=ooid CIPHER=aes-256-ctr MAC=hmac-sha256 \
		KDF=hkdf-sha256 ENV=env.der sh -c "$(recipe ecies ecies-seal)"
	run -0 env ENV=env.der OBJID="$(sed -n 's/^object-id: //p' data.oocfg)" DEVPUB=dev.pub KEY=oem.pem \
		SIGALG=ecdsa-with-SHA256 MD=sha256 OOID=old.oid sh -c "$(recipe ooid ooid-build)"
	run -7 --separate-stderr sk oo open --id old.oid --in data.enc --out out3
	assert_one_error_line "seckit oo open: policy: expired on 2002-01-01T00:00:00Z"
}
