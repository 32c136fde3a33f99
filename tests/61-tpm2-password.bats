#!/usr/bin/env bats
# Password objects on the tpm2 backend (swtpm): the password becomes the
# keys' authorisation value, the TPM compares it and counts failures
# (dictionary-attack protection), and the store holds nothing a guess could
# be tested against.  Keys bound by seckit 0.1 (checked in software) still
# open.

load helper
load tpm

PWTOOL="$SECKIT_SRC/build/unit/pwtool"

setup_file() {
	require swtpm tpm2_getcap tpm2_dictionarylockout
	export BATS_NO_PARALLELIZE_WITHIN_FILE=true
	start_swtpm "$BATS_FILE_TMPDIR/tpm"
}

teardown_file() {
	stop_swtpm
}

setup() {
	common_setup
	export SECKIT_BACKEND=tpm2 SECKIT_TCTI="$SWTPM_TCTI" TPM2TOOLS_TCTI="$SWTPM_TCTI"
	[ -x "$PWTOOL" ] || skip "tests/unit/pwtool.c is not built (make)"
	# swtpm allows 3 failures and forgets one in 1000 s: room for the
	# tests, counter at 0.
	tpm_da_setup 32 1000
	echo "data to sign" > data
}

teardown() {
	evict_sealed_master_keys
	stop_tpm_proxy
	assert_no_transient_handles
	assert_no_sessions
}

@test "tpm2: wrong passwords are counted by the TPM; the right one signs, openssl verifies" {
	local n before
	run -0 sk key password create pw --pass pass:right
	run -0 sk key create dev --type ec-p256 --password-object pw --pass pass:right
	before=$(tpm_lockout_counter)
	for n in 1 2 3 4 5; do
		sk_fails 5 "key sign: " key sign dev --in data --out sig --pass "pass:wrong$n"
	done
	# seckit 0.1 checked in software: the counter stayed where it was
	[ "$(tpm_lockout_counter)" -eq $((before + 5)) ]
	[[ "$stderr" == *"wrong password for password object 'pw' (checked by the TPM: 27 more failures before it locks out)" ]]
	assert_absent sig
	run -0 sk key sign dev --in data --out sig --pass pass:right
	run -0 sk key export dev --out dev.pub
	run -0 openssl dgst -sha256 -verify dev.pub -signature sig data
	# the TPM says how many tries are left
	sk_fails 5 "key sign: " key sign dev --in data --out sig2 --pass pass:wrong
	[[ "$stderr" == *"(checked by the TPM: 26 more failures before it locks out)" ]]
}

@test "tpm2: every private use of a bound key is checked by the TPM; nothing is written" {
	local before
	run -0 sk key password create pw --pass pass:right
	head -c 32 /dev/urandom > h.key
	head -c 32 /dev/urandom > a.key
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa.pem 2>/dev/null
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ec.pem
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out peer.pem
	openssl pkey -in peer.pem -pubout -out peer.pub
	run -0 sk key import h --type hmac-sha256 --in h.key --password-object pw --pass pass:right
	run -0 sk key import a --type aes-256 --in a.key --password-object pw --pass pass:right
	run -0 sk key import r --in rsa.pem --password-object pw --pass pass:right
	run -0 sk key import e --in ec.pem --password-object pw --pass pass:right
	openssl pkey -in rsa.pem -pubout -out rsa.pub
	openssl pkeyutl -encrypt -pubin -inkey rsa.pub -pkeyopt rsa_padding_mode:oaep \
		-pkeyopt rsa_oaep_md:sha256 -pkeyopt rsa_mgf1_md:sha256 -in data -out data.oaep
	before=$(tpm_lockout_counter)
	sk_fails 5 "key mac: " key mac h --in data --pass pass:wrong
	sk_fails 5 "key encrypt: " key encrypt a --mode ctr --in data --out ct --pass pass:wrong
	sk_fails 5 "key decrypt: " key decrypt r --in data.oaep --out pt --pass pass:wrong
	sk_fails 5 "key derive: " key derive e --peer peer.pub --out z --pass pass:wrong
	[[ "$stderr" == *"wrong password for password object 'pw' (checked by the TPM"* ]]
	[ "$(tpm_lockout_counter)" -eq $((before + 4)) ]
	assert_absent ct
	assert_absent pt
	assert_absent z
	# the right password: results equal openssl's
	run -0 sk key mac h --in data --pass pass:right
	[ "$output" = "$(openssl mac -digest sha256 -macopt hexkey:"$(xxd -p -c 64 h.key)" -in data HMAC | tr A-F a-f)" ]
	run -0 sk key encrypt a --mode ctr --in data --out ct --pass pass:right
	tail -c +17 ct | openssl enc -d -aes-256-ctr -K "$(xxd -p -c 64 a.key)" -iv "$(head -c 16 ct | xxd -p)" > ct.dec
	cmp ct.dec data
	run -0 sk key decrypt r --in data.oaep --out pt --pass pass:right
	cmp pt data
	run -0 sk key derive e --peer peer.pub --out z --pass pass:right
	openssl pkey -in ec.pem -pubout -out ec.pub
	openssl pkeyutl -derive -inkey peer.pem -peerkey ec.pub -out z2
	cmp z z2
}

@test "tpm2: lockout is exit 4 with the time to wait; keys without a password still work" {
	tpm_da_setup 2 600
	run -0 sk key password create pw --pass pass:right
	run -0 sk key create dev --type ec-p256 --password-object pw --pass pass:right
	run -0 sk key create plain --type ec-p256
	sk_fails 5 "key sign: " key sign dev --in data --out sig --pass pass:wrong1
	[[ "$stderr" == *"(checked by the TPM: 1 more failure before it locks out)" ]]
	sk_fails 5 "key sign: " key sign dev --in data --out sig --pass pass:wrong2
	[[ "$stderr" == *"(checked by the TPM, which now refuses every password: wait up to 600 seconds and try again"* ]]
	# now even the right password is refused, and said so
	sk_fails 4 "key sign: " key sign dev --in data --out sig --pass pass:right
	[[ "$stderr" == *"password object 'pw': the TPM is locked out after too many wrong passwords"*": wait up to 600 seconds and try again"* ]]
	sk_fails 4 "key create: " key create dev2 --type ec-p256 --password-object pw --pass pass:right
	assert_absent sig
	# keys without a password are not under the protection (noDA)
	run -0 sk key sign plain --in data --out psig
	tpm2_dictionarylockout --clear-lockout
	run -0 sk key sign dev --in data --out sig --pass pass:right
	run -0 sk key export dev --out dev.pub
	run -0 openssl dgst -sha256 -verify dev.pub -signature sig data
}

@test "tpm2: the store holds no verifier for a TPM-checked password" {
	run -0 sk key password create pw --pass pass:right
	run -0 sk key create dev --type ec-p256 --password-object pw --pass pass:right
	run -0 sk --backend soft key password create soft --pass pass:right
	# software-checked: the scrypt record (tag 1, 73 bytes)
	run -0 "$PWTOOL" attrs soft
	[ "$output" = "1 73" ]
	# TPM-checked: the backend's name, a salt and the TPM's check object,
	# and no record
	run -0 "$PWTOOL" attrs pw
	[ "${#lines[@]}" -eq 3 ]
	[ "${lines[0]}" = "2 4 $(printf tpm2 | xxd -p)" ]
	[[ "${lines[1]}" =~ ^3\ 16\ [0-9a-f]{32}$ ]]
	[[ "${lines[2]}" =~ ^4\ [0-9]+$ ]]
	run -0 sk --json key password list
	echo "$output" | python3 -c 'import json,sys; d=json.load(sys.stdin)["password_objects"]; assert [(o["name"], o["checked_by"]) for o in d] == [("pw", "tpm2"), ("soft", "software")], d'
	run -0 sk key info dev
	[[ "$output" == *"password check:  tpm2"* ]]
}

@test "tpm2: the authorisation value is as documented and never crosses the bus" {
	local salt auth
	run -0 sk key password create pw --pass pass:right
	run -0 sk key create dev --type ec-p256 --password-object pw --pass pass:right
	run -0 "$PWTOOL" attrs pw
	salt=${lines[1]#3 16 }
	# docs/formats/store.md: HKDF(password, salt, "seckit/v1/password-auth"),
	# last bit set
	auth=$(openssl kdf -keylen 32 -kdfopt digest:SHA256 -kdfopt key:right -kdfopt hexsalt:"$salt" \
		-kdfopt info:seckit/v1/password-auth HKDF | tr -d ':' | tr A-F a-f)
	auth=${auth:0:62}$(printf '%02x' $((0x${auth:62:2} | 1)))
	run -0 "$PWTOOL" auth pw pass:right
	[ "$output" = "$auth" ]
	# every command on its way to the TPM: sign, wrong password, delete
	start_tpm_proxy --log bus.log
	SECKIT_TCTI=$PROXY_TCTI run -0 sk key sign dev --in data --out sig --pass pass:right
	SECKIT_TCTI=$PROXY_TCTI run -5 sk key sign dev --in data --out sig2 --pass pass:wrong
	SECKIT_TCTI=$PROXY_TCTI run -0 sk key delete dev --pass pass:right
	[ "$(stat -c %s bus.log)" -gt 1000 ]
	od -An -tx1 -v bus.log | tr -d ' \n' > bus.hex
	run -1 grep -c "$auth" bus.hex
}

@test "tpm2: password objects guard the keys of the backend that checks them" {
	run -0 sk key password create pw --pass pass:right
	run -0 sk --backend soft key password create soft --pass pass:right
	# a tpm2 key does not take a software-checked object: its password
	# could be guessed offline from the store
	sk_fails 6 "key create: " key create k --type ec-p256 --password-object soft --pass pass:right
	[[ "$stderr" == *"password object 'soft' is checked in software"*"(one created on backend tpm2)" ]]
	head -c 16 /dev/urandom > aes.key
	sk_fails 6 "key import: " key import k --in aes.key --type aes-128 --password-object soft --pass pass:right
	# a soft key does not take a TPM-checked one
	sk_fails 6 "key create: " --backend soft key create k --type ec-p256 --password-object pw --pass pass:right
	[[ "$stderr" == *"password object 'pw' is checked by backend 'tpm2': it guards tpm2 keys only"* ]]
	sk_fails 8 "key info: " key info k
	# a run of another backend cannot check it
	sk_fails 4 "key password delete: " --backend soft key password delete pw --pass pass:right
	[[ "$stderr" == *"password object 'pw' is checked by backend 'tpm2' (this run uses 'soft') (see --backend)" ]]
	# a wrong password when binding is counted, and nothing is created
	sk_fails 5 "key create: " key create k --type ec-p256 --password-object pw --pass pass:wrong
	[ "$(tpm_lockout_counter)" -eq 1 ]
	sk_fails 8 "key info: " key info k
	run -0 sk key password delete pw --pass pass:right
	run -0 sk --backend soft key password delete soft --pass pass:right
}

@test "tpm2: key delete and password delete check the password in the TPM" {
	run -0 sk key password create pw --pass pass:right
	run -0 sk key create dev --type ec-p256 --password-object pw --pass pass:right
	sk_fails 5 "key delete: " key delete dev --pass pass:wrong
	[[ "$stderr" == *"wrong password for password object 'pw' (checked by the TPM: "* ]]
	sk_fails 5 "key delete: " key delete dev < /dev/null
	[ "$(tpm_lockout_counter)" -eq 1 ]
	run -0 sk key info dev
	run -0 sk key delete dev --pass pass:right
	sk_fails 8 "key info: " key info dev
	sk_fails 5 "key password delete: " key password delete pw --pass pass:wrong
	[ "$(tpm_lockout_counter)" -eq 2 ]
	run -0 sk key password list
	[ "$output" = pw ]
	run -0 sk key password delete pw --pass pass:right
	run -0 sk key password list
	[ -z "$output" ]
}

@test "tpm2: keys bound by seckit 0.1 (password checked in software) still open" {
	run -0 sk --backend soft key password create old --pass pass:right
	run -0 "$PWTOOL" legacy-key legacy ec-p256 old pass:right
	run -0 sk key info legacy
	[[ "$output" == *"password check:  software"* ]]
	run -0 sk --json key info legacy
	[[ "$output" == *'"password_checked_by":"software"'* ]]
	sk_fails 5 "key sign: " key sign legacy --in data --out sig --pass pass:wrong
	[[ "$stderr" == *"wrong password for password object 'old'" ]]
	[ "$(tpm_lockout_counter)" -eq 0 ]
	run -0 sk key sign legacy --in data --out sig --pass pass:right
	run -0 sk key export legacy --out legacy.pub
	run -0 openssl dgst -sha256 -verify legacy.pub -signature sig data
	sk_fails 5 "key delete: " key delete legacy --pass pass:wrong
	run -0 sk key delete legacy --pass pass:right
}
