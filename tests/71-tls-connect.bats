#!/usr/bin/env bats
# seckit tls connect (man/seckit-tls.1): mutual TLS with a store key on the
# soft, tpm2 and pkcs11 (SoftHSM2) backends against openssl s_server -Verify 1
# -verify_return_error, the server verified by the store's rules (cloud
# root, CA file, CRL, dates, host name), and peers that misbehave.  Every
# server runs on a free loopback port and is stopped by teardown.

load helper
load tpm
load trust
load pkcs11

setup_file() {
	require swtpm tpm2_getcap openssl python3
	export BATS_NO_PARALLELIZE_WITHIN_FILE=true
	start_swtpm "$BATS_FILE_TMPDIR/tpm"
	backend_setup_file || return 1
	local d=$BATS_FILE_TMPDIR b p11=""
	cd "$d" || return 1
	printf 'password-kdf:\n  n: 1024\n  r: 8\n  p: 1\npkcs11:\n  token: seckit\n  pin: env:SK_TEST_PIN\n' > config.yaml
	# The OEM's PKI (tests/trust.bash): oem/root, oem/cloud-root,
	# oem/issuing-ca (under root), oem/command.  The cloud's servers have
	# certificates of the cloud root; the devices' certificates come from
	# the issuing CA (sent as their chain) or the root.
	mk_oem_pki || return 1
	srv_cert srv oem/cloud-root || return 1
	srv_cert expired oem/cloud-root "$(date_z -3days)" "$(date_z -1day)" || return 1
	srv_cert revoked oem/cloud-root || return 1
	mk_root stranger || return 1
	srv_cert unknown stranger || return 1
	cat > m.yaml <<-EOF
	version: 1
	device-key:
	  csr:
	    subject: /CN=device
	    out: device.csr
	command-key:
	  file: oem/command.pem
	certificates:
	  - name: oem-root
	    file: oem/root.pem
	  - name: cloud-root
	    file: oem/cloud-root.pem
	EOF
	# The pkcs11 store's device key is on the file's SoftHSM2 token, or on
	# the matrix's pkcs11-tpm2 pass on the file's tpm2-pkcs11 token.
	if [ "$SK_PKCS11_TOKEN" = tpm2 ]; then
		backend_tpm2_p11_store "$d/tpm2-pkcs11" || return 1
		p11=pkcs11
	elif have_pkcs11; then
		mk_token "$d/softhsm" seckit || return 1
		p11=pkcs11
	fi
	for b in soft tpm2 $p11; do
		use "$b"
		"$SECKIT" provision m.yaml > /dev/null || return 1
		"$SECKIT" key create rsa --type rsa-2048 || return 1
		"$SECKIT" cert csr --key rsa --subject "/CN=$b-rsa" --out rsa.csr || return 1
		issue device.csr oem/issuing-ca "$b-ec.pem" || return 1
		issue rsa.csr oem/root "$b-rsa.pem" || return 1
		# The EC key's certificate with its chain: a file, and the
		# provisioned certificate "device" (cert import keeps the chain).
		cat "$b-ec.pem" oem/issuing-ca.pem > "$b-ec-chain.pem"
		"$SECKIT" cert import device "$b-ec-chain.pem" > /dev/null || return 1
	done
}

teardown_file() {
	backend_teardown_file
	stop_swtpm
}

# srv_cert NAME ISSUER [START END]: a server certificate for localhost and
# 127.0.0.1, NAME.pem and NAME.key.
srv_cert() {
	mk_key "$1" &&
		openssl req -new -key "$1.key" -subj "/CN=$1" \
			-addext "subjectAltName=DNS:localhost,IP:127.0.0.1" -out "$1.csr" &&
		openssl_ca "$2" "$1.csr" "$1.pem" leaf "${@:3}"
}

# issue CSR ISSUER OUT: a client certificate (openssl x509 -req).
issue() {
	openssl x509 -req -in "$1" -CA "$2.pem" -CAkey "$2.key" -days 2 -out "$3" 2>/dev/null
}

# Whether the pkcs11 backend can be tested here (SoftHSM2 and a seckit
# built with it).
have_pkcs11() {
	local v
	[ -e "$MODULE" ] && command -v softhsm2-util > /dev/null || return 1
	v=$("$SECKIT" --version) || return 1
	[[ "$v" == *"backend pkcs11: yes"* ]]
}

# use BACKEND: the file's store of that backend (and on pkcs11 its token).
use() {
	export SECKIT_CONFIG="$BATS_FILE_TMPDIR/config.yaml" SECKIT_STORE="$BATS_FILE_TMPDIR/store-$1"
	export SECKIT_BACKEND=$1 SECKIT_TCTI="$SWTPM_TCTI" TPM2TOOLS_TCTI="$SWTPM_TCTI"
	if [ "$1" = pkcs11 ] && [ "$SK_PKCS11_TOKEN" = tpm2 ]; then
		backend_tpm2_p11_use "$BATS_FILE_TMPDIR/tpm2-pkcs11"
	elif [ "$1" = pkcs11 ]; then
		export SOFTHSM2_CONF="$BATS_FILE_TMPDIR/softhsm/softhsm2.conf"
		export SECKIT_PKCS11_MODULE=$MODULE SK_TEST_PIN=1234
	fi
}

setup() {
	common_setup
	F=$BATS_FILE_TMPDIR
	use "$SK_BACKEND"
}

teardown() {
	[ -z "${SERVER_PID:-}" ] || kill "$SERVER_PID" 2>/dev/null || true
	assert_no_transient_handles
}

# start_server N CERT [s_server options]: s_server with the server
# certificate CERT (F/CERT.pem) on a free loopback port for N connections,
# demanding a client certificate of the OEM root and refusing any other;
# it answers a GET with what it saw (-www).
start_server() {
	local n=$1 cert=$2
	shift 2
	PORT=$(free_port_pair)
	openssl s_server -accept "127.0.0.1:$PORT" -cert "$F/$cert.pem" -key "$F/$cert.key" \
		-CAfile "$F/oem/root.pem" -Verify 1 -verify_return_error -www -naccept "$n" "$@" \
		< /dev/null > server.log 2>&1 &
	SERVER_PID=$!
	wait_until grep -q ACCEPT server.log
}

# start_peer MODE [ARGS]: tests/tls-peer.py on a free port (PORT).
start_peer() {
	python3 "$BATS_TEST_DIRNAME/tls-peer.py" "$1" peer.port "${@:2}" > peer.log 2>&1 &
	SERVER_PID=$!
	wait_until test -s peer.port
	PORT=$(cat peer.port)
}

# get KEY CERT [options]: a GET through seckit tls connect.
get() {
	local key=$1 cert=$2
	shift 2
	printf 'GET / HTTP/1.0\r\n\r\n' > req
	run -0 sk tls connect "127.0.0.1:$PORT" --key "$key" --cert "$cert" "$@" < req
	[[ "$output" == "HTTP/1.0 200 ok"* ]]
}

# mtls BACKEND: EC and RSA keys, TLS 1.3 and 1.2, the server verified
# against the store's cloud root; s_server shows the client certificate.
mtls() {
	use "$1"
	local v
	for v in -tls1_3 -tls1_2; do
		start_server 2 srv "$v"
		get device "$F/$1-ec-chain.pem"
		[[ "$output" == *"Protocol  : TLSv1.${v#-tls1_}"* ]]
		[[ "$output" == *"Subject: CN=device"* ]]
		get rsa "$F/$1-rsa.pem"
		[[ "$output" == *"Protocol  : TLSv1.${v#-tls1_}"* ]]
		[[ "$output" == *"Subject: CN=$1-rsa"* ]]
		wait "$SERVER_PID"
	done
}

@test "mutual TLS 1.3 and 1.2 with soft EC and RSA keys" {
	mtls soft
}

@test "mutual TLS 1.3 and 1.2 with tpm2 EC and RSA keys (no transient handle left)" {
	mtls tpm2
}

@test "mutual TLS 1.3 and 1.2 with pkcs11 EC and RSA keys: the provisioned device key on the token (SoftHSM2; tpm2-pkcs11 in the matrix)" {
	have_pkcs11 || skip "SoftHSM2 or the pkcs11 backend is not there"
	mtls pkcs11
	run -0 sk key info device
	[[ "$output" == *"provisioned:     yes"* ]]
	[[ "$output" == *"origin:          device"* ]]
}

@test "--json: the connection's summary; no data is sent" {
	start_server 1 srv
	run -0 sk --json tls connect "127.0.0.1:$PORT" --cert device --servername localhost
	run -0 python3 -c '
import json, sys
j = json.loads(sys.argv[1])
assert j["ok"] is True and j["verified"] is True and j["client_certificate"] is True, j
assert j["protocol"] == "TLSv1.3" and j["cipher"].startswith("TLS_") and j["group"], j
assert j["peer_subject"] == "CN=srv" and j["peer_issuer"] == "CN=cloud-root", j
assert j["servername"] == "localhost" and j["port"] == sys.argv[2] and j["resumed"] is False, j
assert j["alpn"] is None and j["bytes_discarded"] == 0, j
' "$output" "$PORT"
}

@test "the client certificate's chain is sent: provisioned name and file; the leaf alone is refused (5)" {
	start_server 3 srv
	get device device
	[[ "$output" == *"Subject: CN=device"* ]]
	get device "$F/$SK_BACKEND-ec-chain.pem"
	[[ "$output" == *"Subject: CN=device"* ]]
	# s_server knows only the root: without the issuing CA it refuses.
	run -5 --separate-stderr sk tls connect "127.0.0.1:$PORT" --cert "$F/$SK_BACKEND-ec.pem" < req
	assert_one_error_line "seckit tls connect: 127.0.0.1:$PORT: the server refused the client certificate: "
}

@test "a binary stream both ways, byte for byte, with half-close (soft and tpm2 keys)" {
	head -c 1048577 /dev/urandom > data
	for b in soft tpm2; do
		use $b
		rm -f peer.port peer.port.peer
		start_peer echo "$F/srv.pem" "$F/srv.key" "$F/oem/root.pem"
		sk tls connect "127.0.0.1:$PORT" --cert device < data > got
		cmp data got
		grep -q "'commonName', 'device'" peer.port.peer
		wait "$SERVER_PID"
	done
}

@test "server certificate from an unknown CA: 7" {
	start_server 1 unknown
	sk_fails 7 "tls connect: 127.0.0.1:$PORT: certificate verify failed: unable to get local issuer certificate" \
		tls connect "127.0.0.1:$PORT" --cert device < /dev/null
}

@test "expired server certificate: 7" {
	start_server 1 expired
	sk_fails 7 "tls connect: 127.0.0.1:$PORT: certificate verify failed: certificate has expired" \
		tls connect "127.0.0.1:$PORT" --cert device < /dev/null
}

@test "server certificate revoked through the store's CRL (an STP): 7" {
	cp -a "$F/store-$SK_BACKEND" store
	export SECKIT_STORE=$PWD/store
	start_server 2 revoked
	run -0 sk --json tls connect "127.0.0.1:$PORT" --cert device
	[[ "$output" == *'"verified":true'* ]]
	run -0 sk stp make --sign-key "$F/oem/command.key" --seq 1 --command revoke \
		--cert "$F/revoked.pem" --out rev.stp
	run -0 sk stp apply rev.stp
	sk_fails 7 "tls connect: 127.0.0.1:$PORT: certificate verify failed: certificate revoked" \
		tls connect "127.0.0.1:$PORT" --cert device < /dev/null
}

@test "wrong host name: 7; --servername names the one to check" {
	start_server 3 srv
	sk_fails 7 "tls connect: 127.0.0.1:$PORT: certificate verify failed: hostname mismatch" \
		tls connect "127.0.0.1:$PORT" --cert device --servername other.example < /dev/null
	run -0 sk --json tls connect "127.0.0.1:$PORT" --cert device --servername localhost
	run -0 sk --json tls connect "localhost:$PORT" --cert device
}

@test "--ca FILE replaces the store's anchors" {
	start_server 2 srv
	sk_fails 7 "tls connect: 127.0.0.1:$PORT: certificate verify failed: unable to get local issuer certificate" \
		tls connect "127.0.0.1:$PORT" --cert device --ca "$F/stranger.pem" < /dev/null
	run -0 sk --json tls connect "127.0.0.1:$PORT" --cert device --ca "$F/oem/cloud-root.pem"
	[[ "$output" == *'"verified":true'* ]]
}

@test "a server demanding a client certificate when none is given: 5 (TLS 1.3 and 1.2)" {
	local v
	for v in -tls1_3 -tls1_2; do
		start_server 1 srv "$v"
		sk_fails 5 "tls connect: 127.0.0.1:$PORT: the server requires a client certificate (none given)" \
			tls connect "127.0.0.1:$PORT" < /dev/null
		wait "$SERVER_PID" || true
	done
}

@test "--alpn: the protocol the server picks" {
	start_server 1 srv -alpn mqtt
	run -0 sk --json tls connect "127.0.0.1:$PORT" --cert device --alpn h2,mqtt
	[[ "$output" == *'"alpn":"mqtt"'* ]]
	sk_fails 2 "tls connect: ALPN protocol list 'a,,b'" tls connect "127.0.0.1:$PORT" --alpn a,,b
}

@test "a server that sends garbage: 1" {
	start_peer garbage
	sk_fails 1 "tls connect: 127.0.0.1:$PORT: TLS during the handshake: " \
		tls connect "127.0.0.1:$PORT" --cert device < /dev/null
}

@test "a server that closes mid-handshake: 1" {
	start_peer close
	sk_fails 1 "tls connect: 127.0.0.1:$PORT: the server closed the connection during the handshake" \
		tls connect "127.0.0.1:$PORT" --cert device < /dev/null
}

@test "a server that never answers: timed out (1)" {
	start_peer silent
	sk_fails 1 "tls connect: 127.0.0.1:$PORT: timed out during the TLS handshake" \
		tls connect "127.0.0.1:$PORT" --cert device --timeout 1 < /dev/null
}

@test "nothing listening: 1 with the address and errno text" {
	PORT=$(free_port_pair)
	sk_fails 1 "tls connect: 127.0.0.1:$PORT: connect: Connection refused" \
		tls connect "127.0.0.1:$PORT" --cert device < /dev/null
}

@test "bad input: address, key, certificate" {
	sk_fails 2 "tls connect: 'localhost': expected HOST:PORT" tls connect localhost --cert device
	sk_fails 2 "tls connect: 'h:0': expected HOST:PORT" tls connect h:0 --cert device
	sk_fails 2 "tls connect: --key needs --cert" tls connect h:1 --key device
	sk_fails 8 "tls connect: key 'nosuch': not found" tls connect h:1 --key nosuch --cert device
	sk_fails 7 "tls connect: key 'rsa' is not the key of the client certificate" \
		tls connect h:1 --key rsa --cert device
	sk_fails 1 "tls connect: opening 'nofile'" tls connect h:1 --cert nofile
}
