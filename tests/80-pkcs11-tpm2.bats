#!/usr/bin/env bats
# The i.MX8X kit's flow: a TPM token made by tpm2-pkcs11's tpm2_ptool
# (init, addtoken, addkey) over swtpm behind tpm2-abrmd, then seckit using
# that token's keys through libtpm2_pkcs11.so by name, by --token and by
# pkcs11: URI: list/info, sign, CSR, mutual TLS with openssl s_server,
# random; cross-checked with pkcs11-tool.  The stack: tests/tpm2-pkcs11.bash.

load helper
load tpm2-pkcs11

setup_file() {
	tpm2_p11_require
	# One TPM, one broker and one token for the file; the wrong-PIN and
	# broker-gone tests change their state.
	export BATS_NO_PARALLELIZE_WITHIN_FILE=true
	start_tpm2_pkcs11
	local s="--path=$TPM2_PKCS11_STORE"
	tpm2_ptool init "$s" > /dev/null
	tpm2_ptool addtoken --pid=1 --label=kit --userpin=1234 --sopin=5678 "$s" > /dev/null
	tpm2_ptool addkey --label=kit --key-label=dev --id=01 --userpin=1234 --algorithm=ecc256 "$s" > /dev/null
	tpm2_ptool addkey --label=kit --key-label=rsa --id=02 --userpin=1234 --algorithm=rsa2048 "$s" > /dev/null
	tpm2_ptool addkey --label=kit --key-label=aa --id=03 --userpin=1234 --algorithm=ecc256 \
		--attr-always-authenticate "$s" > /dev/null
	# The server side of the TLS tests: a CA and its server certificate.
	local d=$BATS_FILE_TMPDIR/pki
	mkdir -p "$d"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$d/ca.key" \
		-subj /CN=ca -days 30 -out "$d/ca.pem" 2>/dev/null
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$d/srv.key" \
		-subj /CN=srv -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" -out "$d/srv.csr" 2>/dev/null
	printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' > "$d/srv.ext"
	openssl x509 -req -in "$d/srv.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -set_serial 1 -days 2 \
		-extfile "$d/srv.ext" -out "$d/srv.pem" 2>/dev/null
}

teardown_file() {
	stop_tpm2_pkcs11
}

setup() {
	common_setup
	# tpm2-pkcs11 leaks in C_Sign (tests/lsan.supp): whole stacks, through
	# libcrypto's frames, so that the suppression can see the module
	if sanitizer_build; then
		export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}fast_unwind_on_malloc=0"
	fi
	export SECKIT_BACKEND=pkcs11 SECKIT_PKCS11_MODULE=$TPM2_P11_MODULE SK_TEST_PIN=1234
	printf 'pkcs11:\n  token: kit\n  pin: env:SK_TEST_PIN\n' >> "$SECKIT_CONFIG"
	echo "data to sign" > data
	PKI=$BATS_FILE_TMPDIR/pki
}

teardown() {
	[ -z "${SERVER_PID:-}" ] || kill "$SERVER_PID" 2>/dev/null || true
	[ -z "${BG_PID:-}" ] || kill "$BG_PID" 2>/dev/null || true
}

p11tool() {
	pkcs11-tool --module "$TPM2_P11_MODULE" --token-label kit --login --pin 1234 "$@"
}

# issue KEY: a CSR by seckit for the token key KEY, its certificate KEY.pem
# from the CA.
issue() {
	"$SECKIT" cert csr --key "$1" --subject "/CN=$1" --out "$1.csr"
	openssl x509 -req -in "$1.csr" -CA "$PKI/ca.pem" -CAkey "$PKI/ca.key" -set_serial "$RANDOM" \
		-days 2 -out "$1.pem" 2>/dev/null
}

# start_server N [options]: s_server for N connections that demands a
# client certificate of the CA and answers a GET with what it saw; the
# device's store and the GET (req) for tls connect.
start_server() {
	local n=$1
	shift
	# tls connect checks the server by the store's rules: the device has
	# a store, whatever holds its keys.
	[ -d "$SECKIT_STORE" ] || "$SECKIT" store write note --in data
	printf 'GET / HTTP/1.0\r\n\r\n' > req
	PORT=$(free_port_pair)
	openssl s_server -accept "127.0.0.1:$PORT" -cert "$PKI/srv.pem" -key "$PKI/srv.key" \
		-CAfile "$PKI/ca.pem" -Verify 1 -verify_return_error -www -naccept "$n" "$@" \
		< /dev/null > server.log 2>&1 &
	SERVER_PID=$!
	wait_until grep -q ACCEPT server.log
}

@test "the keys tpm2_ptool addkey made are seckit keys: key list and key info, by name and by pkcs11: URI" {
	run -0 sk key list
	[[ "$output" == *"dev "*"ec-p256"*"pkcs11"* ]]
	[[ "$output" == *"rsa "*"rsa-2048"*"pkcs11"* ]]
	run -0 sk key info dev
	[[ "$output" == *"type:            ec-p256"* ]]
	[[ "$output" == *"backend:         pkcs11"* ]]
	[[ "$output" == *"exportable:      no"* ]]
	run -0 sk key info rsa
	[[ "$output" == *"type:            rsa-2048"* ]]
	# The token by URI instead of the config's label, the key by URI.
	run -0 sk --token 'pkcs11:token=kit' key info 'pkcs11:token=kit;object=dev'
	[[ "$output" == *"type:            ec-p256"* ]]
	# The same public key as pkcs11-tool reads from the token.
	run -0 sk key export dev --format der --out dev.der
	run -0 p11tool --read-object --type pubkey --label dev --output-file p11.der
	cmp dev.der p11.der
}

@test "key sign with the kit's keys: ECDSA, RSA PKCS#1 and PSS, verified by openssl against the exported public key" {
	for k in dev rsa; do
		run -0 sk key export "$k" --out "$k.pub"
		for d in sha256 sha384; do
			run -0 sk key sign "$k" --digest "$d" --in data --out "$k.$d.sig"
			run -0 openssl dgst "-$d" -verify "$k.pub" -signature "$k.$d.sig" data
		done
	done
	for d in sha256 sha384 sha512; do
		run -0 sk key sign rsa --pss --digest "$d" --in data --out "rsa.$d.pss"
		run -0 openssl dgst "-$d" -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:-1 \
			-verify rsa.pub -signature "rsa.$d.pss" data
	done
	# And with the key named by its URI.
	run -0 sk key sign 'pkcs11:object=dev' --in data --out uri.sig
	run -0 openssl dgst -sha256 -verify dev.pub -signature uri.sig data
}

@test "a key tpm2_ptool made with --attr-always-authenticate (CKA_ALWAYS_AUTHENTICATE): the PIN again for each signature, then it verifies" {
	run -0 sk key export aa --out aa.pub
	# Through the counting wrapper (tests/pkcs11/p11count.c): the user
	# login, then the context-specific one for the signature.
	local p11count="${SECKIT_P11COUNT:-$SECKIT_SRC/build/pkcs11/p11count.so}"
	[ -f "$p11count" ]
	P11COUNT_LOG=$PWD/log P11COUNT_MODULE=$TPM2_P11_MODULE SECKIT_PKCS11_MODULE=$p11count \
		run -0 sk key sign aa --in data --out aa.sig
	[ "$(grep -c '^C_Login ' log)" = 2 ]
	run -0 openssl dgst -sha256 -verify aa.pub -signature aa.sig data
	run -0 sk cert csr --key aa --subject /CN=aa --out aa.csr
	run -0 openssl req -verify -in aa.csr -noout
}

@test "a signature by pkcs11-tool --sign on the kit's token verifies with seckit key verify" {
	run -0 p11tool --sign --mechanism ECDSA-SHA256 --id 3031 --input-file data \
		--output-file p11.sig --signature-format openssl
	run -0 sk key verify dev --in data --sig p11.sig
	echo tampered >> data
	run -7 sk key verify dev --in data --sig p11.sig
}

@test "cert csr with the kit's keys: openssl req -verify accepts the CSRs" {
	for k in dev rsa; do
		run -0 sk cert csr --key "$k" --subject "/CN=$k" --out "$k.csr"
		run -0 openssl req -verify -in "$k.csr" -noout
		run -0 openssl req -in "$k.csr" -noout -subject
		[ "$output" = "subject=CN = $k" ]
	done
}

@test "mutual TLS 1.3 and 1.2 with the kit's EC and RSA keys against openssl s_server -Verify 1" {
	local k v
	issue dev
	issue rsa
	for v in -tls1_3 -tls1_2; do
		start_server 2 "$v"
		for k in dev rsa; do
			run -0 sk tls connect "127.0.0.1:$PORT" --key "$k" --cert "$k.pem" --ca "$PKI/ca.pem" < req
			[[ "$output" == "HTTP/1.0 200 ok"* ]]
			[[ "$output" == *"Protocol  : TLSv1.${v#-tls1_}"* ]]
			[[ "$output" == *"Subject: CN=$k"* ]]
		done
		wait "$SERVER_PID"
	done
	# A wrong PIN: exit 5 in one line, whether the key is used at the
	# handshake or before.
	start_server 2
	SK_TEST_PIN=0000 sk_fails 5 "tls connect: " tls connect "127.0.0.1:$PORT" --key dev --cert dev.pem \
		--ca "$PKI/ca.pem" < req
	# -v lets the module's own messages through here too (the key is
	# used through seckit's provider).
	SK_TEST_PIN=0000 run -5 --separate-stderr sk -v tls connect "127.0.0.1:$PORT" --key dev \
		--cert dev.pem --ca "$PKI/ca.pem" < req
	[[ "$stderr" == *"ERROR: "*"seckit tls connect: "* ]]
}

@test "the device certificate on the kit's token (cert import writes a CKO_CERTIFICATE there), then mutual TLS with --cert NAME" {
	issue dev
	run -0 sk cert import device dev.pem
	run -0 p11tool --list-objects --type cert
	[[ "$output" == *"label:      device"* ]]
	run -0 sk cert get device --out got.pem
	run -0 openssl x509 -in got.pem -noout -subject
	[ "$output" = "subject=CN = dev" ]
	start_server 1
	run -0 sk tls connect "127.0.0.1:$PORT" --key dev --cert device --ca "$PKI/ca.pem" < req
	[[ "$output" == *"Subject: CN=dev"* ]]
	p11tool --delete-object --type cert --label device > /dev/null
}

@test "key random --backend pkcs11: bytes from the TPM through C_GenerateRandom" {
	run -0 sk key random 32 --backend pkcs11
	[[ "$output" =~ ^[0-9a-f]{64}$ ]]
	local first=$output
	run -0 sk key random 32 --backend pkcs11 --out r.bin
	[ "$(stat -c %s r.bin)" = 32 ]
	run -0 sk key random 32 --backend pkcs11
	[ "$output" != "$first" ]
}

@test "key create on the kit's token: pkcs11-tool lists it sensitive and never extractable; key delete removes it" {
	run -0 sk key create made --type ec-p256
	run -0 p11tool --list-objects --type privkey --label made
	[[ "$output" == *"label:      made"* ]]
	[[ "$output" == *"Access:     sensitive, always sensitive, never extractable, local"* ]]
	run -0 sk key export made --out made.pub
	run -0 sk key sign made --in data --out made.sig
	run -0 openssl dgst -sha256 -verify made.pub -signature made.sig data
	run -0 sk key delete made
	run -0 p11tool --list-objects --label made
	[[ "$output" != *"label:      made"* ]]
	sk_fails 8 "key info: " key info made
}

@test "ECDSA with SHA-224 and SHA-256 on P-256 and P-384 keys (tpm2-pkcs11 takes 20, 32, 48 or 64-byte digests only): zero-padded to the order, verified by openssl" {
	run -0 sk key export dev --out dev.pub
	for d in sha224 sha256 sha384; do
		run -0 sk key sign dev --digest "$d" --in data --out "dev.$d.sig"
		run -0 openssl dgst "-$d" -verify dev.pub -signature "dev.$d.sig" data
	done
	run -0 sk key create p384 --type ec-p384
	run -0 sk key export p384 --out p384.pub
	for d in sha224 sha256 sha384 sha512; do
		run -0 sk key sign p384 --digest "$d" --in data --out "p384.$d.sig"
		run -0 openssl dgst "-$d" -verify p384.pub -signature "p384.$d.sig" data
	done
	run -0 sk key delete p384
	# RSA-PSS with SHA-224: the TPM has no SHA-224, the token says so.
	sk_fails 6 "key sign: " key sign rsa --pss --digest sha224 --in data --out s
	[[ "$stderr" == *"CKM_RSA_PKCS_PSS refused by the token: CKR_MECHANISM_PARAM_INVALID"* ]]
	assert_absent s
}

@test "a P-521 key made by pkcs11-tool --keypairgen (tpm2-pkcs11 writes its CKA_EC_POINT length 133 in one byte) is listed and exported" {
	run -0 p11tool --keypairgen --key-type EC:secp521r1 --label p521 --id 0521
	run -0 sk key list
	[[ "$output" == *"p521 "*"ec-p521"*"pkcs11"* ]]
	[[ "$output" == *"dev "*"ec-p256"* ]]
	run -0 sk key info p521
	[[ "$output" == *"size:            521 bits"* ]]
	run -0 sk key export p521 --out p521.pub
	run -0 openssl pkey -pubin -in p521.pub -noout -text
	[[ "$output" == *"NIST CURVE: P-521"* ]]
	run -0 sk key delete p521
}

@test "what tpm2-pkcs11 cannot do is exit 6 in one line: ECDH (no CKM_ECDH1_DERIVE), AES keys made or imported" {
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out peer.key 2>/dev/null
	openssl pkey -in peer.key -pubout -out peer.pub
	sk_fails 6 "key derive: " key derive dev --peer peer.pub --out z
	[[ "$stderr" == *"CKM_ECDH1_DERIVE"* ]]
	assert_absent z
	sk_fails 6 "key create: " key create k --type aes-128
	[[ "$stderr" == *"token 'kit' makes no secret keys (C_GenerateKey: CKR_FUNCTION_NOT_SUPPORTED)" ]]
	head -c 16 /dev/urandom > k16
	sk_fails 6 "key import: " key import k --type aes-128 --in k16
	[[ "$stderr" == *"token 'kit' refuses to import secret keys (C_CreateObject of an AES key: CKR_ATTRIBUTE_VALUE_INVALID)" ]]
	sk_fails 8 "key info: " key info k
}

@test "a token label the module does not have: exit 4 naming the tokens it has, nothing written" {
	sk_fails 4 "key sign: " --token nosuch key sign dev --in data --out s
	[[ "$stderr" == *"no token 'nosuch' (the module has: 'kit')"* ]]
	assert_absent s
	sk_fails 4 "key sign: " --token 'pkcs11:token=nosuch' key sign dev --in data --out s
	assert_absent s
}

@test "a wrong PIN: exit 5, one line (the module's own ERROR lines are not let through), nothing written" {
	SK_TEST_PIN=0000 sk_fails 5 "key sign: " key sign dev --in data --out s
	[[ "$stderr" == *"token 'kit': wrong PIN"* ]]
	assert_absent s
	SK_TEST_PIN=0000 sk_fails 5 "cert csr: " cert csr --key dev --subject /CN=dev --out dev.csr
	assert_absent dev.csr
	# -v lets the module's own messages through, before seckit's line.
	SK_TEST_PIN=0000 run -5 --separate-stderr sk -v key sign dev --in data --out s
	[[ "$stderr" == *"ERROR: "*"seckit key sign: token 'kit': wrong PIN"* ]]
	assert_absent s
	# The right PIN still works (the TPM is not locked out).
	run -0 sk key sign dev --in data --out s
}

# Last: these stop the broker (and start it again).
@test "tpm2-abrmd gone mid-command, after the token was opened and before the signature: exit 4 in one line, nothing written" {
	mkfifo in
	"$SECKIT" key sign dev --in in --out s > out 2> err &
	BG_PID=$!
	local rc=0
	# The key is found (module loaded, token open) before the input is read.
	# (Up to 30 s: loading the module and the token takes a while on a
	# loaded machine.)
	for _ in $(seq 300); do
		fifo_waiting "$BG_PID" && break
		sleep 0.1
	done
	fifo_waiting "$BG_PID"
	stop_abrmd
	echo "data to sign" > in
	wait "$BG_PID" || rc=$?
	BG_PID=
	start_abrmd
	cat err
	[ "$rc" = 4 ]
	[ "$(grep -c . err)" = 1 ]
	grep -q "^seckit key sign: token 'kit': signing: the module failed and cannot go on (CKR_GENERAL_ERROR" err
	assert_absent s
}


@test "tpm2-abrmd gone: exit 4 in one line, nothing written; back again, the key signs" {
	stop_abrmd
	sk_fails 4 "key sign: " key sign dev --in data --out s
	[[ "$stderr" == *"libtpm2_pkcs11.so': C_Initialize failed (CKR_GENERAL_ERROR)" ]]
	assert_absent s
	sk_fails 4 "key list: " key list
	start_abrmd
	run -0 sk key sign dev --in data --out s
}

@test "key import on the kit's token (tpm2-pkcs11 creates no private-key objects): exit 6 in one line naming the refusal, nothing left on the token or in the store" {
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ec.key 2>/dev/null
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa.key 2>/dev/null
	sk_fails 6 "key import: " key import imp --in ec.key
	[[ "$stderr" == *"token 'kit' refuses to import private keys (C_CreateObject of an EC private key: CKR_ATTRIBUTE_VALUE_INVALID)"* ]]
	sk_fails 6 "key import: " key import imp --in rsa.key
	[[ "$stderr" == *"refuses to import private keys (C_CreateObject of an RSA private key: "* ]]
	run -0 p11tool --list-objects
	[[ "$output" == *"label:      dev"* ]]
	[[ "$output" != *"imp"* ]]
	sk_fails 8 "key info: " key info imp
	run -0 sk key list
	[[ "$output" != *"imp"* ]]
}
