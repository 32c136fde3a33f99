#!/usr/bin/env bats
# Mutual TLS with a key on a SoftHSM2 token: `seckit tls connect` against
# openssl s_server -Verify 1 -verify_return_error, the device certificate
# from a file or from the token itself (cert import onto the token), EC
# and RSA keys, TLS 1.3 and 1.2 (RSA-PSS on the token for 1.3).

load helper
load tpm
load pkcs11

setup() {
	pkcs11_setup
	require python3
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key \
		-subj /CN=ca -days 30 -out ca.pem 2>/dev/null
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout srv.key \
		-subj /CN=srv -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" -out srv.csr 2>/dev/null
	printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' > srv.ext
	openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -set_serial 1 -days 2 \
		-extfile srv.ext -out srv.pem 2>/dev/null
	# tls connect checks the server by the store's rules (its CRL and
	# clock): the device has a store, whatever holds its keys.
	run -0 sk store write note --in data
}

teardown() {
	[ -z "${SERVER_PID:-}" ] || kill "$SERVER_PID" 2>/dev/null || true
	[ -z "${PROXY_PID:-}" ] || kill "$PROXY_PID" 2>/dev/null || true
}

# client KEY TYPE: a token key and its certificate KEY.pem from the CA.
client() {
	"$SECKIT" key create "$1" --type "$2"
	"$SECKIT" cert csr --key "$1" --subject "/CN=$1" --out "$1.csr"
	openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -set_serial "$RANDOM" -days 2 \
		-out "$1.pem" 2>/dev/null
}

# made_key KEY TYPE MECHS: a key made by pkcs11-tool, restricted to the
# signature mechanisms MECHS (CKA_ALLOWED_MECHANISMS, pkcs11-tool's
# names), and its certificate KEY.pem from the CA (issued for its public
# key: the key may refuse to sign a CSR with SHA-256).
made_key() {
	p11tool --keypairgen --key-type "$2" --label "$1" --id "$(printf '%02x' $((RANDOM % 200 + 16)))" \
		--allowed-mechanisms "$3" > /dev/null 2>&1
	"$SECKIT" key export "$1" --out "$1.pub"
	openssl x509 -new -subj "/CN=$1" -force_pubkey "$1.pub" -CA ca.pem -CAkey ca.key -days 2 \
		-out "$1.pem" 2>/dev/null
}

# start_server N [options]: s_server for N connections that demands a
# client certificate of the CA and answers a GET with what it saw.
start_server() {
	local n=$1
	shift
	PORT=$(free_port_pair)
	openssl s_server -accept "127.0.0.1:$PORT" -cert srv.pem -key srv.key -CAfile ca.pem \
		-Verify 1 -verify_return_error -www -naccept "$n" "$@" < /dev/null > server.log 2>&1 &
	SERVER_PID=$!
	wait_until grep -q ACCEPT server.log
}

# get KEY CERT: a GET through seckit tls connect.
get() {
	printf 'GET / HTTP/1.0\r\n\r\n' > req
	run -0 sk tls connect "127.0.0.1:$PORT" --key "$1" --cert "$2" --ca ca.pem < req
	[[ "$output" == "HTTP/1.0 200 ok"* ]]
}

@test "mutual TLS 1.3 and 1.2 with EC and RSA keys on the token" {
	client ec ec-p256
	client rsa rsa-2048
	for v in -tls1_3 -tls1_2; do
		start_server 2 "$v"
		get ec ec.pem
		[[ "$output" == *"Protocol  : TLSv1.${v#-tls1_}"* ]]
		[[ "$output" == *"Subject: CN=ec"* ]]
		get rsa rsa.pem
		[[ "$output" == *"Subject: CN=rsa"* ]]
		wait "$SERVER_PID"
	done
}

@test "mutual TLS with the certificate the token holds (cert import onto the token, then --cert NAME)" {
	client dev ec-p256
	run -0 sk cert import device dev.pem
	# On the token, not in the store.
	run -0 sk --backend soft cert list --names
	[ "$output" = "" ]
	run -0 p11tool --list-objects --type cert
	[[ "$output" == *"label:      device"* ]]
	start_server 1
	get dev device
	[[ "$output" == *"Subject: CN=dev"* ]]
	wait "$SERVER_PID"
}

@test "mutual TLS with a wrong PIN: exit 5 before any connection is made" {
	client dev ec-p256
	start_server 1
	printf 'GET / HTTP/1.0\r\n\r\n' > req
	sk_fails 5 "tls connect: " --pin pass:0000 tls connect "127.0.0.1:$PORT" --key dev --cert dev.pem --ca ca.pem < req
}

@test "a key restricted to RSA-PSS with SHA-384 (CKA_ALLOWED_MECHANISMS): TLS 1.3 and 1.2 pick rsa_pss_rsae_sha384, signed by the token over the message" {
	made_key r384 rsa:2048 SHA384-RSA-PKCS-PSS
	run -0 p11tool --list-objects --type privkey
	[[ "$output" == *"Allowed mechanisms: SHA384-RSA-PKCS-PSS"* ]]
	for v in -tls1_3 -tls1_2; do
		# libssl's first choice would be rsa_pss_rsae_sha256, which the
		# token refuses (before: "EVP lib" in the middle of the handshake).
		start_server 1 "$v"
		get r384 r384.pem
		[[ "$output" == *"Protocol  : TLSv1.${v#-tls1_}"* ]]
		[[ "$output" == *"Peer signing digest: SHA384"* ]]
		[[ "$output" == *"Peer signature type: RSA-PSS"* ]]
		wait "$SERVER_PID"
	done
}

@test "a server that accepts none of the schemes a restricted key can make: exit 6, one line naming the key" {
	made_key r384 rsa:2048 SHA384-RSA-PKCS-PSS
	printf 'GET / HTTP/1.0\r\n\r\n' > req
	start_server 1 -tls1_3 -client_sigalgs RSA-PSS+SHA256:RSA-PSS+SHA512
	sk_fails 6 "tls connect: " tls connect "127.0.0.1:$PORT" --key r384 --cert r384.pem --ca ca.pem < req
	[[ "$stderr" == *": the server accepts no signature scheme that key 'r384' can sign with" ]]
	wait "$SERVER_PID" || true
	# TLS 1.2: PKCS#1 v1.5 with SHA-384 is offered, but the key has no
	# PKCS#1 v1.5 mechanism: not picked either.
	start_server 1 -tls1_2 -client_sigalgs RSA-PSS+SHA256:RSA+SHA384
	sk_fails 6 "tls connect: " tls connect "127.0.0.1:$PORT" --key r384 --cert r384.pem --ca ca.pem < req
	[[ "$stderr" == *": the server accepts no signature scheme that key 'r384' can sign with" ]]
}

@test "a token without CKM_RSA_PKCS_PSS: TLS 1.2 with PKCS#1 v1.5; a server that wants TLS 1.3 is exit 6 naming the mechanism" {
	# SoftHSM 2.6.1 ignores the first name of a "-" list: it is repeated.
	mk_token "$BATS_TEST_TMPDIR/nopss" nopss "-CKM_RSA_PKCS_PSS,CKM_RSA_PKCS_PSS"
	client rn rsa-2048
	start_server 1
	get rn rn.pem
	[[ "$output" == *"Protocol  : TLSv1.2"* ]]
	[[ "$output" == *"Peer signature type: RSA"$'\n'* ]]
	wait "$SERVER_PID"
	start_server 1 -tls1_3
	sk_fails 6 "tls connect: " tls connect "127.0.0.1:$PORT" --key rn --cert rn.pem --ca ca.pem < req
	[[ "$stderr" == *"the server wants TLS 1.3, where RSA keys sign with RSA-PSS only: key 'rn' cannot sign with RSA-PSS: token 'nopss' lacks CKM_RSA_PKCS_PSS" ]]
}

@test "a key restricted to a mechanism the token lacks (CKM_ECDSA_SHA384 on SoftHSM2): exit 6 before any connection" {
	made_key e384 EC:secp384r1 ECDSA-SHA384
	# Nothing listens there: a connection attempt would be exit 1.
	PORT=$(free_port_pair)
	printf 'GET / HTTP/1.0\r\n\r\n' > req
	sk_fails 6 "tls connect: " tls connect "127.0.0.1:$PORT" --key e384 --cert e384.pem --ca ca.pem < req
	[ "$stderr" = "seckit tls connect: key 'e384' cannot sign: token 'seckit' lacks CKM_ECDSA_SHA384" ]
}

@test "the provider module: a key restricted to SHA-384 PKCS#1 v1.5 has SHA-384 as its mandatory digest (openssl req picks it), and refuses SHA-256 up front" {
	[ -f "$SECKIT_SRC/seckit-provider.so" ] || skip "the provider module is not built"
	export OPENSSL_MODULES="$SECKIT_SRC"
	made_key k384 rsa:2048 SHA384-RSA-PKCS
	run -0 openssl req -provider seckit -provider default -new -key seckit:k384 -subj /CN=k384 -out k.csr
	run -0 openssl req -verify -in k.csr -noout -text
	[[ "$output" == *"Signature Algorithm: sha384WithRSAEncryption"* ]]
	run ! openssl req -provider seckit -provider default -new -key seckit:k384 -subj /CN=k384 -sha256 -out k2.csr
	[[ "$output" == *"key 'k384' cannot sign with SHA2-256: it allows SHA-384 only"* ]]
	assert_absent k2.csr
}

@test "a token key with a certificate file and --ca needs no store; without --ca there is no anchor: 7, the no-CA error" {
	client dev ec-p256
	export SECKIT_STORE=$BATS_TEST_TMPDIR/none
	start_server 1
	# Before: "store '.../none' does not exist" (4), nothing connected.
	get dev dev.pem
	[[ "$output" == *"Subject: CN=dev"* ]]
	wait "$SERVER_PID"
	assert_absent "$SECKIT_STORE"
	start_server 1
	sk_fails 7 "tls connect: " tls connect "127.0.0.1:$PORT" --key dev --cert dev.pem < req
	[[ "$stderr" == *"certificate verify failed: "*"(the store holds no CA certificate)"* ]]
	assert_absent "$SECKIT_STORE"
}

@test "tls proxy with a key restricted to RSA-PSS with SHA-384: its signatures, made on the provider's worker over the whole message, pass" {
	require python3
	made_key r384 rsa:2048 SHA384-RSA-PKCS-PSS
	start_server 2 -tls1_3
	local pport
	pport=$(free_port_pair)
	"$SECKIT" -v tls proxy --listen "$pport" --connect "127.0.0.1:$PORT" --key r384 --cert r384.pem \
		--ca ca.pem 2> proxy.log &
	PROXY_PID=$!
	wait_until grep -q 'listening on' proxy.log
	run -0 python3 "$BATS_TEST_DIRNAME/tls-churn.py" churn "$pport" 2 1
	kill -TERM "$PROXY_PID"
	wait "$PROXY_PID"
	run -0 grep -c 'TLSv1.3' proxy.log
	[ "$output" = 2 ]
}
