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
}

# client KEY TYPE: a token key and its certificate KEY.pem from the CA.
client() {
	"$SECKIT" key create "$1" --type "$2"
	"$SECKIT" cert csr --key "$1" --subject "/CN=$1" --out "$1.csr"
	openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -set_serial "$RANDOM" -days 2 \
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
