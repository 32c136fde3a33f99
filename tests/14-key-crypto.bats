#!/usr/bin/env bats
# seckit key: the crypto verbs (sign, verify, encrypt, decrypt, mac,
# digest, random, derive), each cross-checked both ways with the openssl
# command line, and each with its bad input.

load helper

# One store with a key of every type, made once (RSA-4096 generation is
# slow) and copied into each test's own directory.  Each key's private
# part is exported so that openssl can play the other side.
setup_file() {
	local s="$BATS_FILE_TMPDIR/store" k="$BATS_FILE_TMPDIR/k" t
	mkdir -p "$k"
	export SECKIT_STORE="$s" SECKIT_CONFIG=/dev/null
	for t in ec-p256 ec-p384 ec-p521 rsa-2048 rsa-3072 rsa-4096 aes-128 aes-256 hmac-sha256 hmac-sha384 hmac-sha512; do
		"$SECKIT" key create "$t" --type "$t" --exportable
		"$SECKIT" key export "$t" --private --no-encrypt --out "$k/$t.priv"
		case $t in
		ec-* | rsa-*) "$SECKIT" key export "$t" --out "$k/$t.pub" ;;
		esac
	done
}

setup() {
	common_setup
	cp -a "$BATS_FILE_TMPDIR/store" "$SECKIT_STORE"
	K="$BATS_FILE_TMPDIR/k"
	head -c 100000 /dev/urandom > data
}

hexkey() {
	xxd -p -c 256 "$K/$1.priv"
}

@test "sign: ECDSA P-256/384/521 signatures verify with openssl dgst, and openssl's verify with seckit" {
	for c in "ec-p256 sha256" "ec-p384 sha384" "ec-p521 sha512" "ec-p256 sha3-256" "ec-p384 sha224"; do
		set -- $c
		run -0 sk key sign "$1" --in data --out sig --digest "$2"
		run -0 openssl dgst "-$2" -verify "$K/$1.pub" -signature sig data
		[ "$output" = "Verified OK" ]
		openssl asn1parse -inform DER -in sig > /dev/null # DER Ecdsa-Sig-Value
		openssl dgst "-$2" -sign "$K/$1.priv" -out osig data
		run -0 sk key verify "$1" --in data --sig osig --digest "$2"
		[ "$output" = "Verified OK" ]
		run -0 sk key verify --pubkey "$K/$1.pub" --in data --sig osig --digest "$2"
		if [ "$2" != sha256 ]; then # the default digest
			sk_fails 7 "key verify: " key verify "$1" --in data --sig osig
		fi
	done
	run -0 sk key sign ec-p256 --in data --out sig
	run -0 openssl dgst -sha256 -verify "$K/ec-p256.pub" -signature sig data
	sk_fails 7 "key verify: " key verify ec-p384 --in data --sig sig
}

@test "sign: RSA 2048/3072/4096 PKCS#1 v1.5 and PSS, both ways with openssl" {
	for t in rsa-2048 rsa-3072 rsa-4096; do
		bytes=$(( ${t#rsa-} / 8 ))
		run -0 sk key sign "$t" --in data --out sig
		[ "$(stat -c %s sig)" -eq "$bytes" ]
		run -0 openssl dgst -sha256 -verify "$K/$t.pub" -signature sig data
		openssl dgst -sha384 -sign "$K/$t.priv" -out osig data
		run -0 sk key verify "$t" --in data --sig osig --digest sha384
		# PSS: salt as long as the digest when seckit signs ...
		run -0 sk key sign "$t" --in data --out psig --pss --digest sha512
		run -0 openssl dgst -sha512 -verify "$K/$t.pub" -sigopt rsa_padding_mode:pss \
			-sigopt rsa_pss_saltlen:digest -sigopt rsa_mgf1_md:sha512 -signature psig data
		# ... any salt when it verifies.
		openssl dgst -sha256 -sign "$K/$t.priv" -sigopt rsa_padding_mode:pss \
			-sigopt rsa_pss_saltlen:max -out opsig data
		run -0 sk key verify "$t" --in data --sig opsig --pss
		run -0 sk key verify --pubkey "$K/$t.pub" --in data --sig opsig --pss
		# A PSS signature is not a PKCS#1 v1.5 one, and the other way round.
		sk_fails 7 "key verify: " key verify "$t" --in data --sig opsig
		sk_fails 7 "key verify: " key verify "$t" --in data --sig sig --pss
	done
}

@test "sign: sha1 works with a warning (silenced by -q); md5 is refused; bad input writes nothing" {
	run -0 --separate-stderr sk key sign ec-p256 --in data --out s1 --digest sha1
	[[ "$stderr" == "seckit key sign: warning: sha1 is weak"* ]]
	run -0 openssl dgst -sha1 -verify "$K/ec-p256.pub" -signature s1 data
	run -0 --separate-stderr sk -q key sign ec-p256 --in data --out s2 --digest sha1
	[ -z "$stderr" ]
	sk_fails 6 "key sign: " key sign ec-p256 --in data --out x --digest md5
	sk_fails 6 "key sign: " key sign ec-p256 --in data --out x --digest MD5
	sk_fails 2 "key sign: " key sign ec-p256 --in data --out x --digest sha999
	sk_fails 6 "key sign: " key sign ec-p256 --in data --out x --pss
	sk_fails 6 "key sign: " key sign aes-128 --in data --out x
	sk_fails 6 "key sign: " key sign hmac-sha256 --in data --out x
	sk_fails 8 "key sign: " key sign nosuch --in data --out x
	sk_fails 1 "key sign: " key sign ec-p256 --in nosuch --out x
	sk_fails 1 "key sign: " key sign ec-p256 --in . --out x
	# no --out: the signature on stdout
	piped stdout.sig sk key sign ec-p256 --in data
	[ -s stdout.sig ]
	sk_fails 2 "key sign: " key sign ec-p256 --out x
	sk_fails 2 "key sign: " key sign --in data --out x
	sk_fails 1 "key sign: " key sign ec-p256 --in data --out nodir/x
	assert_absent x
	assert_no_debris .
	# From stdin, to stdout.
	sk key sign ec-p256 --in - --out - < data > s3
	run -0 openssl dgst -sha256 -verify "$K/ec-p256.pub" -signature s3 data
}

@test "verify: bad signatures, keys and arguments" {
	sk key sign ec-p256 --in data --out sig
	head -c 10 sig > short
	sk_fails 7 "key verify: " key verify ec-p256 --in data --sig short
	: > empty
	sk_fails 7 "key verify: " key verify ec-p256 --in data --sig empty
	head -c 5000 /dev/zero > huge
	sk_fails 1 "key verify: " key verify ec-p256 --in data --sig huge
	sk_fails 1 "key verify: " key verify ec-p256 --in data --sig nosuch
	sk_fails 2 "key verify: " key verify ec-p256 --pubkey "$K/ec-p256.pub" --in data --sig sig
	sk_fails 2 "key verify: " key verify --in data --sig sig
	sk_fails 2 "key verify: " key verify ec-p256 --in data
	sk_fails 6 "key verify: " key verify hmac-sha256 --in data --sig sig
	sk_fails 8 "key verify: " key verify nosuch --in data --sig sig
	echo junk > junk.pub
	sk_fails 1 "key verify: " key verify --pubkey junk.pub --in data --sig sig
	sk_fails 1 "key verify: " key verify --pubkey nosuch.pub --in data --sig sig
	# --json: a document either way; exit status 7 on a mismatch.
	run -0 sk --json key verify ec-p256 --in data --sig sig
	echo "$output" | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["verified"] is True and d["key"] == "ec-p256" and d["digest"] == "sha256", d'
	echo x >> data
	run -7 --separate-stderr sk --json key verify --pubkey "$K/ec-p256.pub" --in data --sig sig
	echo "$output" | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["verified"] is False and d["reason"], d'
	run -7 sk -q key verify ec-p256 --in data --sig sig
	# File names that are not UTF-8 still make valid JSON.
	odd=$(printf 'k\xff\xc3\xa9.pub')
	cp "$K/ec-p256.pub" "$odd"
	run -7 --separate-stderr sk --json key verify --pubkey "$odd" --in data --sig sig
	echo "$output" | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["pubkey"] == "k\ufffd\u00e9.pub", d'
}

@test "encrypt: AES-CBC and AES-CTR output decrypts with openssl enc, and openssl's with seckit" {
	for t in aes-128 aes-256; do
		for m in cbc ctr; do
			run -0 sk key encrypt "$t" --mode "$m" --in data --out ct
			iv=$(head -c 16 ct | xxd -p)
			tail -c +17 ct | openssl enc -d "-${t}-$m" -K "$(hexkey "$t")" -iv "$iv" -out pt
			cmp data pt
			# The other way: IV || openssl's ciphertext.
			iv=$(openssl rand -hex 16)
			{ echo "$iv" | xxd -r -p; openssl enc -e "-${t}-$m" -K "$(hexkey "$t")" -iv "$iv" -in data; } > oct
			run -0 sk key decrypt "$t" --mode "$m" --in oct --out opt
			cmp data opt
			[ "$(file_mode opt)" = 600 ]
		done
	done
	# Every encryption has its own IV.
	sk key encrypt aes-128 -m ctr --in data --out c1
	sk key encrypt aes-128 -m ctr --in data --out c2
	run -1 cmp -s c1 c2
	# CBC padding: a multiple of 16 after the IV, one block more for aligned input.
	head -c 32 /dev/urandom > d32
	sk key encrypt aes-256 -m cbc --in d32 --out c32
	[ "$(stat -c %s c32)" -eq $((16 + 48)) ]
}

@test "encrypt: AES-GCM (the default) round-trips; layout nonce || ciphertext || tag; tampering is 7 with nothing written" {
	for n in 0 1 15 16 65535 65536 65537 200000; do
		head -c "$n" /dev/urandom > "p$n"
		run -0 sk key encrypt aes-256 --in "p$n" --out "c$n"
		[ "$(stat -c %s "c$n")" -eq $((12 + n + 16)) ]
		run -0 sk key decrypt aes-256 --in "c$n" --out "d$n"
		cmp "p$n" "d$n"
	done
	run -0 sk key encrypt aes-128 --mode gcm --in data --out ct
	piped got sk key decrypt aes-128 --in ct --out -
	cmp got data
	piped got2 sk key decrypt aes-128 --in - --out - < ct
	cmp got2 data
	# Flip one bit anywhere: nonce, ciphertext, tag.
	for off in 0 11 12 5000 $((12 + 100000 + 15)); do
		cp ct bad
		printf '\x01' | dd of=bad bs=1 seek="$off" conv=notrunc status=none
		b=$(dd if=ct bs=1 skip="$off" count=1 status=none | xxd -p)
		nb=$(dd if=bad bs=1 skip="$off" count=1 status=none | xxd -p)
		[ "$b" != "$nb" ] || printf '\x02' | dd of=bad bs=1 seek="$off" conv=notrunc status=none
		sk_fails 7 "key decrypt: " key decrypt aes-128 --in bad --out out
		assert_absent out
		sk_fails 7 "key decrypt: " key decrypt aes-128 --in bad --out -
	done
	head -c 27 ct > trunc
	sk_fails 7 "key decrypt: " key decrypt aes-128 --in trunc --out out
	head -c 11 ct > trunc
	sk_fails 7 "key decrypt: " key decrypt aes-128 --in trunc --out out
	head -c -1 ct > trunc
	sk_fails 7 "key decrypt: " key decrypt aes-128 --in trunc --out out
	# The wrong key is a failed check too.
	sk_fails 7 "key decrypt: " key decrypt aes-256 --in ct --out out
	assert_absent out
	assert_no_debris .
	# An existing output file is left as it was.
	echo keep > out
	sk_fails 7 "key decrypt: " key decrypt aes-256 --in ct --out out
	[ "$(cat out)" = keep ]
}

@test "encrypt/decrypt: a 200 MiB pipe streams through AES in constant memory; GCM holds back only its tag" {
	require /usr/bin/time
	# resident set in KiB: far below the 200 MiB stream, over what one
	# small encryption needs (a sanitizer build's runtime is large)
	/usr/bin/time -f %M -o rss0 "$SECKIT" key encrypt aes-256 --in data --out small.ct
	limit=$(($(cat rss0) + 16384))
	head -c 200M /dev/zero | /usr/bin/time -f %M -o rss.enc "$SECKIT" key encrypt aes-256 --in - --out big.ct
	[ "$(stat -c %s big.ct)" -eq $((12 + 209715200 + 16)) ]
	# the ciphertext from a pipe, the plaintext to a file (released by
	# the rename once the tag verified)
	cat big.ct | /usr/bin/time -f %M -o rss.dec "$SECKIT" key decrypt aes-256 --in - --out big.pt
	rm big.ct
	cmp big.pt <(head -c 200M /dev/zero)
	rm big.pt
	# CBC from a pipe to a pipe, both ways
	run -0 bash -c "set -o pipefail; head -c 200M /dev/zero |
		'$SECKIT' key encrypt aes-128 -m cbc --in - --out - |
		/usr/bin/time -f %M -o rss.cbc '$SECKIT' key decrypt aes-128 -m cbc --in - --out - |
		cmp - <(head -c 200M /dev/zero)"
	echo "peak RSS: small $(cat rss0) KiB, gcm encrypt $(cat rss.enc) KiB, gcm decrypt $(cat rss.dec) KiB, cbc decrypt $(cat rss.cbc) KiB" >&3
	[ "$(cat rss.enc)" -lt "$limit" ]
	[ "$(cat rss.dec)" -lt "$limit" ]
	[ "$(cat rss.cbc)" -lt "$limit" ]
}

@test "decrypt: CBC with bad padding or a wrong key is 7; modes a key cannot do are 6" {
	sk key encrypt aes-128 -m cbc --in data --out ct
	sk_fails 7 "key decrypt: " key decrypt aes-256 -m cbc --in ct --out out
	head -c -5 ct > trunc
	sk_fails 7 "key decrypt: " key decrypt aes-128 -m cbc --in trunc --out out
	head -c 10 ct > short
	sk_fails 7 "key decrypt: " key decrypt aes-128 -m ctr --in short --out out
	assert_absent out
	sk_fails 6 "key encrypt: " key encrypt aes-128 --mode oaep --in data --out out
	sk_fails 6 "key encrypt: " key encrypt rsa-2048 --mode gcm --in data --out out
	sk_fails 6 "key encrypt: " key encrypt ec-p256 --in data --out out
	sk_fails 6 "key decrypt: " key decrypt hmac-sha256 --in data --out out
	sk_fails 2 "key encrypt: " key encrypt aes-128 --mode xts --in data --out out
	piped stdout.enc sk key encrypt aes-128 --in data
	[ -s stdout.enc ]
	sk_fails 8 "key encrypt: " key encrypt nosuch --in data --out out
	sk_fails 1 "key encrypt: " key encrypt aes-128 --in nosuch --out out
	assert_absent out
}

@test "encrypt: RSA-OAEP (SHA-256, MGF1-SHA-256) both ways with openssl pkeyutl" {
	oaep="-pkeyopt rsa_padding_mode:oaep -pkeyopt rsa_oaep_md:sha256 -pkeyopt rsa_mgf1_md:sha256"
	head -c 190 /dev/urandom > m190
	for t in rsa-2048 rsa-3072 rsa-4096; do
		run -0 sk key encrypt "$t" --in m190 --out ct
		[ "$(stat -c %s ct)" -eq $(( ${t#rsa-} / 8 )) ]
		openssl pkeyutl -decrypt -inkey "$K/$t.priv" $oaep -in ct -out pt
		cmp m190 pt
		openssl pkeyutl -encrypt -pubin -inkey "$K/$t.pub" $oaep -in m190 -out oct
		run -0 sk key decrypt "$t" --mode oaep --in oct --out opt
		cmp m190 opt
		[ "$(file_mode opt)" = 600 ]
	done
	# PKCS#1 v1.5 or SHA-1 OAEP ciphertext does not decrypt.
	openssl pkeyutl -encrypt -pubin -inkey "$K/rsa-2048.pub" -in m190 -out v15
	sk_fails 7 "key decrypt: " key decrypt rsa-2048 --in v15 --out out
	openssl pkeyutl -encrypt -pubin -inkey "$K/rsa-2048.pub" -pkeyopt rsa_padding_mode:oaep -in m190 -out sha1
	sk_fails 7 "key decrypt: " key decrypt rsa-2048 --in sha1 --out out
	sk_fails 7 "key decrypt: " key decrypt rsa-3072 --in oct --out out
	assert_absent out
	# 190 bytes is the most RSA-2048 takes.
	head -c 191 /dev/urandom > m191
	sk_fails 1 "key encrypt: " key encrypt rsa-2048 --in m191 --out out
	assert_absent out
	head -c 100000 /dev/zero > big
	sk_fails 1 "key encrypt: " key encrypt rsa-4096 --in big --out out
}

@test "mac: HMAC equals openssl mac HMAC, CMAC equals openssl mac CMAC; --out and --check" {
	for c in "hmac-sha256 SHA256" "hmac-sha384 SHA384" "hmac-sha512 SHA512"; do
		set -- $c
		want=$(openssl mac -digest "$2" -macopt "hexkey:$(hexkey "$1")" -in data HMAC | tr A-F a-f)
		run -0 sk key mac "$1" --in data
		[ "$output" = "$want" ]
	done
	for t in aes-128 aes-256; do
		want=$(openssl mac -cipher "${t^^}-CBC" -macopt "hexkey:$(hexkey "$t")" -in data CMAC | tr A-F a-f)
		run -0 sk key mac "$t" --in data
		[ "$output" = "$want" ]
		[ ${#output} -eq 32 ]
	done
	run -0 sk --json key mac aes-256 --in data
	echo "$output" | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["algorithm"] == "cmac-aes-256" and len(d["mac"]) == 32, d'
	sk key mac hmac-sha256 --in data > mac.hex
	sk key mac hmac-sha256 --in - --out mac.bin < data
	[ "$(xxd -p -c 64 mac.bin)" = "$(cat mac.hex)" ]
	run -0 sk key mac hmac-sha256 --in data --check mac.hex
	[ "$output" = "MAC OK" ]
	run -0 sk key mac hmac-sha256 --in data --check mac.bin
	echo x >> data
	sk_fails 7 "key mac: " key mac hmac-sha256 --in data --check mac.bin
	echo nothex > bad.hex
	sk_fails 7 "key mac: " key mac hmac-sha256 --in data --check bad.hex
	sk_fails 2 "key mac: " key mac hmac-sha256 --in data --check mac.bin --out x
	sk_fails 6 "key mac: " key mac ec-p256 --in data
	sk_fails 6 "key mac: " key mac rsa-2048 --in data
	sk_fails 2 "key mac: " key mac hmac-sha256
	sk_fails 1 "key mac: " key mac hmac-sha256 --in nosuch
	sk_fails 1 "key mac: " key mac hmac-sha256 --in data --check nosuch
}

@test "digest: equals sha*sum and openssl dgst; md5 only with --insecure; sha1 warns" {
	run -0 sk key digest --in data
	[ "$output" = "$(sha256sum data | cut -d' ' -f1)" ]
	run -0 sk key digest < data
	[ "$output" = "$(sha256sum data | cut -d' ' -f1)" ]
	run -0 sk key digest --alg sha384 --in data
	[ "$output" = "$(sha384sum data | cut -d' ' -f1)" ]
	run -0 sk key digest -a sha512 --in data
	[ "$output" = "$(sha512sum data | cut -d' ' -f1)" ]
	run -0 sk key digest --alg sha224 --in data
	[ "$output" = "$(sha224sum data | cut -d' ' -f1)" ]
	run -0 sk key digest --alg sha3-256 --in data
	[ "$output" = "$(openssl dgst -sha3-256 -r data | cut -d' ' -f1)" ]
	run -0 sk key digest --alg SHA512 --in data
	: > empty
	run -0 sk key digest --in empty
	[ "$output" = e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855 ]
	run -0 sk key digest --in data --out d.bin
	[ "$(xxd -p -c 64 d.bin)" = "$(sha256sum data | cut -d' ' -f1)" ]
	run -0 sk --json key digest --alg sha384 --in data
	echo "$output" | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["algorithm"] == "sha384", d'
	sk_fails 6 "key digest: " key digest --alg md5 --in data
	[[ "$stderr" == *--insecure* ]]
	run -0 --separate-stderr sk key digest --alg md5 --insecure --in data
	[ "$output" = "$(md5sum data | cut -d' ' -f1)" ]
	[[ "$stderr" == *"warning: md5 is weak"* ]]
	run -0 --separate-stderr sk key digest --alg sha1 --in data
	[ "$output" = "$(sha1sum data | cut -d' ' -f1)" ]
	[[ "$stderr" == "seckit key digest: warning: sha1 is weak"* ]]
	sk_fails 2 "key digest: " key digest --alg crc32 --in data
	sk_fails 1 "key digest: " key digest --in nosuch
	sk_fails 2 "key digest: " key digest extra --in data
}

@test "an input file that cannot be read is exit 1 (run as nobody)" {
	[ "$(id -u)" -eq 0 ] || skip "needs root to switch to nobody"
	require setpriv
	id nobody > /dev/null 2>&1 || skip "no user nobody"
	echo secret > private.txt
	chmod 600 private.txt
	chmod 755 "$BATS_TEST_TMPDIR"
	as_nobody() {
		run --separate-stderr setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups \
			env HOME=/ "$SECKIT" "$@"
	}
	# Every command reads the config (to check the backend's name), and
	# nobody cannot read the test's: without one, only the input file is
	# unreadable.
	SECKIT_CONFIG= as_nobody key digest --in private.txt
	[ "$status" -eq 1 ]
	assert_one_error_line "seckit key digest: "
	[[ "$stderr" == *"Permission denied"* ]]
	[ -z "$output" ]
	# An unreadable config file is exit 3 -- and no obstacle to --help.
	chmod 600 "$SECKIT_CONFIG"
	as_nobody --config "$SECKIT_CONFIG" key digest --in /dev/null
	[ "$status" -eq 3 ] # every verb checks the config's backend name
	as_nobody --config "$SECKIT_CONFIG" --store "$BATS_TEST_TMPDIR/nobody-store" key create x --type aes-128
	[ "$status" -eq 3 ]
	assert_one_error_line "seckit key create: "
	as_nobody --config "$SECKIT_CONFIG" key create --help
	[ "$status" -eq 0 ]
}

@test "random: N bytes, hex or raw, fresh every time; N must be a number in range" {
	run -0 sk key random 32
	[[ "$output" =~ ^[0-9a-f]{64}$ ]]
	first=$output
	run -0 sk key random 32
	[ "$output" != "$first" ]
	run -0 sk key random 0
	[ -z "$output" ]
	run -0 sk key random 100000 --out r.bin
	[ "$(stat -c %s r.bin)" -eq 100000 ]
	[ "$(file_mode r.bin)" = 600 ]
	# Not obviously broken: compresses badly.
	[ "$(gzip -c r.bin | wc -c)" -gt 99000 ]
	[ "$(sk key random 7 --out - | wc -c)" -eq 7 ]
	sk_fails 2 "key random: " key random
	sk_fails 2 "key random: " key random -1
	sk_fails 2 "key random: " key random 12x
	sk_fails 2 "key random: " key random 99999999999999999999
	sk_fails 2 "key random: " key random 67108865
	sk_fails 2 "key random: " key random 1 2
}

@test "derive: ECDH equals openssl pkeyutl -derive, both sides; other curves and key types are 6" {
	for c in ec-p256 ec-p384 ec-p521; do
		curve=$(echo "$c" | sed 's/ec-p/P-/')
		openssl genpkey -algorithm EC -pkeyopt "ec_paramgen_curve:$curve" -out peer.pem
		openssl pkey -in peer.pem -pubout -out peer.pub
		run -0 sk key derive "$c" --peer peer.pub --out s1
		[ "$(file_mode s1)" = 600 ]
		openssl pkeyutl -derive -inkey peer.pem -peerkey "$K/$c.pub" -out s2
		cmp s1 s2
		openssl pkeyutl -derive -inkey "$K/$c.priv" -peerkey peer.pub -out s3
		cmp s1 s3
	done
	openssl pkey -in peer.pem -pubout -outform DER -out peer.der
	run -0 sk key derive ec-p521 --peer peer.der --out s4
	cmp s1 s4
	sk_fails 6 "key derive: " key derive ec-p256 --peer peer.pub --out x
	sk_fails 6 "key derive: " key derive rsa-2048 --peer peer.pub --out x
	sk_fails 6 "key derive: " key derive aes-128 --peer peer.pub --out x
	sk_fails 6 "key derive: " key derive ec-p521 --peer "$K/rsa-2048.pub" --out x
	echo junk > junk.pub
	sk_fails 1 "key derive: " key derive ec-p521 --peer junk.pub --out x
	sk_fails 1 "key derive: " key derive ec-p521 --peer nosuch --out x
	sk_fails 2 "key derive: " key derive ec-p521 --out x
	piped stdout.z sk key derive ec-p521 --peer peer.pub
	[ -s stdout.z ]
	sk_fails 8 "key derive: " key derive nosuch --peer peer.pub --out x
	assert_absent x
}

@test "output to a device or a pipe is written in place, never replaced" {
	mkfifo fifo
	sk key random 16 --out fifo &
	got=$(xxd -p < fifo)
	wait
	[ ${#got} -eq 32 ]
	[ -p fifo ]
	run -0 sk key sign ec-p256 --in data --out /dev/null
	[ -c /dev/null ]
	# GCM plaintext to a pipe only after the tag verified.
	sk key encrypt aes-128 --in data --out ct
	flip_bit ct 20
	run -7 --separate-stderr bash -c "set -o pipefail; '$SECKIT' key decrypt aes-128 --in ct --out /dev/stdout | wc -c"
	run -0 bash -c "'$SECKIT' key decrypt aes-128 --in ct --out /dev/stdout 2>/dev/null | wc -c"
	[ "$output" -eq 0 ]
}
