#!/usr/bin/env bats
# The tpm2 backend against swtpm: every operation happens in the TPM and is
# cross-checked with openssl (AES-GCM and CMAC: tests/62-tpm2-defaults.bats);
# what the TPM cannot do is exit 6; blobs from another TPM are refused.

load helper
load tpm

setup_file() {
	require swtpm tpm2_getcap
	# One simulator, three object slots: the tests of this file take turns.
	export BATS_NO_PARALLELIZE_WITHIN_FILE=true
	start_swtpm "$BATS_FILE_TMPDIR/tpm"
	# Peer keys made once for the whole file.
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$BATS_FILE_TMPDIR/peer.pem" 2>/dev/null
	openssl pkey -in "$BATS_FILE_TMPDIR/peer.pem" -pubout -out "$BATS_FILE_TMPDIR/peer.pub"
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$BATS_FILE_TMPDIR/rsa.pem" 2>/dev/null
}

teardown_file() {
	stop_swtpm
}

setup() {
	common_setup
	export SECKIT_BACKEND=tpm2 SECKIT_TCTI="$SWTPM_TCTI" TPM2TOOLS_TCTI="$SWTPM_TCTI"
	echo "data to sign" > data
}

teardown() {
	evict_sealed_master_keys
	stop_tpm_proxy
	assert_no_transient_handles
}

@test "tpm2: --version reports the backend" {
	run -0 sk --version
	[[ "$output" == *"backend tpm2: yes"* ]]
}

@test "tpm2: EC keys of every curve sign in the TPM; openssl verifies" {
	local t d
	for t in ec-p256 ec-p384 ec-p521; do
		run -0 sk key create "$t" --type "$t"
		run -0 sk key export "$t" --out "$t.pub"
		for d in sha256 sha384 sha512; do
			run -0 sk key sign "$t" --digest "$d" --in data --out sig
			run -0 openssl dgst -"$d" -verify "$t.pub" -signature sig data
			run -0 sk key verify "$t" --digest "$d" --in data --sig sig
		done
	done
	run -0 sk key info ec-p256 --json
	[[ "$output" == *'"backend":"tpm2"'* ]]
	[[ "$output" == *'"exportable":false'* ]]
}

@test "tpm2: RSA 2048 and 3072, PKCS#1 v1.5 and PSS; openssl verifies" {
	local t
	for t in rsa-2048 rsa-3072; do
		run -0 sk key create "$t" --type "$t"
		run -0 sk key export "$t" --out "$t.pub"
		run -0 sk key sign "$t" --in data --out sig
		run -0 openssl dgst -sha256 -verify "$t.pub" -signature sig data
		run -0 sk key sign "$t" --pss --in data --out sig
		run -0 openssl dgst -sha256 -sigopt rsa_padding_mode:pss -verify "$t.pub" -signature sig data
	done
}

@test "tpm2: ECDH in the TPM equals openssl's" {
	run -0 sk key create dev --type ec-p256
	run -0 sk key export dev --out dev.pub
	run -0 sk key derive dev --peer "$BATS_FILE_TMPDIR/peer.pub" --out z1
	openssl pkeyutl -derive -inkey "$BATS_FILE_TMPDIR/peer.pem" -peerkey dev.pub -out z2
	cmp z1 z2
	[ "$(file_mode z1)" = 600 ]
	# a peer on another curve
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 2>/dev/null | openssl pkey -pubout -out p384.pub
	run -6 sk key derive dev --peer p384.pub --out z3
	assert_absent z3
}

@test "tpm2: RSA-OAEP decryption in the TPM of openssl's ciphertext" {
	run -0 sk key create r --type rsa-2048
	run -0 sk key export r --out r.pub
	head -c 190 /dev/urandom > m
	openssl pkeyutl -encrypt -pubin -inkey r.pub -pkeyopt rsa_padding_mode:oaep \
		-pkeyopt rsa_oaep_md:sha256 -pkeyopt rsa_mgf1_md:sha256 -in m -out m.enc
	run -0 sk key decrypt r --in m.enc --out m.dec
	cmp m m.dec
	# seckit's own encryption round trip, and a corrupted ciphertext
	run -0 sk key encrypt r --in m --out m.enc2
	run -0 sk key decrypt r --in m.enc2 --out m.dec2
	cmp m m.dec2
	flip_bit m.enc2 10
	run -7 sk key decrypt r --in m.enc2 --out m.bad
	assert_absent m.bad
}

@test "tpm2: AES-CBC/CTR in the TPM interoperates with openssl enc" {
	local n m k iv
	head -c 32 /dev/urandom > aes.key
	k=$(xxd -p -c 64 aes.key)
	run -0 sk key import aes --type aes-256 --in aes.key
	for n in 0 1 15 16 17 1023 1024 1025 4100; do
		head -c "$n" /dev/urandom > "p$n"
		for m in cbc ctr; do
			run -0 sk key encrypt aes --mode "$m" --in "p$n" --out c
			iv=$(head -c 16 c | xxd -p)
			tail -c +17 c > ct
			openssl enc -d -aes-256-"$m" -K "$k" -iv "$iv" -in ct -out d
			cmp d "p$n"
			openssl enc -aes-256-"$m" -K "$k" -iv "$iv" -in "p$n" -out ct2
			{ head -c 16 c; cat ct2; } > c2
			run -0 sk key decrypt aes --mode "$m" --in c2 --out r
			cmp r "p$n"
		done
	done
	# a key generated in the TPM round-trips
	run -0 sk key create aes128 --type aes-128
	run -0 sk key encrypt aes128 --mode cbc --in p4100 --out c
	run -0 sk key decrypt aes128 --mode cbc --in c --out r
	cmp r p4100
}

@test "tpm2: CBC with a wrong key or bad padding is exit 7, nothing written" {
	head -c 32 /dev/urandom > a.key
	head -c 32 /dev/urandom > b.key
	run -0 sk key import a --type aes-256 --in a.key
	run -0 sk key import b --type aes-256 --in b.key
	head -c 100 /dev/urandom > p
	run -0 sk key encrypt a --mode cbc --in p --out c
	run -7 sk key decrypt b --mode cbc --in c --out r
	assert_absent r
	head -c 40 c > short
	run -7 sk key decrypt a --mode cbc --in short --out r
	assert_absent r
}

@test "tpm2: HMAC in the TPM equals openssl mac" {
	local t n
	for t in sha256 sha384 sha512; do
		case $t in sha256) n=32 ;; sha384) n=48 ;; sha512) n=64 ;; esac
		head -c "$n" /dev/urandom > "h$t.key"
		run -0 sk key import "h$t" --type "hmac-$t" --in "h$t.key"
		head -c 3000 /dev/urandom > m
		run -0 sk key mac "h$t" --in m
		expected=$(openssl mac -digest "$t" -macopt hexkey:"$(xxd -p -c 128 "h$t.key")" -in m HMAC | tr A-F a-f)
		[ "$output" = "$expected" ]
	done
	run -0 sk key create hgen --type hmac-sha256
	run -0 sk key mac hgen --in /dev/null
	[ "${#output}" -eq 64 ]
}

@test "tpm2: imported EC and RSA keys are used inside the TPM" {
	run -0 sk key import ec --in "$BATS_FILE_TMPDIR/peer.pem"
	run -0 sk key sign ec --in data --out sig
	run -0 openssl dgst -sha256 -verify "$BATS_FILE_TMPDIR/peer.pub" -signature sig data
	run -0 sk key import rsa --in "$BATS_FILE_TMPDIR/rsa.pem"
	run -0 sk key sign rsa --in data --out sig
	openssl pkey -in "$BATS_FILE_TMPDIR/rsa.pem" -pubout -out rsa.pub
	run -0 openssl dgst -sha256 -verify rsa.pub -signature sig data
	# the stored public key is the file's
	run -0 sk key export ec --out ec.pub
	cmp ec.pub "$BATS_FILE_TMPDIR/peer.pub"
}

@test "tpm2: what the TPM cannot do is exit 6 with one error line" {
	run -6 --separate-stderr sk key create big --type rsa-4096
	assert_one_error_line "seckit key create: "
	[[ "$stderr" == *"rsa-4096"* ]]
	run -6 sk key create x --type ec-p256 --exportable
	run -0 sk key create dev --type ec-p256
	run -6 sk key export dev --private --out k.pem --no-encrypt
	assert_absent k.pem
	run -6 sk key sign dev --digest sha224 --in data --out s
	assert_absent s
}

@test "tpm2: a password object guards a TPM key" {
	run -0 sk key password create pw --pass pass:secret1
	run -0 sk key create dev --type ec-p256 --password-object pw --pass pass:secret1
	run -5 sk key sign dev --in data --out s --pass pass:wrong
	assert_absent s
	run -0 sk key sign dev --in data --out s --pass pass:secret1
	run -0 sk key export dev --out dev.pub
	run -0 openssl dgst -sha256 -verify dev.pub -signature s data
}

@test "tpm2: a key blob made by another TPM is refused (exit 7)" {
	local pid=$SWTPM_PID tcti=$SWTPM_TCTI
	run -0 sk key create dev --type ec-p256
	start_swtpm "$BATS_TEST_TMPDIR/other-tpm"
	run -7 --separate-stderr sk key sign dev --in data --out s
	assert_one_error_line "seckit key sign: "
	assert_absent s
	assert_no_transient_handles
	stop_swtpm
	# back to this file's simulator
	SWTPM_PID=$pid SWTPM_TCTI=$tcti SECKIT_TCTI=$tcti TPM2TOOLS_TCTI=$tcti
	run -0 sk key sign dev --in data --out s
}

@test "tpm2: no TPM reachable is exit 4; soft keys still work" {
	# a new store whose master key the TPM would seal is not left behind
	SECKIT_TCTI="swtpm:host=127.0.0.1,port=1" run -4 --separate-stderr sk key create dev --type ec-p256
	assert_one_error_line "seckit key create: tpm2: no TPM reachable through TCTI 'swtpm:host=127.0.0.1,port=1'"
	assert_absent "$SECKIT_STORE"
	run -0 sk --backend soft key create softkey --type ec-p256
	SECKIT_TCTI="swtpm:host=127.0.0.1,port=1" run -4 --separate-stderr sk key create dev --type ec-p256
	assert_one_error_line "seckit key create: "
	run -4 sk --backend tpm2 key sign softkey --in data --out s
	assert_absent s
	run -0 sk --backend soft key sign softkey --in data --out s
}

@test "tpm2: --tcti wins over SECKIT_TCTI, which wins over the config's tcti" {
	local bad="swtpm:host=127.0.0.1,port=1"
	run -0 sk key create dev --type ec-p256
	# a wrong --tcti beats a right SECKIT_TCTI
	run -4 --separate-stderr sk --tcti "$bad" key sign dev --in data --out s
	assert_one_error_line "seckit key sign: "
	[[ "$stderr" == *"no TPM reachable through TCTI '$bad'"* ]]
	assert_absent s
	# a right --tcti beats a wrong SECKIT_TCTI, and a wrong config
	printf 'tcti: "%s"\n' "$bad" > bad.yaml
	SECKIT_TCTI=$bad run -0 sk --tcti "$SWTPM_TCTI" key sign dev --in data --out s
	SECKIT_TCTI=$bad run -0 sk --config bad.yaml --tcti "$SWTPM_TCTI" key list --names
	SECKIT_TCTI=$bad run -0 sk --config bad.yaml key sign dev --tcti "$SWTPM_TCTI" --in data --out s2
	# the environment beats the config
	run -0 sk --config bad.yaml key sign dev --in data --out s3
	SECKIT_TCTI= run -4 sk --config bad.yaml key sign dev --in data --out s4
	assert_absent s4
}

@test "tpm2: a TPM that stops answering while the master key is unsealed is exit 4, naming the TCTI" {
	local code
	run -0 sk key create dev --type ec-p256
	# cut the connection at TPM2_StartAuthSession (0x176) of the sealed
	# master key's unseal, then at TPM2_Unseal (0x15e): an I/O failure,
	# not another TPM's blob (the key the TPM keeps is not loaded)
	for code in 176 15e; do
		start_tpm_proxy --drop "$code"
		SECKIT_TCTI=$PROXY_TCTI run -4 --separate-stderr sk key sign dev --in data --out s
		assert_one_error_line "seckit key sign: "
		[[ "$stderr" == *"unsealing the master key: "*"no answer from the TPM through TCTI '$PROXY_TCTI'"* ]]
		[[ "$stderr" != *"another TPM"* ]]
		assert_absent s
		# what the cut-off command left loaded (swtpm has no resource
		# manager): the object, and the session of the encrypted unseal
		tpm2_flushcontext -t
		tpm2_flushcontext -l
		SECKIT_TCTI=$PROXY_TCTI run -4 --separate-stderr sk --backend soft store list
		assert_one_error_line "seckit store list: "
		[[ "$stderr" == *"no answer from the TPM through TCTI '$PROXY_TCTI'"* ]]
		tpm2_flushcontext -t
		tpm2_flushcontext -l
		stop_tpm_proxy
	done
	# through the relay with nothing cut, all is well
	start_tpm_proxy
	SECKIT_TCTI=$PROXY_TCTI run -0 sk key sign dev --in data --out s
	stop_tpm_proxy
}

@test "tpm2: a persistent parent from the config" {
	require tpm2_createprimary tpm2_evictcontrol
	tpm2_createprimary -C o -g sha256 -G ecc256:aes128cfb -c prim.ctx >/dev/null
	tpm2_evictcontrol -C o -c prim.ctx 0x81000010 >/dev/null
	tpm2_flushcontext -t
	printf 'tpm2-parent: 0x81000010\npassword-kdf:\n  n: 1024\n' > tpm.yaml
	run -0 sk --config tpm.yaml key create dev --type ec-p256
	run -0 sk --config tpm.yaml key sign dev --in data --out s
	run -0 sk --config tpm.yaml key export dev --out dev.pub
	run -0 openssl dgst -sha256 -verify dev.pub -signature s data
	# the store's master key and the key are sealed under that parent:
	# without it neither loads
	run -7 sk key sign dev --in data --out s2
	printf 'tpm2-parent: 0x81000011\n' > bad.yaml
	run -4 sk --config bad.yaml key sign dev --in data --out s3
	printf 'tpm2-parent: 42\n' > worse.yaml
	run -3 sk --config worse.yaml key list
	tpm2_evictcontrol -C o -c 0x81000010 >/dev/null
}

@test "a build without tpm2-tss works and says so in --version" {
	mkdir src2
	cp -r "$SECKIT_SRC"/src "$SECKIT_SRC"/cmd "$SECKIT_SRC"/Makefile src2/
	run -0 make -C src2 -j2 TPM2=0 STATIC=0 seckit
	run -0 src2/seckit --version
	[[ "$output" == *"backend tpm2: no"* ]]
	run -4 --separate-stderr src2/seckit --backend tpm2 key create k --type ec-p256
	assert_one_error_line "seckit key create: "
	[[ "$stderr" == *"not available in this build"* ]]
	run -0 src2/seckit --backend soft key create k --type ec-p256
	run -4 --separate-stderr src2/seckit --backend soft measure read
	assert_one_error_line "seckit measure read: backend tpm2 is not built into this seckit"
}

@test "tpm2: a store made with the tpm2 backend seals its master key in the TPM" {
	run -0 sk key create dev --type ec-p256
	# protection byte 1, no key bytes in the file, a sealed blob after them
	[ "$(xxd -s 5 -l 1 -p "$SECKIT_STORE/master.key")" = 01 ]
	[ "$(xxd -s 8 -l 32 -p -c 64 "$SECKIT_STORE/master.key")" = "$(printf '%064d' 0)" ]
	[ "$(stat -c %s "$SECKIT_STORE/master.key")" -gt 58 ]
	[ "$(file_mode "$SECKIT_STORE/master.key")" = 600 ]
	run -0 sk key sign dev --in data --out s
	run -0 sk key export dev --out dev.pub
	run -0 openssl dgst -sha256 -verify dev.pub -signature s data
	# commands of the soft backend unseal through the TPM as well
	printf 'secret bytes' | sk --backend soft store write obj
	run -0 sk --backend soft store read obj
	[ "$output" = "secret bytes" ]
	# no TPM, no store
	SECKIT_TCTI="swtpm:host=127.0.0.1,port=1" run -4 --separate-stderr sk --backend soft store read obj
	assert_one_error_line "seckit store read: "
	[[ "$stderr" == *"unsealing the master key"* ]]
}

@test "tpm2: a sealed store copied to another TPM cannot be opened (7)" {
	local pid=$SWTPM_PID tcti=$SWTPM_TCTI
	run -0 sk key create dev --type ec-p256
	printf 'x' | sk store write obj
	start_swtpm "$BATS_TEST_TMPDIR/other-tpm"
	run -7 --separate-stderr sk --backend soft store read obj --out out
	assert_one_error_line "seckit store read: "
	assert_absent out
	assert_no_transient_handles
	stop_swtpm
	SWTPM_PID=$pid SWTPM_TCTI=$tcti SECKIT_TCTI=$tcti TPM2TOOLS_TCTI=$tcti
	run -0 sk store read obj
	[ "$output" = x ]
}

@test "tpm2: master-key: file and tpm2 choose the protection; a tampered blob is 7" {
	printf 'master-key: file\npassword-kdf:\n  n: 1024\n' > file.yaml
	run -0 sk --config file.yaml key create dev --type ec-p256
	[ "$(xxd -s 5 -l 1 -p "$SECKIT_STORE/master.key")" = 00 ]
	[ "$(stat -c %s "$SECKIT_STORE/master.key")" -eq 56 ]
	printf 'master-key: tpm2\npassword-kdf:\n  n: 1024\n' > tpm.yaml
	run -0 sk --config tpm.yaml --backend soft --store s2 key create soft --type ec-p256
	[ "$(xxd -s 5 -l 1 -p s2/master.key)" = 01 ]
	run -0 sk --store s2 --backend soft key sign soft --in data --out sig
	printf 'master-key: sealed\n' > bad.yaml
	run -3 sk --config bad.yaml key list
	# flip one bit of the sealed blob: the TPM refuses it or the check fails
	local off=$(( $(stat -c %s s2/master.key) - 5 ))
	flip_bit s2/master.key $off
	run -7 sk --store s2 --backend soft key list
}

@test "tpm2: cert ca create and cert issue --key sign with a TPM key (openssl verifies)" {
	run -0 sk key create troot --type ec-p256
	run -0 sk cert ca create --subject /CN=TPM-Root --key troot --not-after 10y --out troot.pem
	run -0 openssl verify -CAfile troot.pem troot.pem
	run -0 openssl x509 -in troot.pem -noout -text
	[[ "$output" == *"CA:TRUE"* ]]
	sk key export troot --out troot.pub
	openssl x509 -in troot.pem -noout -pubkey | cmp - troot.pub
	# The TPM key signs an intermediate with a new key file (--issuer-key-name)
	# and, with cert issue --key, a device certificate.
	run -0 sk cert ca create --subject /CN=TPM-Inter --new-key tinter.key --no-encrypt \
		--issuer-cert troot.pem --issuer-key-name troot --out tinter.pem
	run -0 openssl verify -CAfile troot.pem tinter.pem
	run -0 sk key create tdev --type ec-p256
	run -0 sk cert csr --key tdev --subject /CN=tdev --out tdev.csr
	run -0 sk cert issue --csr tdev.csr --ca-cert troot.pem --key troot --out tdev.pem
	run -0 openssl verify -CAfile troot.pem tdev.pem
}
