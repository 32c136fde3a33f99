#!/usr/bin/env bats
# The OpenSSL provider (seckit-provider.so, man/seckit-provider.7): plain
# openssl programs use store keys as seckit:NAME on the soft and tpm2
# backends -- pkeyutl, req, s_client against s_server -- and every result
# is checked by openssl without the provider.

load helper
load tpm

setup_file() {
	require swtpm tpm2_getcap openssl
	export BATS_NO_PARALLELIZE_WITHIN_FILE=true
	start_swtpm "$BATS_FILE_TMPDIR/tpm"
	export OPENSSL_MODULES="$SECKIT_SRC"
	local d=$BATS_FILE_TMPDIR b k
	cd "$d" || return 1
	# A CA, the server's certificate, and keys with certificates in a
	# store per backend, made once.
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key \
		-out ca.pem -subj /CN=ca -days 2 2>/dev/null
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout srv.key \
		-out srv.pem -subj /CN=localhost -days 2 -CA ca.pem -CAkey ca.key 2>/dev/null
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out peer.pem 2>/dev/null
	openssl pkey -in peer.pem -pubout -out peer.pub
	printf 'password-kdf:\n  n: 1024\n  r: 8\n  p: 1\n' > config.yaml
	for b in soft tpm2; do
		for k in ec:ec-p256 rsa:rsa-2048; do
			SECKIT_CONFIG=$d/config.yaml SECKIT_STORE=$d/store-$b SECKIT_BACKEND=$b \
				"$SECKIT" key create "${k%%:*}" --type "${k#*:}" || return 1
			SECKIT_CONFIG=$d/config.yaml SECKIT_STORE=$d/store-$b \
				"$SECKIT" key export "${k%%:*}" --out "$b-${k%%:*}.pub" || return 1
		done
	done
}

teardown_file() {
	stop_swtpm
}

# use BACKEND: the file's store of that backend.
use() {
	export SECKIT_STORE="$BATS_FILE_TMPDIR/store-$1" SECKIT_BACKEND=$1 SECKIT_TCTI="$SWTPM_TCTI"
	export TPM2TOOLS_TCTI="$SWTPM_TCTI"
}

setup() {
	common_setup
	export OPENSSL_MODULES="$SECKIT_SRC"
	F=$BATS_FILE_TMPDIR
	head -c 32 /dev/urandom > dgst
}

teardown() {
	[ -z "${SERVER_PID:-}" ] || kill "$SERVER_PID" 2>/dev/null || true
	if [ ! -e "$BATS_FILE_TMPDIR/tpm-stopped" ]; then
		assert_no_transient_handles
	fi
}

# ossl CMD ARGS...: openssl with the provider loaded.
ossl() {
	local cmd=$1
	shift
	openssl "$cmd" -provider seckit -provider default "$@"
}

# start_server N: s_server on a free loopback port for N connections,
# asking for a client certificate of our CA and refusing any other; it
# answers a GET with what it saw (-www), the client's signature included.
start_server() {
	PORT=$(free_port_pair)
	openssl s_server -accept "127.0.0.1:$PORT" -cert "$F/srv.pem" -key "$F/srv.key" \
		-CAfile "$F/ca.pem" -Verify 1 -verify_return_error -www -naccept "$1" \
		< /dev/null > server.log 2>&1 &
	SERVER_PID=$!
	wait_until grep -q ACCEPT server.log
}

# tls KEY CERT ARGS...: one mutual-TLS request with the key seckit:KEY.
tls() {
	local key=$1 cert=$2
	shift 2
	printf 'GET / HTTP/1.0\r\n\r\n' > req
	run -0 ossl s_client -connect "127.0.0.1:$PORT" -key "seckit:$key" -cert "$cert" \
		-CAfile "$F/ca.pem" -verify_return_error -quiet "$@" < req
}

@test "the module loads as -provider seckit and exports only its entry point" {
	run -0 openssl list -providers -provider seckit
	[[ "$output" == *"seckit provider"* ]]
	run -0 nm -D --defined-only "$SECKIT_SRC/seckit-provider.so"
	[ "$(printf '%s\n' "$output" | awk '{ print $3 }')" = OSSL_provider_init ]
}

@test "the built-in provider (sk_provider_add_builtin, as a seckit command registers it) signs through the backend on soft and tpm2" {
	echo "some data" > data
	for b in soft tpm2; do
		use $b
		run -0 "$SECKIT_SRC/build/unit/provider-builtin" seckit:ec data data.sig
		run -0 openssl dgst -sha256 -verify "$F/$b-ec.pub" -signature data.sig data
		run -0 "$SECKIT_SRC/build/unit/provider-builtin" seckit:rsa data data.sig
		run -0 openssl dgst -sha256 -verify "$F/$b-rsa.pub" -signature data.sig data
	done
	use soft
	run -1 "$SECKIT_SRC/build/unit/provider-builtin" seckit:missing data data.sig
	[[ "$output" == *"seckit::not found:"*"key 'missing': not found"* ]]
	[[ "$output" == *"not ok"*"the store gives the key"* ]]
}

@test "pkeyutl -sign with seckit:NAME (EC, RSA PKCS#1 v1.5 and PSS) on soft and tpm2, verified by plain openssl" {
	for b in soft tpm2; do
		use $b
		ossl pkeyutl -inkey seckit:ec -sign -in dgst -out ec.sig
		run -0 openssl pkeyutl -verify -pubin -inkey "$F/$b-ec.pub" -in dgst -sigfile ec.sig
		ossl pkeyutl -inkey seckit:rsa -sign -in dgst -out rsa.sig -pkeyopt digest:sha256
		run -0 openssl pkeyutl -verify -pubin -inkey "$F/$b-rsa.pub" -in dgst -sigfile rsa.sig \
			-pkeyopt digest:sha256
		ossl pkeyutl -inkey seckit:rsa -sign -in dgst -out pss.sig -pkeyopt digest:sha256 \
			-pkeyopt rsa_padding_mode:pss
		run -0 openssl pkeyutl -verify -pubin -inkey "$F/$b-rsa.pub" -in dgst -sigfile pss.sig \
			-pkeyopt digest:sha256 -pkeyopt rsa_padding_mode:pss -pkeyopt rsa_pss_saltlen:digest
		# A signature of other data does not verify: the check is real.
		head -c 32 /dev/urandom > other
		run -1 openssl pkeyutl -verify -pubin -inkey "$F/$b-ec.pub" -in other -sigfile ec.sig
	done
}

@test "the public key of seckit:NAME is the store's; dgst signs and verifies with it" {
	for b in soft tpm2; do
		use $b
		run -0 ossl pkey -in seckit:ec -pubout
		[ "$output" = "$(cat "$F/$b-ec.pub")" ]
		run -0 ossl pkey -pubin -in seckit:rsa -pubout
		[ "$output" = "$(cat "$F/$b-rsa.pub")" ]
		echo "some data" > data
		ossl dgst -sha384 -sign seckit:ec -out data.sig data
		run -0 openssl dgst -sha384 -verify "$F/$b-ec.pub" -signature data.sig data
	done
}

@test "req -new -key seckit:NAME: the CSR verifies with plain openssl (ECDSA, RSA, RSA-PSS)" {
	for b in soft tpm2; do
		use $b
		ossl req -new -key seckit:ec -subj /CN=ec -out ec.csr
		run -0 openssl req -verify -in ec.csr -noout
		run -0 openssl req -in ec.csr -noout -pubkey
		[ "$output" = "$(cat "$F/$b-ec.pub")" ]
		ossl req -new -key seckit:rsa -subj /CN=rsa -out rsa.csr
		run -0 openssl req -verify -in rsa.csr -noout
		ossl req -new -key seckit:rsa -subj /CN=rsa -out pss.csr -sigopt rsa_padding_mode:pss
		run -0 openssl req -verify -in pss.csr -noout -text
		[[ "$output" == *"Signature Algorithm: rsassaPss"* ]]
	done
}

# mtls BACKEND: certificates for the backend's keys, then mutual TLS 1.2
# and 1.3 with EC and RSA keys against s_server.
mtls() {
	use "$1"
	local k
	for k in ec rsa; do
		ossl req -new -key "seckit:$k" -subj "/CN=$1-$k" -out "$k.csr"
		openssl x509 -req -in "$k.csr" -CA "$F/ca.pem" -CAkey "$F/ca.key" -days 2 -out "$k.pem" 2>/dev/null
	done
	start_server 5
	tls ec ec.pem -tls1_3
	[[ "$output" == *"Protocol  : TLSv1.3"* ]]
	[[ "$output" == *"Peer signature type: ECDSA"* ]]
	tls ec ec.pem -tls1_2
	[[ "$output" == *"Protocol  : TLSv1.2"* ]]
	[[ "$output" == *"Peer signature type: ECDSA"* ]]
	# TLS 1.3 signs with RSA-PSS only.
	tls rsa rsa.pem -tls1_3
	[[ "$output" == *"Protocol  : TLSv1.3"* ]]
	[[ "$output" == *"Peer signature type: RSA-PSS"* ]]
	tls rsa rsa.pem -tls1_2 -client_sigalgs RSA+SHA256
	[[ "$output" == *"Protocol  : TLSv1.2"* ]]
	[[ "$output" == *"Peer signature type: RSA"$'\n'* ]]
	tls rsa rsa.pem -tls1_2 -client_sigalgs RSA-PSS+SHA384
	[[ "$output" == *"Peer signature type: RSA-PSS"* ]]
	[[ "$output" == *"Peer signing digest: SHA384"* ]]
}

@test "s_client -key seckit:NAME: mutual TLS 1.2 and 1.3 with soft EC and RSA keys" {
	mtls soft
}

@test "s_client -key seckit:NAME: mutual TLS 1.2 and 1.3 with tpm2 EC and RSA keys" {
	mtls tpm2
}

# groups_server GROUP ARGS...: s_server for one connection on a free port
# that takes only key shares of GROUP; -www prints what the client offered
# ("Supported groups") and what both have ("Shared groups").
groups_server() {
	local g=$1
	shift
	PORT=$(free_port_pair)
	openssl s_server -accept "127.0.0.1:$PORT" -cert "$F/srv.pem" -key "$F/srv.key" -groups "$g" \
		-www -naccept 1 "$@" < /dev/null > server.log 2>&1 &
	SERVER_PID=$!
	wait_until grep -q ACCEPT server.log
}

# The line LABEL of a -www page in $output.
www_line() {
	printf '%s\n' "$output" | grep "^$1: "
}

@test "loaded before the default provider, it keeps the NIST groups: the ClientHello is plain openssl's, P-256 and P-384 negotiate with and without a seckit key" {
	use soft
	# A key on each curve: a TLS 1.2 server wants the client's
	# certificate on one of its groups.
	"$SECKIT" key create ec384 --type ec-p384
	local k g v cg shared ref
	for k in ec ec384; do
		ossl req -new -key "seckit:$k" -subj "/CN=$k" -out "$k.csr"
		openssl x509 -req -in "$k.csr" -CA "$F/ca.pem" -CAkey "$F/ca.key" -days 2 -out "$k.pem" 2>/dev/null
	done
	printf 'GET / HTTP/1.0\r\n\r\n' > req
	for g in P-256 P-384; do
		shared=secp256r1 k=ec
		[ "$g" = P-256 ] || shared=secp384r1 k=ec384
		for v in -tls1_3 -tls1_2; do
			groups_server "$g"
			run -0 openssl s_client -connect "127.0.0.1:$PORT" -CAfile "$F/ca.pem" \
				-verify_return_error -quiet "$v" < req
			ref=$(www_line "Supported groups")
			# No key of ours: the same groups offered, the server's taken.
			groups_server "$g"
			run -0 ossl s_client -connect "127.0.0.1:$PORT" -CAfile "$F/ca.pem" \
				-verify_return_error -quiet "$v" < req
			[ "$(www_line "Supported groups")" = "$ref" ]
			[ "$(www_line "Shared groups")" = "Shared groups: $shared" ]
			# Only that group asked for, as the issue's reproducer does
			# (TLS 1.2 also needs the curve of the server's certificate).
			cg=$g
			[ "$v$g" != -tls1_2P-384 ] || cg=P-384:P-256
			groups_server "$g"
			run -0 ossl s_client -connect "127.0.0.1:$PORT" -CAfile "$F/ca.pem" \
				-verify_return_error -quiet "$v" -groups "$cg" < req
			[ "$(www_line "Shared groups")" = "Shared groups: $shared" ]
			# With a seckit key as the client's (mutual TLS).
			groups_server "$g" -CAfile "$F/ca.pem" -Verify 1 -verify_return_error
			run -0 ossl s_client -connect "127.0.0.1:$PORT" -CAfile "$F/ca.pem" \
				-verify_return_error -quiet "$v" -key "seckit:$k" -cert "$k.pem" < req
			[ "$(www_line "Supported groups")" = "$ref" ]
			[ "$(www_line "Shared groups")" = "Shared groups: $shared" ]
			[[ "$output" == *"Protocol  : TLSv1.${v#-tls1_}"* ]]
		done
	done
}

@test "s_server refuses a client whose key does not match its certificate" {
	use soft
	ossl req -new -key seckit:ec -subj /CN=ec -out ec.csr
	openssl x509 -req -in ec.csr -CA "$F/ca.pem" -CAkey "$F/ca.key" -days 2 -out ec.pem 2>/dev/null
	start_server 1
	printf 'GET / HTTP/1.0\r\n\r\n' > req
	run -1 ossl s_client -connect "127.0.0.1:$PORT" -key seckit:rsa -cert ec.pem \
		-CAfile "$F/ca.pem" -quiet < req
	[[ "$output" == *"Private key does not match the certificate public key"* ]]
}

@test "pkeyutl -decrypt with RSA-OAEP and -derive with ECDH through the backend, cross-checked" {
	echo "a secret message" > m
	for b in soft tpm2; do
		use $b
		openssl pkeyutl -encrypt -pubin -inkey "$F/$b-rsa.pub" -in m -out m.enc \
			-pkeyopt rsa_padding_mode:oaep -pkeyopt rsa_oaep_md:sha256
		run -0 ossl pkeyutl -decrypt -inkey seckit:rsa -in m.enc -pkeyopt rsa_padding_mode:oaep \
			-pkeyopt rsa_oaep_md:sha256
		[ "$output" = "a secret message" ]
		ossl pkeyutl -derive -inkey seckit:ec -peerkey "$F/peer.pub" -out z1
		openssl pkeyutl -derive -inkey "$F/peer.pem" -peerkey "$F/$b-ec.pub" -out z2
		[ "$(wc -c < z1)" -eq 32 ]
		cmp z1 z2
		# PKCS#1 v1.5 decryption is not what the backends do: refused, not
		# done some other way.
		openssl pkeyutl -encrypt -pubin -inkey "$F/$b-rsa.pub" -in m -out m1.enc
		run -1 ossl pkeyutl -decrypt -inkey seckit:rsa -in m1.enc
		[[ "$output" == *"only RSA-OAEP decryption"* ]]
	done
}

@test "a key bound to a password object: config section, SECKIT_PROVIDER_PASS or -passin; a wrong one fails cleanly" {
	export PW=sesame
	for b in soft tpm2; do
		use $b
		export SECKIT_STORE="$BATS_TEST_TMPDIR/store-$b"
		sk key password create pin --pass env:PW
		sk key create pk --type ec-p256 --password-object pin --pass env:PW
		sk key export pk --out pk.pub
		run -1 ossl pkeyutl -inkey seckit:pk -sign -in dgst -out sig < /dev/null
		[[ "$output" == *"password object 'pin'"* ]]
		assert_absent sig
		SECKIT_PROVIDER_PASS=env:PW ossl pkeyutl -inkey seckit:pk -sign -in dgst -out sig
		run -0 openssl pkeyutl -verify -pubin -inkey pk.pub -in dgst -sigfile sig
		rm sig
		ossl pkeyutl -inkey seckit:pk -passin env:PW -sign -in dgst -out sig
		run -0 openssl pkeyutl -verify -pubin -inkey pk.pub -in dgst -sigfile sig
		rm sig
		cat > openssl.cnf <<-CNF
		openssl_conf = init
		[init]
		providers = provs
		[provs]
		seckit = seckit_sect
		default = default_sect
		[seckit_sect]
		activate = 1
		pass = env:PW
		[default_sect]
		activate = 1
		CNF
		OPENSSL_CONF=$PWD/openssl.cnf openssl pkeyutl -inkey seckit:pk -sign -in dgst -out sig
		run -0 openssl pkeyutl -verify -pubin -inkey pk.pub -in dgst -sigfile sig
		rm sig
		# (pkeyutl makes its output file before it signs: an empty one.)
		SECKIT_PROVIDER_PASS=pass:wrong run -1 ossl pkeyutl -inkey seckit:pk -sign -in dgst -out sig
		[[ "$output" == *"seckit::authentication failed:"*"wrong password for password object 'pin'"* ]]
		[ ! -s sig ]
		rm -f sig
	done
}

@test "seckit:missing, a bad URI and a wrong backend are clear OpenSSL errors" {
	use soft
	run -1 ossl pkeyutl -inkey seckit:missing -sign -in dgst -out sig
	[[ "$output" == *"seckit::not found:"*"key 'missing': not found"* ]]
	assert_absent sig
	run -1 ossl pkeyutl -inkey "seckit:ec?pass=x" -sign -in dgst -out sig
	[[ "$output" == *"the URI is seckit:NAME"* ]]
	SECKIT_BACKEND=tpm2 run -1 ossl pkeyutl -inkey seckit:ec -sign -in dgst -out sig
	[[ "$output" == *"held by backend 'soft'"* ]]
	assert_absent sig
}

@test "make install puts the module in OpenSSL's modules directory, not stripped, and the man page" {
	run -0 make -s -C "$SECKIT_SRC" install DESTDIR="$PWD/dest"
	mods=$(pkg-config --variable=modulesdir libcrypto)
	[ -f "dest$mods/seckit-provider.so" ]
	[ "$(readlink "dest$mods/seckit.so")" = seckit-provider.so ]
	run -0 file -L "dest$mods/seckit.so"
	[[ "$output" == *"not stripped"* ]]
	[ -f dest/usr/local/share/man/man7/seckit-provider.7 ]
	run -0 mandoc -Tlint -Wwarning "$SECKIT_SRC/man/seckit-provider.7"
	[ -z "$output" ]
}

# Last: it stops the file's simulator.
@test "a tpm2 key with the TPM gone: a clear OpenSSL error, no crash" {
	use tpm2
	stop_swtpm
	touch "$BATS_FILE_TMPDIR/tpm-stopped"
	wait_until bash -c "! kill -0 $SWTPM_PID 2>/dev/null"
	run -1 ossl pkeyutl -inkey seckit:ec -sign -in dgst -out sig
	[[ "$output" == *"seckit::backend unavailable:"* ]]
	assert_absent sig
}
