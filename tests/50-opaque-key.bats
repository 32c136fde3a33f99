#!/usr/bin/env bats
# seckit opaque-key: keys packaged off-device for one device (ECIES to its
# key, signed by the OEM), imported on the device through its backend;
# cross-checked with openssl (keys made by openssl, signatures and
# ciphertexts of the imported keys checked by openssl).

load helper
load opaque

@test "opaque-key: every key type round-trips; the imported key is not exportable and says where it came from" {
	backend_needs ecdh import
	mk_oem
	mk_device
	mk_ec k256 P-256
	mk_ec k384 P-384
	mk_ec k521 P-521
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out r2048.pem 2>/dev/null
	head -c 16 /dev/urandom > aes128.bin
	head -c 32 /dev/urandom > aes256.bin
	head -c 32 /dev/urandom > h256.bin
	head -c 48 /dev/urandom > h384.bin
	head -c 64 /dev/urandom > h512.bin
	for t in ec-p256:k256.pem ec-p384:k384.pem ec-p521:k521.pem rsa-2048:r2048.pem \
		aes-128:aes128.bin aes-256:aes256.bin hmac-sha256:h256.bin hmac-sha384:h384.bin \
		hmac-sha512:h512.bin; do
		type=${t%%:*} file=${t#*:}
		run -0 sk opaque-key make --name "ok.$type" --type "$type" --key "$file" \
			--sign-key oem.pem --device-pub dev.pub --out "$type.okp"
		case $type in
		aes-* | hmac-*)
			if ! backend_has symmetric; then
				# (pkcs11) refused before anything is stored
				sk_fails 6 "opaque-key import: backend '$SK_BACKEND' cannot import $type keys" \
					opaque-key import "$type.okp"
				run -8 sk key info "ok.$type"
				continue
			fi
			;;
		esac
		run -0 --separate-stderr sk opaque-key import "$type.okp"
		[ "$output" = "ok.$type" ]
		run -0 sk --json key info "ok.$type"
		[[ "$output" == *'"type":"'"$type"'"'* ]]
		[[ "$output" == *'"origin":"'"$(backend_origin opaque-key)"'"'* ]]
		[[ "$output" == *'"exportable":false'* ]]
		run -6 sk key export "ok.$type" --private --no-encrypt --out x.key
		assert_absent x.key
	done
	# The EC/RSA keys are the very keys that were packaged.
	for k in k256 k384 k521; do
		sk key export "ok.ec-p${k#k}" --out "$k.check.pub"
		cmp "$k.pub" "$k.check.pub"
	done
}

@test "opaque-key: an imported key signs, and openssl verifies the signature" {
	backend_needs ecdh import
	mk_oem
	mk_device
	mk_ec signer P-384
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa.pem 2>/dev/null
	openssl pkey -in rsa.pem -pubout -out rsa.pub
	sk opaque-key make --name fw-signer --type ec-p384 --key signer.pem --sign-key oem.pem \
		--device-pub dev.pub --out ec.okp
	sk opaque-key make --name rsa-signer --type rsa-2048 --key rsa.pem --sign-key oem.pem \
		--device-pub dev.pub --out rsa.okp
	run -0 sk opaque-key import ec.okp
	run -0 sk opaque-key import rsa.okp
	echo "firmware 1.2.3" > fw.bin
	run -0 sk key sign fw-signer --in fw.bin --out fw.sig --digest sha384
	run -0 openssl dgst -sha384 -verify signer.pub -signature fw.sig fw.bin
	[ "$output" = "Verified OK" ]
	run -0 sk key sign rsa-signer --in fw.bin --out fw.rsig --pss
	run -0 openssl dgst -sha256 -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:-1 \
		-verify rsa.pub -signature fw.rsig fw.bin
}

@test "opaque-key: imported AES and HMAC keys are the packaged bytes (checked with openssl enc and openssl mac)" {
	backend_needs symmetric
	mk_oem
	mk_device
	head -c 32 /dev/urandom > aes.bin
	head -c 32 /dev/urandom > mac.bin
	sk opaque-key make --name aes --type aes-256 --key aes.bin --sign-key oem.pem --device-pub dev.pub --out a.okp
	sk opaque-key make --name mac --type hmac-sha256 --key mac.bin --sign-key oem.pem --device-pub dev.pub --out m.okp
	sk opaque-key import a.okp
	sk opaque-key import m.okp
	echo "some data to protect" > data
	run -0 sk key encrypt aes --mode ctr --in data --out data.enc
	iv=$(head -c 16 data.enc | hexof)
	tail -c +17 data.enc | openssl enc -d -aes-256-ctr -K "$(hexof aes.bin)" -iv "$iv" > data.dec
	cmp data data.dec
	run -0 sk key mac mac --in data
	[ "$output" = "$(openssl mac -digest SHA256 -macopt hexkey:"$(hexof mac.bin)" -in data HMAC | tr A-F a-f)" ]
}

@test "opaque-key: every curve, KDF, cipher and MAC" {
	backend_needs ecdh import
	mk_oem
	mk_ec key P-256
	n=0
	for curve in ec-p256 ec-p384 ec-p521; do
		reset_device
		sk key import oem-root --in oem.pub
		mk_device "$curve"
		for kdf in hkdf-sha256 hkdf-sha384 x963-sha256 x963-sha384; do
			for c in aes-256-ctr aes-256-cbc aes-256-gcm; do
				for m in hmac-sha256 hmac-sha384 hmac-sha512; do
					n=$((n + 1))
					run -0 sk opaque-key make --name "k$n" --type ec-p256 --key key.pem \
						--sign-key oem.pem --device-pub dev.pub --kdf $kdf --cipher $c --mac $m \
						--out "k$n.okp"
					run -0 sk --json opaque-key show "k$n.okp"
					[[ "$output" == *'"kdf":"'$kdf'","cipher":"'$c'","mac":"'$m'"'* ]]
					run -0 sk opaque-key import "k$n.okp"
				done
			done
		done
	done
	[ "$n" -eq 108 ]
}

@test "opaque-key show: the clear header only (device, signer, algorithms), never the name" {
	mk_oem
	mk_device
	mk_ec key
	sk opaque-key make --name very-secret-name --type ec-p256 --key key.pem --sign-key oem.pem \
		--device-pub dev.pub --digest sha384 --cipher aes-256-gcm --out k.okp
	devid=$(openssl pkey -pubin -in dev.pub -outform DER | openssl dgst -sha256 -r | cut -d' ' -f1)
	oemid=$(openssl pkey -pubin -in oem.pub -outform DER | openssl dgst -sha256 -r | cut -d' ' -f1)
	run -0 sk opaque-key show k.okp
	[[ "$output" == *"device:     sha256:$devid"* ]]
	[[ "$output" == *"signer:     sha256:$oemid"* ]]
	[[ "$output" == *"ecdsa-with-SHA384"* ]]
	[[ "$output" == *"P-256, hkdf-sha256, aes-256-gcm, hmac-sha256"* ]]
	[[ "$output" != *very-secret-name* ]]
	run ! grep -q very-secret-name k.okp
	run -0 sk --json opaque-key show k.okp
	[[ "$output" == '{"ok":true,"path":"k.okp","type":"opaque-key","version":1,"device":"'$devid'","signer":{"key":null,"fingerprint":"'$oemid'"}'* ]]
}

@test "opaque-key import: a package for another device is refused (7), nothing stored" {
	mk_oem
	mk_device
	mk_device2
	mk_ec key
	sk opaque-key make --name k --type ec-p256 --key key.pem --sign-key oem.pem --device-pub dev2.pub --out k.okp
	run -7 --separate-stderr sk opaque-key import k.okp
	assert_one_error_line "seckit opaque-key import: "
	[[ "$stderr" == *"another device"* ]]
	run -8 sk key info k
	sk_device_agrees sk2 opaque-key import k.okp
	# A device key on another curve: same answer.
	run -0 sk key create p384 --type ec-p384
	run -7 sk opaque-key import k.okp --device-key p384
	run -8 sk key info k
}

@test "opaque-key import: a package signed by another key than the OEM root is refused (7)" {
	mk_oem
	mk_device
	mk_ec rogue
	mk_ec key
	sk opaque-key make --name k --type ec-p256 --key key.pem --sign-key rogue.pem --device-pub dev.pub --out k.okp
	run -7 --separate-stderr sk opaque-key import k.okp
	assert_one_error_line "seckit opaque-key import: "
	[[ "$stderr" == *"signed by key"* ]]
	run -8 sk key info k
	# ... unless the device is told to trust that key for this import.
	sk key import rogue-root --in rogue.pub
	sk_device_agrees sk opaque-key import k.okp --verify-key rogue-root
	# An RSA OEM key works the same way.
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsaoem.pem 2>/dev/null
	openssl pkey -in rsaoem.pem -pubout -out rsaoem.pub
	sk key import rsa-root --in rsaoem.pub
	sk opaque-key make --name k2 --type ec-p256 --key key.pem --sign-key rsaoem.pem --pss \
		--device-pub dev.pub --out k2.okp
	run -7 sk opaque-key import k2.okp
	sk_device_agrees sk opaque-key import k2.okp --verify-key rsa-root
}

@test "opaque-key import: every single-bit flip of a small package is refused with 7, nothing stored" {
	mk_oem
	mk_device
	if backend_has symmetric; then
		head -c 16 /dev/urandom > aes.bin
		sk opaque-key make --name k --type aes-128 --key aes.bin --sign-key oem.pem --device-pub dev.pub --out k.okp
	else
		mk_ec key
		sk opaque-key make --name k --type ec-p256 --key key.pem --sign-key oem.pem --device-pub dev.pub --out k.okp
	fi
	flip_all k.okp flips
	n=0 bad=""
	for f in flips/*; do
		n=$((n + 1))
		"$SECKIT" opaque-key import "$f" 2>/dev/null && rc=0 || rc=$?
		[ "$rc" -eq 7 ] || bad="$bad $f:$rc"
	done
	[ "$n" -eq $(($(wc -c < k.okp) * 8)) ]
	[ -z "$bad" ] || { echo "not refused with 7:$bad" >&2; false; }
	run -8 sk key info k
	sk_device_agrees sk opaque-key import k.okp
}

@test "opaque-key import: truncated, empty, oversized and foreign files are refused, one error line" {
	mk_oem
	mk_device
	mk_ec key
	sk opaque-key make --name k --type ec-p256 --key key.pem --sign-key oem.pem --device-pub dev.pub --out k.okp
	size=$(wc -c < k.okp)
	for n in 0 1 2 10 100 $((size / 2)) $((size - 1)); do
		head -c "$n" k.okp > t.okp
		run -7 --separate-stderr sk opaque-key import t.okp
		assert_one_error_line "seckit opaque-key import: "
	done
	{ cat k.okp; printf x; } > long.okp
	run -7 sk opaque-key import long.okp
	# a package of another kind (an OOID) is not an opaque key package
	echo data > d
	sk oo make --in d
	sk oo id --info d.oocfg --sign-key oem.pem --device-pub dev.pub
	run -7 --separate-stderr sk opaque-key import d.oid
	[ "$stderr" = "seckit opaque-key import: d.oid: an OOID, not an opaque key" ]
	run -7 sk opaque-key show d.oid
	run -7 sk opaque-key import key.pem
	head -c 3000000 /dev/zero > big.okp
	run -1 sk opaque-key import big.okp
	run -1 sk opaque-key import no-such-file
	run -8 sk key info k
}

@test "opaque-key import: a name that is taken is 9 (also on replay), and the existing key is untouched" {
	backend_needs ecdh import
	mk_oem
	mk_device
	mk_ec key
	mk_ec other
	sk key create taken --type ec-p256
	sk key export taken --out taken.before
	sk opaque-key make --name taken --type ec-p256 --key key.pem --sign-key oem.pem --device-pub dev.pub --out t.okp
	run -9 --separate-stderr sk opaque-key import t.okp
	assert_one_error_line "seckit opaque-key import: "
	sk key export taken --out taken.after
	cmp taken.before taken.after
	sk opaque-key make --name fresh --type ec-p256 --key other.pem --sign-key oem.pem --device-pub dev.pub --out f.okp
	run -0 sk opaque-key import f.okp
	run -9 sk opaque-key import f.okp
	# the device key and the OEM root cannot be replaced this way either
	sk opaque-key make --name device --type ec-p256 --key other.pem --sign-key oem.pem --device-pub dev.pub --out d.okp
	run -9 sk opaque-key import d.okp
	sk opaque-key make --name oem-root --type ec-p256 --key other.pem --sign-key oem.pem --device-pub dev.pub --out r.okp
	run -9 sk opaque-key import r.okp
}

@test "opaque-key import: bound to a password object, the key needs its secret" {
	backend_needs password
	mk_oem
	mk_device
	mk_ec key
	sk key password create pw --pass pass:s3cret
	sk opaque-key make --name k --type ec-p256 --key key.pem --sign-key oem.pem --device-pub dev.pub --out k.okp
	run -5 sk opaque-key import k.okp --password-object pw --pass pass:wrong
	run -8 sk key info k
	PW_SECRET=s3cret run -0 sk opaque-key import k.okp --password-object pw --pass env:PW_SECRET
	run -0 sk key password users pw
	[ "$output" = k ]
	echo data > d
	run -5 sk key sign k --in d --out d.sig
	run -0 sk key sign k --in d --out d.sig --pass pass:s3cret
	run -0 openssl dgst -sha256 -verify key.pub -signature d.sig d
	run -2 sk opaque-key import k.okp --pass pass:x
}

@test "opaque-key import: the device key and the OEM root come from roles or options" {
	backend_needs ecdh import
	mk_oem
	mk_ec key
	sk key create mydev --type ec-p384
	sk key export mydev --out mydev.pub
	sk opaque-key make --name k --type ec-p256 --key key.pem --sign-key oem.pem --device-pub mydev.pub --out k.okp
	run -8 --separate-stderr sk opaque-key import k.okp
	assert_one_error_line "seckit opaque-key import: "
	[[ "$stderr" == *"device key 'device' not found"* ]]
	run -0 sk opaque-key import k.okp --device-key mydev
	sk key delete k
	printf 'roles:\n  device-key: mydev\n  oem-root: oem2\n' >> "$SECKIT_CONFIG"
	run -8 --separate-stderr sk opaque-key import k.okp
	[[ "$stderr" == *"OEM root key 'oem2' not found"* ]]
	sk key import oem2 --in oem.pub
	run -0 sk opaque-key import k.okp
	# a device key that is not an EC key cannot receive opaque keys
	sk key create rsadev --type rsa-2048
	run -6 sk opaque-key import k.okp --device-key rsadev
}

@test "opaque-key make: bad input is refused before anything is written" {
	mk_oem
	mk_device
	mk_ec key
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa.pem 2>/dev/null
	openssl pkey -in rsa.pem -pubout -out rsa.pub
	head -c 31 /dev/urandom > short.bin
	m() { sk opaque-key make --sign-key oem.pem --device-pub dev.pub --out k.okp "$@"; }
	run -2 --separate-stderr m --name k --type ec-p384 --key key.pem
	assert_one_error_line "seckit opaque-key make: "
	run -2 m --name "bad/name" --type ec-p256 --key key.pem
	run -2 m --name k --type ec-p999 --key key.pem
	run -2 m --name k --type ec-p256
	run -2 m --name k --type ec-p256 --key key.pem --cipher des
	run -2 m --name k --type ec-p256 --key key.pem --mac md5
	run -2 m --name k --type ec-p256 --key key.pem --kdf pbkdf2
	run -2 m --name k --type ec-p256 --key key.pem --digest sha1
	run -1 m --name k --type aes-256 --key short.bin
	run -1 m --name k --type ec-p256 --key key.pub
	run -1 m --name k --type ec-p256 --key no-such-file
	run -6 --separate-stderr sk opaque-key make --name k --type ec-p256 --key key.pem --sign-key oem.pem --device-pub rsa.pub --out k.okp
	assert_one_error_line "seckit opaque-key make: "
	run -7 sk opaque-key make --name k --type ec-p256 --key key.pem --sign-key oem.pem --device-pub short.bin --out k.okp
	run -1 sk opaque-key make --name k --type ec-p256 --key key.pem --sign-key oem.pub --device-pub dev.pub --out k.okp
	assert_absent k.okp
	assert_no_debris .
	# an encrypted PEM key needs its passphrase
	openssl pkey -in key.pem -aes256 -passout pass:pw -out enc.pem
	run -5 m --name k --type ec-p256 --key enc.pem
	run -0 m --name k --type ec-p256 --key enc.pem --key-pass pass:pw
}

@test "opaque-key recipes: seckit's package opens with openssl alone, to the very key packaged" {
	backend_needs import
	mk_oem
	mk_device_openssl P-384
	mk_ec key P-521
	for c in aes-256-ctr aes-256-cbc aes-256-gcm; do
		for kdf in hkdf-sha256 x963-sha384; do
			rm -f k.okp env.der content.der
			sk opaque-key make --name app.key --type ec-p521 --key key.pem --sign-key oem.pem \
				--device-pub dev.pub --cipher $c --kdf $kdf --mac hmac-sha512 --out k.okp
			run -0 env PKG=k.okp OEM=oem.pub DEV=dev.pem sh -c "$(recipe opaque-key opaque-key-verify)"
			run -0 env ENV=env.der DEV=dev.pem CONTEXT=opaque-key OUT=content.der sh -c "$(recipe ecies ecies-open)"
			run -0 openssl asn1parse -inform DER -in content.der
			[[ "$output" == *":app.key"* && "$output" == *":secp521r1"* ]]
			off=$(echo "$output" | sed -n 's/^ *\([0-9]*\):d=1 .*OCTET STRING.*/\1/p')
			openssl asn1parse -inform DER -in content.der -strparse "$off" -noout -out p8.der
			openssl pkey -inform DER -in p8.der -pubout | cmp - key.pub
		done
	done
	# the recipe refuses what seckit refuses
	mk_ec rogue
	run ! env PKG=k.okp OEM=rogue.pub DEV=dev.pem sh -c "$(recipe opaque-key opaque-key-verify)"
	python3 -c "import sys; d=bytearray(open('k.okp','rb').read()); d[300]^=1; open('t.okp','wb').write(d)"
	run ! env PKG=t.okp OEM=oem.pub DEV=dev.pem sh -c "$(recipe opaque-key opaque-key-verify)"
	mk_ec other P-384
	run ! env PKG=k.okp OEM=oem.pub DEV=other.pem sh -c "$(recipe opaque-key opaque-key-verify)"
	run -0 env PKG=k.okp OEM=oem.pub DEV=dev.pem sh -c "$(recipe opaque-key opaque-key-verify)"
	run ! env ENV=env.der DEV=dev.pem CONTEXT=ooid OUT=x.der sh -c "$(recipe ecies ecies-open)"
	assert_absent x.der
}

@test "opaque-key recipes: a package built with openssl alone imports with seckit" {
	backend_needs ecdh import
	mk_oem
	mk_device ec-p256
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa.pem 2>/dev/null
	openssl pkey -in rsa.pem -pubout -out rsa.pub
	run -0 env NAME=from.openssl KEY=rsa.pem sh -c "$(recipe opaque-key opaque-key-content)"
	[ "$(file_mode content.der)" = 600 ]
	run -0 env DEVPUB=dev.pub PLAIN=content.der CONTEXT=opaque-key CIPHER=aes-256-cbc \
		MAC=hmac-sha384 KDF=x963-sha256 ENV=env.der sh -c "$(recipe ecies ecies-seal)"
	run -0 env ENV=env.der DEVPUB=dev.pub KEY=oem.pem SIGALG=ecdsa-with-SHA256 MD=sha256 \
		PKG=o.okp sh -c "$(recipe opaque-key opaque-key-build)"
	run -0 sk --json opaque-key show o.okp
	[[ "$output" == *'"kdf":"x963-sha256","cipher":"aes-256-cbc","mac":"hmac-sha384"'* ]]
	run -0 sk opaque-key import o.okp
	[ "$output" = from.openssl ]
	echo data > d
	sk key sign from.openssl --in d --out d.sig
	run -0 openssl dgst -sha256 -verify rsa.pub -signature d.sig d
	# the same content sealed under the ooid context is not an opaque key
	run -0 env DEVPUB=dev.pub PLAIN=content.der CONTEXT=ooid CIPHER=aes-256-ctr \
		MAC=hmac-sha256 KDF=hkdf-sha256 ENV=env2.der sh -c "$(recipe ecies ecies-seal)"
	run -0 env ENV=env2.der DEVPUB=dev.pub KEY=oem.pem SIGALG=ecdsa-with-SHA256 MD=sha256 \
		PKG=o2.okp sh -c "$(recipe opaque-key opaque-key-build)"
	sk key delete from.openssl
	run -7 --separate-stderr sk opaque-key import o2.okp
	[[ "$stderr" == *"MAC does not match"* ]]
}

# An opaque key package built by the openssl recipes, its ecies-seal recipe
# edited by the sed expression SED: seal_okp PKG KDF SED.  content.der,
# dev.pub and oem.pem must exist.
seal_okp() {
	recipe ecies ecies-seal | sed "$3" > seal.sh
	DEVPUB=dev.pub PLAIN=content.der CONTEXT=opaque-key CIPHER=aes-256-ctr MAC=hmac-sha256 \
		KDF=$2 ENV=env.der sh seal.sh
	ENV=env.der DEVPUB=dev.pub KEY=oem.pem SIGALG=ecdsa-with-SHA256 MD=sha256 PKG=$1 \
		sh -c "$(recipe opaque-key opaque-key-build)"
}

@test "opaque-key import: only the envelope's one encoding (uncompressed point, HMAC with NULL, X9.63 hash without)" {
	backend_needs ecdh import
	mk_oem
	mk_device ec-p256
	mk_ec key
	content() {
		run -0 env NAME="$1" KEY=key.pem sh -c "$(recipe opaque-key opaque-key-content)"
	}
	# the recipe as written: accepted
	content k1
	seal_okp good.okp hkdf-sha256 ''
	run -0 sk opaque-key import good.okp
	content k2
	seal_okp goodx.okp x963-sha256 ''
	run -0 sk opaque-key import goodx.okp
	# a compressed ephemeral point: the same key, another encoding
	content k3
	seal_okp comp.okp hkdf-sha256 's/-pubout -outform DER -out f1.der/& -ec_conv_form compressed/'
	run -0 openssl asn1parse -inform DER -in env.der
	[[ "$output" == *"d=2  hl=2 l=  34 prim: BIT STRING"* ]]
	sk_fails 7 "opaque-key import: " opaque-key import comp.okp
	[[ "$stderr" == *"ephemeral key is malformed, compressed"* ]]
	# hmacWithSHA256 without its NULL
	content k4
	seal_okp nonull.okp hkdf-sha256 's/\\np = NULL\\n/\\n/'
	run -0 openssl asn1parse -inform DER -in env.der
	[[ "$output" != *"NULL"* ]]
	sk_fails 7 "opaque-key import: " opaque-key import nonull.okp
	[[ "$stderr" == *"hmac-sha256 identifier must have NULL parameters"* ]]
	# x9-63-kdf's sha256 with a NULL
	content k5
	seal_okp x963null.okp x963-sha256 's/\[h\]\\na = OID:%s\\n/[h]\\na = OID:%s\\np = NULL\\n/'
	run -0 openssl asn1parse -inform DER -in env.der
	[[ "$output" == *"NULL"* ]]
	sk_fails 7 "opaque-key import: " opaque-key import x963null.okp
	[[ "$stderr" == *"x963-sha256 identifier is not in its one encoding"* ]]
	for k in k3 k4 k5; do
		run -8 sk key info $k
	done
}

@test "opaque-key: a packaged private key whose public half belongs to another key is refused (7)" {
	backend_needs ecdh
	mk_oem
	mk_device ec-p256
	mk_ec a
	mk_ec b
	# a's SEC1 key with b's public point (the last 65 bytes on P-256)
	openssl ec -in a.pem -outform DER -out a.der 2>/dev/null
	openssl pkey -in b.pem -pubout -outform DER -out b.der
	{ head -c -65 a.der; tail -c 65 b.der; } > bad.der
	openssl ec -inform DER -in bad.der -out bad.pem 2>/dev/null
	run -0 env NAME=mixed KEY=bad.pem sh -c "$(recipe opaque-key opaque-key-content)"
	seal_okp bad.okp hkdf-sha256 ''
	sk_fails 7 "opaque-key import: " opaque-key import bad.okp
	[[ "$stderr" == *"opaque key 'mixed': the public key in it does not belong to its private key"* ]]
	run -8 sk key info mixed
	# and seckit does not package one
	sk_fails 7 "opaque-key make: " opaque-key make --name mixed --type ec-p256 --key bad.pem \
		--sign-key oem.pem --device-pub dev.pub --out m.okp
	assert_absent m.okp
}
