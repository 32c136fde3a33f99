#!/usr/bin/env bats
# Output and input, for every verb (CLI.md): a verb whose output is data
# writes it to stdout when --out is not given, and refuses binary or
# secret data to a terminal; '-' is stdin for every FILE that is read, one
# per call.  What seckit writes is checked by openssl.

load helper
load opaque

setup_file() {
	common_setup
	cd "$BATS_FILE_TMPDIR" || return 1
	export SECKIT_STORE="$BATS_FILE_TMPDIR/store"
	mk_oem
	mk_device
	sk key create s1 --type ec-p256 --exportable >/dev/null
	sk key export s1 --out s1.pub
	sk key create a1 --type aes-256 >/dev/null
	mk_ec peer
	openssl req -x509 -new -key oem.pem -subj /CN=io-ca -days 30 -out ca.pem 2>/dev/null
	echo "some data" > data
	sk key sign s1 --in data --out data.sig
	sk cert csr --key s1 --subject /CN=s1 --out s1.csr
	sk payload make --sign-key oem.pem --in data --out data.pkg
	sk stp make --sign-key oem.pem --seq 1 --command delete-ca --name x --out x.stp
	head -c 32 /dev/urandom > aes.key
	sk opaque-key make --name k1 --type aes-256 --key aes.key --sign-key oem.pem --device-pub dev.pub --out k1.okp
	sk oo make --in data
	sk oo id --info data.oocfg --sign-key oem.pem --device-pub dev.pub
}

setup() {
	common_setup
	cp "$BATS_FILE_TMPDIR"/*.* "$BATS_FILE_TMPDIR"/data . 2>/dev/null || true
	cp -r "$BATS_FILE_TMPDIR/store" "$SECKIT_STORE"
}

# on_tty CMD...: run seckit with stdout (and stdin, stderr) on a
# pseudo-terminal; the status is seckit's.  Output in $output.
on_tty() {
	local cmd
	cmd=$(printf '%q ' "$SECKIT" "$@")
	run script -qec "$cmd" /dev/null
}

# refused_on_tty CMD...: exit 2, the one error line, nothing else.
refused_on_tty() {
	local verb="$1 $2"
	on_tty "$@"
	[ "$status" -eq 2 ]
	[[ "$output" == "seckit $verb: not writing binary data to a terminal: give --out FILE or redirect stdout"* ]]
	[ "$(printf '%s\n' "$output" | grep -c .)" -eq 1 ]
}

@test "key sign: the signature goes to stdout, openssl dgst verifies it" {
	piped sig sk key sign s1 --in data
	run -0 openssl dgst -sha256 -verify s1.pub -signature sig data
	refused_on_tty key sign s1 --in data
}

@test "key export: public PEM to stdout (also a terminal), DER and private keys not to a terminal" {
	piped pub.pem sk key export s1
	cmp pub.pem s1.pub
	piped pub.der sk key export s1 --format der
	run -0 openssl pkey -pubin -inform der -in pub.der -noout
	piped priv.pem sk key export s1 --private --no-encrypt
	openssl pkey -in priv.pem -pubout | cmp - s1.pub
	on_tty key export s1
	[ "$status" -eq 0 ]
	[[ "$output" == "-----BEGIN PUBLIC KEY-----"* ]]
	refused_on_tty key export s1 --format der
	refused_on_tty key export s1 --private --no-encrypt
	refused_on_tty key export a1 --private --no-encrypt
}

@test "key derive: the shared secret goes to stdout (not a terminal), equal to openssl's; a file stays 0600" {
	piped z1 sk key derive s1 --peer peer.pub
	openssl pkeyutl -derive -inkey peer.pem -peerkey s1.pub -out z2
	cmp z1 z2
	run -0 sk key derive s1 --peer peer.pub --out z3
	[ "$(file_mode z3)" = 600 ]
	refused_on_tty key derive s1 --peer peer.pub
}

@test "cert csr: to stdout, piped into openssl req -verify; DER not to a terminal" {
	run -0 bash -c "'$SECKIT' cert csr --key device --subject /CN=x | openssl req -verify -noout"
	piped r.der sk cert csr --key device --subject /CN=x --format der
	run -0 openssl req -inform der -in r.der -verify -noout
	on_tty cert csr --key device --subject /CN=x
	[ "$status" -eq 0 ]
	[[ "$output" == "-----BEGIN CERTIFICATE REQUEST-----"* ]]
	refused_on_tty cert csr --key device --subject /CN=x --format der
}

@test "cert issue: the certificate to stdout, read by openssl x509" {
	piped c.pem sk cert issue --ca-cert ca.pem --ca-key oem.pem --csr s1.csr --days 10
	run -0 openssl x509 -in c.pem -noout -subject -nameopt rfc2253
	[ "$output" = "subject=CN=s1" ]
	run -0 openssl verify -CAfile ca.pem c.pem
	refused_on_tty cert issue --ca-cert ca.pem --ca-key oem.pem --csr s1.csr --days 10 --format der
}

@test "cert get: DER not to a terminal, PEM may" {
	cat > m.yaml <<-EOF
	version: 1
	ca:
	  - name: io-ca
	    file: ca.pem
	EOF
	run -0 sk provision m.yaml
	piped got.der sk cert get io-ca --format der
	openssl x509 -in ca.pem -outform der | cmp - got.der
	on_tty cert get io-ca
	[ "$status" -eq 0 ]
	[[ "$output" == "-----BEGIN CERTIFICATE-----"* ]]
	refused_on_tty cert get io-ca --format der
}

@test "key encrypt and decrypt: stdout by default, not a terminal" {
	piped ct sk key encrypt a1 --in data
	piped pt sk key decrypt a1 --in ct
	cmp pt data
	refused_on_tty key encrypt a1 --in data
	refused_on_tty key decrypt a1 --in ct
}

@test "payload, stp and opaque-key make: the package to stdout, not a terminal" {
	piped p.pkg sk payload make --sign-key oem.pem --in data
	run -0 sk payload verify --pubkey oem.pub p.pkg --out got
	cmp got data
	piped s.stp sk stp make --sign-key oem.pem --seq 2 --command delete-ca --name y
	run -0 sk stp show s.stp
	piped k.okp sk opaque-key make --name k2 --type aes-256 --key aes.key --sign-key oem.pem --device-pub dev.pub
	run -0 sk opaque-key show k.okp
	refused_on_tty payload make --sign-key oem.pem --in data
	refused_on_tty stp make --sign-key oem.pem --seq 2 --command delete-ca --name y
	refused_on_tty opaque-key make --name k2 --type aes-256 --key aes.key --sign-key oem.pem --device-pub dev.pub
}

@test "oo open: the plaintext to stdout by default, never to a terminal" {
	piped got sk oo open --id data.oid --in data.enc
	cmp got data
	refused_on_tty oo open --id data.oid --in data.enc
}

@test "'-' is stdin for package files: oo show, stp show, opaque-key show, payload show/verify, oo open" {
	run -0 sk oo show - < data.oid
	[[ "$output" == "type:       ooid"* ]]
	run -0 sk oo show - < data.enc
	[[ "$output" == "type:       opaque-object"* ]]
	run -0 sk stp show - < x.stp
	run -0 sk opaque-key show - < k1.okp
	run -0 sk payload show - < data.pkg
	run -0 sk payload verify --pubkey oem.pub - < data.pkg
	run -0 sk oo open --id - --in data.enc --out got < data.oid
	cmp got data
	run -0 sk oo open --id data.oid --in - --out got2 < data.enc
	cmp got2 data
}

@test "'-' is stdin for keys, signatures, certificates and requests" {
	run -0 sk key verify --pubkey - --in data --sig data.sig < s1.pub
	run -0 sk key verify s1 --in data --sig - < data.sig
	run -0 sk key verify s1 --in - --sig data.sig < data
	run -0 sk key derive s1 --peer - --out z < peer.pub
	run -0 sk cert issue --ca-cert - --ca-key oem.pem --csr s1.csr --days 10 --out c1.pem < ca.pem
	run -0 sk cert issue --ca-cert ca.pem --ca-key - --csr s1.csr --days 10 --out c2.pem < oem.pem
	run -0 sk cert issue --ca-cert ca.pem --ca-key oem.pem --csr - --days 10 --out c3.pem < s1.csr
	run -0 sk payload make --sign-key - --in data --out p.pkg < oem.pem
	run -0 sk stp make --sign-key oem.pem --seq 2 --command add-ca --name y --cert - --out y.stp < ca.pem
	run -0 sk opaque-key make --name k2 --type aes-256 --key - --sign-key oem.pem --device-pub dev.pub --out k2.okp < aes.key
	run -0 sk oo id --info - --sign-key oem.pem --device-pub dev.pub --out d2.oid < data.oocfg
}

@test "stp make --device -: the device's public key from stdin" {
	run -0 sk stp make --sign-key oem.pem --seq 2 --command delete-ca --name y --device - --out d.stp < dev.pub
	run -0 sk stp make --sign-key oem.pem --seq 2 --command delete-ca --name y --device dev.pub --out f.stp
	run -0 sk stp show d.stp
	dline=$(grep -i device <<< "$output")
	run -0 sk stp show f.stp
	[ "$dline" = "$(grep -i device <<< "$output")" ]
}

@test "two FILEs that are both '-' are a usage error (2), nothing read or written" {
	sk_fails 2 "key verify: --pubkey and --in both read standard input" \
		key verify --pubkey - --in - --sig data.sig < s1.pub
	sk_fails 2 "key verify: " key verify s1 --in - --sig - < data
	sk_fails 2 "payload verify: --pubkey and the argument '-' both read standard input" \
		payload verify --pubkey - - < data.pkg
	sk_fails 2 "oo open: --id and --in both read standard input" \
		oo open --id - --in - --out got < data.oid
	assert_absent got
	sk_fails 2 "cert issue: " cert issue --ca-cert - --ca-key - --csr s1.csr --days 1 --out c.pem < ca.pem
	assert_absent c.pem
	# an output '-' is stdout, not a second stdin
	run -0 sk payload verify --pubkey oem.pub --in - --out - < data.pkg
	[ "$output" = "some data" ]
}

@test "key mac, digest and random: hex on stdout, the binary form of --out - never to a terminal" {
	on_tty key digest --in data
	[ "$status" -eq 0 ]
	[ "${output%$'\r'}" = "$(openssl dgst -sha256 -r data | cut -d' ' -f1)" ]
	refused_on_tty key digest --in data --out -
	refused_on_tty key random 16 --out -
	sk key create h1 --type hmac-sha256 >/dev/null
	refused_on_tty key mac h1 --in data --out -
	piped r sk key random 16 --out -
	[ "$(wc -c < r)" -eq 16 ]
}
