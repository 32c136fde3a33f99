#!/usr/bin/env bats
# One script, any backend: every verb's default mode or mechanism works on
# soft and on tpm2 alike, with the same output formats, so that a file made
# on one backend opens on the other and with openssl.  On tpm2, AES-GCM and
# AES-CMAC are built around the TPM's AES (src/backend/tpm2_aes.c).

load helper
load tpm

setup_file() {
	require swtpm tpm2_getcap
	export BATS_NO_PARALLELIZE_WITHIN_FILE=true
	start_swtpm "$BATS_FILE_TMPDIR/tpm"
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$BATS_FILE_TMPDIR/peer.pem" 2>/dev/null
	openssl pkey -in "$BATS_FILE_TMPDIR/peer.pem" -pubout -out "$BATS_FILE_TMPDIR/peer.pub"
}

teardown_file() {
	stop_swtpm
}

setup() {
	common_setup
	export SECKIT_TCTI="$SWTPM_TCTI" TPM2TOOLS_TCTI="$SWTPM_TCTI"
	head -c 16 /dev/urandom > aes128.key
	head -c 32 /dev/urandom > aes256.key
	head -c 32 /dev/urandom > hmac.key
}

teardown() {
	evict_sealed_master_keys
	assert_no_transient_handles
}

# on BACKEND ARGS...: seckit with that backend and a store of its own.
on() {
	local b=$1
	shift
	SECKIT_BACKEND=$b SECKIT_STORE="$BATS_TEST_TMPDIR/store-$b" "$SECKIT" "$@"
}

# The script a user writes once: default options only, any backend.
# Outputs go to the directory named after the backend.  Called as a plain
# command (not through run), so that any failing step fails the test.
script() {
	local b=$1
	mkdir -p "$b"
	on "$b" key import aes --type aes-128 --in aes128.key
	on "$b" key import hm --type hmac-sha256 --in hmac.key
	on "$b" key encrypt aes --in p --out "$b/c"
	on "$b" key decrypt aes --in "$b/c" --out "$b/r"
	cmp "$b/r" p
	on "$b" key mac aes --in p > "$b/cmac"
	on "$b" key mac hm --in p > "$b/hmac"
	on "$b" key create ec --type ec-p256
	on "$b" key sign ec --in p --out "$b/sig"
	on "$b" key verify ec --in p --sig "$b/sig"
	on "$b" key derive ec --peer "$BATS_FILE_TMPDIR/peer.pub" --out "$b/z"
	on "$b" key create rsa --type rsa-2048
	head -c 64 p > small
	on "$b" key encrypt rsa --in small --out "$b/oaep"
	on "$b" key decrypt rsa --in "$b/oaep" --out "$b/oaep.out"
	cmp "$b/oaep.out" small
	on "$b" key sign rsa --in p --out "$b/rsasig"
	on "$b" key verify rsa --in p --sig "$b/rsasig"
	on "$b" key password create pw --pass pass:s3cret
	on "$b" key create guarded --type aes-256 --password-object pw --pass pass:s3cret
	on "$b" key encrypt guarded --in p --out "$b/gc" --pass pass:s3cret
	on "$b" key decrypt guarded --in "$b/gc" --out "$b/gr" --pass pass:s3cret
	cmp "$b/gr" p
	on "$b" key mac guarded --in p --pass pass:s3cret > /dev/null
	on "$b" store write note --in p --pass pass:n0te
	on "$b" store read note --out "$b/note" --pass pass:n0te
	cmp "$b/note" p
}

@test "defaults: the same script runs on soft and on tpm2, and their files open on the other" {
	head -c 5000 /dev/urandom > p
	script soft
	script tpm2
	# CMAC and HMAC of the same key bytes are the same on both backends.
	cmp soft/cmac tpm2/cmac
	cmp soft/hmac tpm2/hmac
	# GCM files made on one backend open on the other.
	run -0 on soft key decrypt aes --in tpm2/c --out x1
	cmp x1 p
	run -0 on tpm2 key decrypt aes --in soft/c --out x2
	cmp x2 p
}

@test "defaults: the script failed on tpm2 before (GCM and CMAC were exit 6)" {
	head -c 100 /dev/urandom > p
	run -0 on tpm2 key create a --type aes-256
	run -0 on tpm2 key encrypt a --in p --out c
	run -0 on tpm2 key mac a --in p
	[ "${#output}" -eq 32 ]
}

@test "tpm2 GCM: openssl opens what the TPM key encrypted; the TPM key opens what OpenSSL encrypted" {
	local n k nonce
	for k in 128 256; do
		run -0 on tpm2 key import "a$k" --type "aes-$k" --in "aes$k.key"
		run -0 on soft key import "a$k" --type "aes-$k" --in "aes$k.key"
		for n in 0 1 15 16 17 1023 1024 1025 2049 5000; do
			head -c "$n" /dev/urandom > "p$n"
			run -0 on tpm2 key encrypt "a$k" --in "p$n" --out c
			[ "$(stat -c %s c)" -eq $((n + 28)) ]
			nonce=$(head -c 12 c | xxd -p)
			tail -c +13 c | python3 "$SECKIT_SRC/tests/gcm-open.py" "$(xxd -p -c 64 "aes$k.key")" "$nonce" "" > d
			cmp d "p$n"
			# soft is OpenSSL's AES-GCM
			run -0 on soft key encrypt "a$k" --in "p$n" --out sc
			run -0 on tpm2 key decrypt "a$k" --in sc --out sd
			cmp sd "p$n"
		done
	done
}

@test "tpm2 GCM: 1 MiB + 17 bytes, in a file and through pipes, across the TPM's 1024-byte calls" {
	head -c $((1048576 + 17)) /dev/urandom > big
	run -0 on tpm2 key import a --type aes-128 --in aes128.key
	run -0 on soft key import a --type aes-128 --in aes128.key
	run -0 on tpm2 key encrypt a --in big --out c
	run -0 on soft key decrypt a --in c --out d
	cmp d big
	# A pipe hands the data over in reads of any size.
	piped c2 on tpm2 key encrypt a --in - --out - < big
	piped d2 on soft key decrypt a --in c2 --out -
	cmp d2 big
	run -0 on soft key encrypt a --in big --out sc
	cat sc | on tpm2 key decrypt a --in - --out d3
	cmp d3 big
}

@test "tpm2 GCM: a tampered or truncated file is exit 7 and nothing is released" {
	head -c 3000 /dev/urandom > p
	run -0 on tpm2 key import a --type aes-128 --in aes128.key
	run -0 on tpm2 key encrypt a --in p --out c
	# One bit of the ciphertext, of the tag, of the nonce (the file is
	# nonce 12 + 3000 + tag 16 bytes: the bit is flipped, so the file
	# always changes); then bytes appended past the tag.
	[ "$(stat -c %s c)" -eq 3028 ]
	for off in 100 3020 0 append; do
		cp c t
		if [ "$off" = append ]; then
			printf '\0\0\1' >> t
		else
			python3 -c 'import sys; f = open("t", "r+b"); o = int(sys.argv[1]); f.seek(o); b = f.read(1); f.seek(o); f.write(bytes([b[0] ^ 1]))' "$off"
		fi
		run -1 cmp -s c t
		SECKIT_BACKEND=tpm2 SECKIT_STORE="$BATS_TEST_TMPDIR/store-tpm2" \
			sk_fails 7 "key decrypt: AES-GCM authentication failed" key decrypt a --in t --out r
		assert_absent r
		SECKIT_BACKEND=tpm2 SECKIT_STORE="$BATS_TEST_TMPDIR/store-tpm2" \
			sk_fails 7 "key decrypt: AES-GCM authentication failed" key decrypt a --in t --out -
	done
	head -c 20 c > short
	SECKIT_BACKEND=tpm2 SECKIT_STORE="$BATS_TEST_TMPDIR/store-tpm2" \
		sk_fails 7 "key decrypt: " key decrypt a --in short --out r
	assert_absent r
	# the wrong key
	run -0 on tpm2 key create b --type aes-128
	SECKIT_BACKEND=tpm2 SECKIT_STORE="$BATS_TEST_TMPDIR/store-tpm2" \
		sk_fails 7 "key decrypt: AES-GCM authentication failed" key decrypt b --in c --out r
	assert_absent r
}

@test "tpm2 CMAC equals openssl mac CMAC (AES-128 and AES-256, sizes 0 to 1 MiB + 17)" {
	local k n want
	for k in 128 256; do
		run -0 on tpm2 key import "a$k" --type "aes-$k" --in "aes$k.key"
		for n in 0 1 15 16 17 31 32 33 1023 1024 1025 1040 $((1048576 + 17)); do
			head -c "$n" /dev/urandom > m
			run -0 on tpm2 key mac "a$k" --in m
			want=$(openssl mac -cipher "AES-$k-CBC" -macopt hexkey:"$(xxd -p -c 64 "aes$k.key")" -in m CMAC | tr A-F a-f)
			[ "$output" = "$want" ]
		done
	done
	# through a pipe, and a generated key agrees with itself
	run -0 on tpm2 key create g --type aes-256
	head -c 70000 /dev/urandom > m
	run -0 on tpm2 key mac g --in m
	want=$output
	run -0 bash -c 'cat m | SECKIT_BACKEND=tpm2 SECKIT_STORE="$BATS_TEST_TMPDIR/store-tpm2" "$SECKIT" key mac g --in -'
	[ "$output" = "$want" ]
}
