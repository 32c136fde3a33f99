#!/usr/bin/env bats
# seckit cert ca create, cert show, cert import and validity as durations:
# a PKI (root -> intermediate -> device) without openssl, cross-checked
# with openssl verify / x509.

load helper
load trust

# A field of a JSON document as jq -r (strings bare) / jq -c (the rest)
# would print it: jfield DOC FIELD ("." for the whole document).
jfield() {
	python3 -c 'import json, sys
d = json.loads(sys.argv[1])
v = d if sys.argv[2] == "." else d[sys.argv[2]]
print(v if isinstance(v, str) else json.dumps(v, separators=(",", ":")))' "$1" "$2"
}

# root (store key, EC) -> inter (store key, RSA) -> device certificate.
mk_chain() {
	sk key create root --type ec-p256 &&
		sk key create inter --type rsa-2048 &&
		sk key create device --type ec-p256 &&
		sk cert ca create --subject "/CN=Acme Root/O=Acme" --key root --not-after 10y --out root.pem &&
		sk cert ca create --subject /CN=Acme-Inter --key inter --issuer-cert root.pem --issuer-key-name root \
			--path-len 1 --not-after 5y --out inter.pem &&
		sk cert csr --key device --subject /CN=dev1 --san DNS:dev1.example,IP:10.0.0.5 --out dev.csr &&
		sk key create issuer --type ec-p256 --exportable &&
		sk key export issuer --private --no-encrypt --out issuer.key
}

@test "cert ca create: root and intermediate from store keys; openssl verifies the chain and sees the CA extensions" {
	mk_chain
	# An issuing CA with a key file under the store-key intermediate.
	run -0 sk cert ca create --subject /CN=Issuing --key-file issuer.key --issuer-cert inter.pem \
		--issuer-key-name inter --not-after 2y --out issuing.pem
	run -0 sk cert issue --csr dev.csr --ca-cert issuing.pem --ca-key issuer.key --not-after 90d --out dev.pem
	cat inter.pem issuing.pem > untrusted.pem
	run -0 openssl verify -CAfile root.pem -untrusted untrusted.pem dev.pem
	[ "$output" = "dev.pem: OK" ]
	run -0 openssl verify -CAfile root.pem inter.pem
	# An intermediate's default path length is 0: end entities only.
	run -0 openssl x509 -in issuing.pem -noout -ext basicConstraints
	[[ "$output" == *"CA:TRUE, pathlen:0"* ]]
	run -0 openssl x509 -in root.pem -noout -text
	[[ "$output" == *"X509v3 Basic Constraints: critical"$'\n'"                CA:TRUE"$'\n'* ]]
	[[ "$output" == *"X509v3 Key Usage: critical"$'\n'"                Certificate Sign, CRL Sign"* ]]
	[[ "$output" == *"X509v3 Subject Key Identifier"* ]]
	[[ "$output" == *"ecdsa-with-SHA256"* ]]
	run -0 openssl x509 -in root.pem -noout -subject -issuer -nameopt rfc2253
	[ "${lines[0]}" = "subject=O=Acme,CN=Acme Root" ]
	[ "${lines[1]}" = "issuer=O=Acme,CN=Acme Root" ]
	run -0 openssl x509 -in inter.pem -noout -text
	[[ "$output" == *"CA:TRUE, pathlen:1"* ]]
	[[ "$output" == *"Certificate Sign, CRL Sign"* ]]
	[[ "$output" == *"ecdsa-with-SHA256"* ]]
	# The intermediate's authority key id is the root's subject key id.
	root_ski=$(openssl x509 -in root.pem -noout -ext subjectKeyIdentifier | tail -1 | tr -d ' ')
	inter_aki=$(openssl x509 -in inter.pem -noout -ext authorityKeyIdentifier | tail -1 | tr -d ' ')
	[ -n "$root_ski" ]
	[ "$inter_aki" = "$root_ski" ]
	# The certified key is the store key's.
	sk key export inter --out inter.pub
	openssl x509 -in inter.pem -noout -pubkey | cmp - inter.pub
}

@test "cert ca create: key files, path length, DER, serial, stdout; an intermediate under pathlen 0 is refused" {
	mk_key rootf
	run -0 sk cert ca create --subject /CN=F --key-file rootf.key --path-len 1 --serial 0A1B --days 30 \
		--digest sha384 --format der --out f.der
	run -0 openssl x509 -inform der -in f.der -noout -text
	[[ "$output" == *"CA:TRUE, pathlen:1"* ]]
	[[ "$output" == *"ecdsa-with-SHA384"* ]]
	run -0 openssl x509 -inform der -in f.der -noout -serial
	[ "$output" = "serial=0A1B" ]
	openssl x509 -inform der -in f.der -out f.pem
	# stdout is the default output.
	mk_key sub
	sk cert ca create --subject /CN=Sub --key-file sub.key --issuer-cert f.pem --issuer-key rootf.key > sub.pem
	run -0 openssl verify -CAfile f.pem sub.pem
	mk_key leafca
	sk_fails 7 "cert ca create: the issuer's path length is 0" \
		cert ca create --subject /CN=L --key-file leafca.key --issuer-cert sub.pem --issuer-key sub.key --out l.pem
	assert_absent l.pem
	sk_fails 2 "cert ca create: a path length of 1 is not below the issuer's (1)" \
		cert ca create --subject /CN=L --key-file leafca.key --issuer-cert f.pem --issuer-key rootf.key --path-len 1 --out l.pem
	assert_absent l.pem
}

@test "cert ca create: wrong, missing and corrupt input fails with the right code, one line, nothing written" {
	mk_chain
	mk_key stranger
	sk_fails 2 "cert ca create: " cert ca create --subject /CN=x --out x.pem
	sk_fails 2 "cert ca create: " cert ca create --subject /CN=x --key root --key-file stranger.key --out x.pem
	sk_fails 2 "cert ca create: " cert ca create --key root --out x.pem
	sk_fails 2 "cert ca create: " cert ca create --subject CN=x --key root --out x.pem
	sk_fails 2 "cert ca create: " cert ca create --subject /CN=x --key root --issuer-key-name root --out x.pem
	sk_fails 2 "cert ca create: " cert ca create --subject /CN=x --key inter --issuer-cert root.pem --out x.pem
	sk_fails 2 "cert ca create: " cert ca create --subject /CN=x --key root --days 0 --out x.pem
	sk_fails 2 "cert ca create: " cert ca create --subject /CN=x --key root --days 30 --not-after 1y --out x.pem
	sk_fails 8 "cert ca create: " cert ca create --subject /CN=x --key nosuch --out x.pem
	sk_fails 1 "cert ca create: " cert ca create --subject /CN=x --key-file nosuch.key --out x.pem
	# The issuer's key is not the issuer certificate's.
	sk_fails 7 "cert ca create: the CA key does not belong to the issuer certificate" \
		cert ca create --subject /CN=x --key device --issuer-cert root.pem --issuer-key stranger.key --out x.pem
	sk_fails 7 "cert ca create: " \
		cert ca create --subject /CN=x --key device --issuer-cert root.pem --issuer-key-name inter --out x.pem
	# A device certificate cannot issue a CA.
	openssl req -x509 -new -key stranger.key -subj /CN=leaf -addext basicConstraints=CA:FALSE -out leaf.pem
	sk_fails 7 "cert ca create: the issuer certificate is not a CA" \
		cert ca create --subject /CN=x --key device --issuer-cert leaf.pem --issuer-key stranger.key --out x.pem
	# Corrupt issuer certificate, a key file that is no key, an AES key.
	head -c 300 root.pem > cut.pem
	sk_fails 7 "cert ca create: " cert ca create --subject /CN=x --key device --issuer-cert cut.pem --issuer-key-name root --out x.pem
	sk_fails 1 "cert ca create: reading key 'root.pem': not a private key" \
		cert ca create --subject /CN=x --key-file root.pem --out x.pem
	sk key create sym --type aes-256
	sk_fails 6 "cert ca create: " cert ca create --subject /CN=x --key sym --out x.pem
	assert_absent x.pem
}

@test "validity: durations, absolute times and openssl's form, checked with openssl x509 -enddate" {
	mk_chain
	sk cert ca create --subject /CN=FileCA --key-file issuer.key --not-after 50y --out fca.pem
	now=$(date -u +%s)
	run -0 sk cert issue --csr dev.csr --ca-cert fca.pem --ca-key issuer.key --not-after 90d --out d90.pem
	end=$(date -u -d "$(openssl x509 -in d90.pem -noout -enddate | cut -d= -f2)" +%s)
	[ $((end - now)) -ge $((90 * 86400)) ]
	[ $((end - now)) -le $((90 * 86400 + 60)) ]
	run -0 sk cert issue --csr dev.csr --ca-cert fca.pem --ca-key issuer.key --not-after 1y12h --out dy.pem
	end=$(date -u -d "$(openssl x509 -in dy.pem -noout -enddate | cut -d= -f2)" +%s)
	[ $((end - now)) -ge $((365 * 86400 + 43200)) ]
	[ $((end - now)) -le $((365 * 86400 + 43260)) ]
	run -0 sk cert issue --csr dev.csr --ca-cert fca.pem --ca-key issuer.key \
		--not-before 2027-01-01 --not-after 20270301120000Z --out abs.pem
	run -0 openssl x509 -in abs.pem -noout -startdate -enddate
	[ "${lines[0]}" = "notBefore=Jan  1 00:00:00 2027 GMT" ]
	[ "${lines[1]}" = "notAfter=Mar  1 12:00:00 2027 GMT" ]
	# After 2049: GeneralizedTime, as RFC 5280 asks.
	run -0 sk cert ca create --subject /CN=Long --key root --not-after 2060-06-01T00:00:00Z --out long.pem
	run -0 openssl x509 -in long.pem -noout -enddate
	[ "$output" = "notAfter=Jun  1 00:00:00 2060 GMT" ]
	# --days alone still works.
	run -0 sk cert issue --csr dev.csr --ca-cert fca.pem --ca-key issuer.key --days 2 --out d2.pem
	end=$(date -u -d "$(openssl x509 -in d2.pem -noout -enddate | cut -d= -f2)" +%s)
	[ $((end - now)) -le $((2 * 86400 + 60)) ]
}

@test "validity: garbage, negative, overflowing and backwards times are usage errors (2), nothing written" {
	mk_chain
	sk cert ca create --subject /CN=FileCA --key-file issuer.key --out fca.pem
	for t in 90 d 90x -1d +1d 1.5d 90D 9999999999999999999d 99999999y "" 1d- 20270301120000 \
		2027-13-01 20271301120000Z 10000y; do
		sk_fails 2 "cert issue: --not-after" \
			cert issue --csr dev.csr --ca-cert fca.pem --ca-key issuer.key --not-after "$t" --out x.pem
	done
	sk_fails 2 "cert issue: the validity ends" \
		cert issue --csr dev.csr --ca-cert fca.pem --ca-key issuer.key --not-before 2030-01-01 --not-after 2029-01-01 --out x.pem
	sk_fails 2 "cert ca create: the validity ends" \
		cert ca create --subject /CN=x --key root --not-after 0s --out x.pem
	assert_absent x.pem
	# Other TIME options take durations too: verify "in 20 years" fails on dates.
	sk cert import root root.pem
	run -0 sk cert verify inter.pem
	sk_fails 7 "cert verify: " cert verify inter.pem --at 20y
}

@test "cert show: the fields openssl x509 prints, as text and --json, from a file, stdin or the store" {
	mk_chain
	# cert issue takes a CA key file: a CA over the exported key issues.
	sk cert ca create --subject /CN=FileCA --key-file issuer.key --out fca.pem
	sk cert issue --csr dev.csr --ca-cert fca.pem --ca-key issuer.key --profile server --out dev.pem
	run -0 sk cert show dev.pem
	[[ "$output" == *"Subject:          CN=dev1"* ]]
	[[ "$output" == *"Issuer:           CN=FileCA"* ]]
	[[ "$output" == *"Key:              ec-p256 (256 bits)"* ]]
	[[ "$output" == *"CA:               no"* ]]
	[[ "$output" == *"Key usage:        digital_signature, key_agreement"* ]]
	[[ "$output" == *"Ext. key usage:   server_auth"* ]]
	[[ "$output" == *"Alt. names:       DNS:dev1.example, IP:10.0.0.5"* ]]
	serial=$(openssl x509 -in dev.pem -noout -serial | cut -d= -f2)
	[[ "$output" == *"Serial:           $serial"* ]]
	fp=$(openssl x509 -in dev.pem -noout -fingerprint -sha256 | cut -d= -f2 | tr -d : | tr A-F a-f)
	[[ "$output" == *"SHA-256:          $fp"* ]]
	ski=$(openssl x509 -in dev.pem -noout -ext subjectKeyIdentifier | tail -1 | tr -d ' ')
	[[ "$output" == *"Subject key id:   $ski"* ]]
	# --json: machine values, one document, cross-checked field by field.
	run -0 sk --json cert show - < inter.pem
	doc=$output
	[ "$(jfield "$doc" ok)" = true ]
	[ "$(jfield "$doc" subject)" = "CN=Acme-Inter" ]
	[ "$(jfield "$doc" issuer)" = "CN=Acme Root,O=Acme" ]
	[ "$(jfield "$doc" serial)" = "$(openssl x509 -in inter.pem -noout -serial | cut -d= -f2)" ]
	[ "$(jfield "$doc" key_type)" = rsa-2048 ]
	[ "$(jfield "$doc" key_bits)" = 2048 ]
	[ "$(jfield "$doc" ca)" = true ]
	[ "$(jfield "$doc" path_len)" = 1 ]
	[ "$(jfield "$doc" key_usage)" = '["key_cert_sign","crl_sign"]' ]
	[ "$(jfield "$doc" san)" = '[]' ]
	[ "$(jfield "$doc" signature_algorithm)" = ecdsa-with-SHA256 ]
	end=$(date -u -d "$(openssl x509 -in inter.pem -noout -enddate | cut -d= -f2)" +%Y-%m-%dT%H:%M:%SZ)
	[ "$(jfield "$doc" not_after)" = "$end" ]
	fp=$(openssl x509 -in inter.pem -noout -fingerprint -sha256 | cut -d= -f2 | tr -d : | tr A-F a-f)
	[ "$(jfield "$doc" fingerprint)" = "$fp" ]
	aki=$(openssl x509 -in inter.pem -noout -ext authorityKeyIdentifier | tail -1 | tr -d ' :' | tr A-F a-f)
	[ "$(jfield "$doc" authority_key_id)" = "$aki" ]
	# A root: no path length, self-signed; DER input.
	openssl x509 -in root.pem -outform der -out root.der
	run -0 sk --json cert show root.der
	[ "$(jfield "$output" path_len)" = null ]
	[ "$(jfield "$output" self_signed)" = true ]
	# A stored certificate, by name.
	sk cert import root root.pem
	run -0 sk --json cert show root
	[ "$(jfield "$output" name)" = root ]
	[ "$(jfield "$output" subject)" = "CN=Acme Root,O=Acme" ]
}

@test "cert show: hostile input fails with the right code and one line" {
	mk_chain
	sk_fails 8 "cert show: " cert show nosuch
	sk_fails 1 "cert show: " cert show ./nosuch.pem
	sk_fails 7 "cert show: " cert show /etc/passwd
	head -c 200 root.pem > cut.pem
	sk_fails 7 "cert show: " cert show cut.pem
	head -c 300000 /dev/zero > big.pem
	sk_fails 1 "cert show: reading 'big.pem': file too large" cert show big.pem
	sk_fails 7 "cert show: " cert show - < /dev/null
	sk_fails 2 "cert show: " cert show
	sk_fails 2 "cert show: " cert show a b
}

@test "cert import: the device certificate, replaced with --force, also in a locked store" {
	mk_chain
	sk cert ca create --subject /CN=FileCA --key-file issuer.key --out fca.pem
	sk cert issue --csr dev.csr --ca-cert fca.pem --ca-key issuer.key --out dev.pem
	sk cert issue --csr dev.csr --ca-cert fca.pem --ca-key issuer.key --out dev2.pem
	run -0 sk cert import device dev.pem
	[ "$output" = "device: imported certificate of key 'device'" ]
	sk cert get device --out got.pem
	cmp got.pem dev.pem
	# The same again: no change, exit 0.
	run -0 sk cert import device dev.pem
	[ "$output" = "device: unchanged, certificate of key 'device'" ]
	# Another one: exists (9) without --force.
	sk_fails 9 "cert import: certificate 'device' already exists (--force replaces it)" cert import device dev2.pem
	sk cert get device --out got.pem
	cmp got.pem dev.pem
	# Lock the store: the device certificate is no trust anchor change.
	echo 'version: 1' > m.yaml
	sk provision m.yaml
	openssl x509 -in dev2.pem -outform der -out dev2.der
	run -0 sk --json cert import device - --force < dev2.der
	[ "$(jfield "$output" .)" = '{"ok":true,"name":"device","kind":"provisioned","key":"device","chain":0,"changed":true}' ]
	sk cert get device --out got.pem
	cmp got.pem dev2.pem
	# A certificate for another private key of the store, under a new name.
	sk cert csr --key inter --subject /CN=i --out i.csr
	sk cert issue --csr i.csr --ca-cert fca.pem --ca-key issuer.key --out i.pem
	run -0 sk cert import inter-cert i.pem
	[ "$output" = "inter-cert: imported certificate of key 'inter'" ]
}

@test "cert import: a CA is a trust change: allowed before the lock, refused after it (7, use an STP)" {
	mk_chain
	run -0 sk cert import acme-root root.pem
	[ "$output" = "acme-root: imported CA certificate" ]
	run -0 sk cert list --ca --names
	[ "$output" = "acme-root" ]
	run -0 sk cert verify inter.pem
	sk_fails 9 "cert import: " cert import acme-root inter.pem
	run -0 sk cert import acme-root inter.pem --force
	echo 'version: 1' > m.yaml
	sk provision m.yaml
	before=$(store_snapshot)
	sk_fails 7 "cert import: refused by policy: 'other-root' is a CA certificate, a trust change, and the store is locked" \
		cert import other-root root.pem
	sk_fails 7 "cert import: refused by policy: " cert import acme-root root.pem --force
	[ "$(store_snapshot)" = "$before" ]
}

@test "cert import: hostile input: not a certificate, no key of the store, expired, oversized, chains, bad names" {
	mk_chain
	sk cert ca create --subject /CN=FileCA --key-file issuer.key --out fca.pem
	mk_key stranger
	openssl req -new -key stranger.key -subj /CN=s -out s.csr
	sk cert issue --csr s.csr --ca-cert fca.pem --ca-key issuer.key --out s.pem
	before=$(store_snapshot)
	sk_fails 7 "cert import: the certificate for 's' certifies no private key of the store" cert import s s.pem
	# The device certificate's name with another key's certificate.
	sk_fails 7 "cert import: " cert import device s.pem
	sk_fails 7 "cert import: " cert import x /etc/passwd
	sk_fails 1 "cert import: " cert import x nosuch.pem
	head -c 300 fca.pem > cut.pem
	sk_fails 7 "cert import: " cert import x cut.pem
	{ cat fca.pem; head -c 300000 /dev/zero | tr '\0' 'A'; } > big.pem
	sk_fails 1 "cert import: reading 'big.pem': file too large" cert import x big.pem
	cat root.pem inter.pem > chain.pem
	sk_fails 7 "cert import: the first of the file's 2 certificates is a CA" cert import x chain.pem
	sk_fails 2 "cert import: 'bad/name' is not a valid certificate name" cert import bad/name root.pem
	sk_fails 2 "cert import: " cert import onlyname
	# Expired.
	sk cert issue --csr dev.csr --ca-cert fca.pem --ca-key issuer.key --not-before 2020-01-01 \
		--not-after 2021-01-01 --out old.pem
	sk_fails 7 "cert import: the certificate for 'device' expired on 2021-01-01T00:00:00Z" cert import device old.pem
	[ "$(store_snapshot)" = "$before" ]
}

# root -> inter -> issuing (key file) -> device: the chain files.
mk_device_chain() {
	mk_chain &&
		sk cert ca create --subject /CN=Issuing --key-file issuer.key --issuer-cert inter.pem \
			--issuer-key-name inter --out issuing.pem &&
		sk cert issue --csr dev.csr --ca-cert issuing.pem --ca-key issuer.key --out dev.pem &&
		cat dev.pem issuing.pem inter.pem > full.pem
}

@test "cert import: a device certificate with its chain verifies against the root alone; cert get returns both" {
	mk_device_chain
	sk cert import root root.pem
	# Without its intermediates the device certificate does not verify.
	sk_fails 7 "cert verify: " cert verify dev.pem
	run -0 sk cert import device full.pem
	[ "$output" = "device: imported certificate of key 'device', with a chain of 2" ]
	run -0 sk cert verify device
	[ "$output" = "device: OK" ]
	run -0 sk --json cert verify device
	[ "$(jfield "$output" verified)" = true ]
	[ "$(jfield "$output" chain | grep -o '"subject"' | wc -l)" = 4 ]
	# The intermediates are no anchors.
	run -0 sk cert list --ca --names
	[ "$output" = root ]
	# cert get: the certificate, then its chain, as openssl reads them.
	sk cert get device --out got.pem
	cmp got.pem full.pem
	awk '/BEGIN CERT/ { n++ } n == 1' got.pem > leaf.pem
	awk '/BEGIN CERT/ { n++ } n > 1' got.pem > untrusted.pem
	cmp leaf.pem dev.pem
	run -0 openssl verify -CAfile root.pem -untrusted untrusted.pem leaf.pem
	[ "$output" = "leaf.pem: OK" ]
	sk cert get device --format der --out got.der
	openssl x509 -in dev.pem -outform der | cmp - got.der
	# The same again: unchanged; --json counts the chain.
	run -0 sk --json cert import device full.pem
	[ "$(jfield "$output" .)" = '{"ok":true,"name":"device","kind":"provisioned","key":"device","chain":2,"changed":false}' ]
	# A locked store takes the device's own chain (no trust change), from stdin.
	echo 'version: 1' > m.yaml
	sk provision m.yaml
	cat dev.pem issuing.pem > short.pem
	run -0 sk --json cert import device - --force < short.pem
	[ "$(jfield "$output" .)" = '{"ok":true,"name":"device","kind":"provisioned","key":"device","chain":1,"changed":true}' ]
	sk cert get device --out got.pem
	cmp got.pem short.pem
	# issuing alone does not lead to the root.
	sk_fails 7 "cert verify: " cert verify device
	# Replaced without a chain: the chain goes with the old certificate.
	run -0 sk cert import device dev.pem --force
	[ "$output" = "device: imported certificate of key 'device'" ]
	sk cert get device --out got.pem
	cmp got.pem dev.pem
}

@test "cert import: an intermediate of a stored chain is no anchor" {
	mk_device_chain
	# Only the chain is in the store, the root is not.
	run -0 sk cert import device full.pem
	run -0 sk cert list --names
	[ "$output" = device ]
	sk_fails 7 "cert verify: " cert verify device
	# A certificate that the stored intermediate issued does not verify.
	sk key create other --type ec-p256
	sk cert csr --key other --subject /CN=other --out other.csr
	sk cert issue --csr other.csr --ca-cert issuing.pem --ca-key issuer.key --out other.pem
	sk_fails 7 "cert verify: " cert verify other.pem
	sk_fails 7 "cert verify: " cert verify other.pem --chain issuing.pem
	# With the root as the one anchor it does.
	sk cert import root root.pem
	run -0 sk cert verify other.pem --chain full.pem
}

@test "cert import: a chain in the wrong order, with a non-CA or a foreign certificate: 7, nothing written" {
	mk_device_chain
	mk_key stranger
	sk cert ca create --subject /CN=FileCA --key-file stranger.key --out fca.pem
	# A CA issued by nothing of the chain, with the intermediate's name.
	sk cert ca create --subject /CN=Issuing --key-file stranger.key --out fake.pem
	# A non-CA certificate that issued the device certificate.
	openssl req -x509 -new -key stranger.key -subj /CN=leaf -addext basicConstraints=CA:FALSE -out nonca.pem
	openssl x509 -req -in dev.csr -CA nonca.pem -CAkey stranger.key -CAcreateserial -days 2 -out devn.pem 2> /dev/null
	before=$(store_snapshot)
	cat dev.pem inter.pem issuing.pem > wrong.pem
	sk_fails 7 "cert import: certificate 1 of the file is not issued by certificate 2 ('CN=Acme-Inter')" \
		cert import device wrong.pem
	cat issuing.pem dev.pem > ca-first.pem
	sk_fails 7 "cert import: the first of the file's 2 certificates is a CA" cert import device ca-first.pem
	cat dev.pem fca.pem > foreign.pem
	sk_fails 7 "cert import: certificate 1 of the file is not issued by certificate 2" cert import device foreign.pem
	cat dev.pem fake.pem > fake-chain.pem
	sk_fails 7 "cert import: certificate 1 of the file is not issued by certificate 2 ('CN=Issuing')" \
		cert import device fake-chain.pem
	cat dev.pem issuing.pem fca.pem > foreign2.pem
	sk_fails 7 "cert import: certificate 2 of the file is not issued by certificate 3" cert import device foreign2.pem
	cat devn.pem nonca.pem > nonca-chain.pem
	sk_fails 7 "cert import: certificate 2 of the file ('CN=leaf') is not a CA" cert import device nonca-chain.pem
	[ "$(store_snapshot)" = "$before" ]
}

@test "cert issue --key: the CA's key in the store signs in the backend; openssl verifies" {
	mk_chain
	run -0 sk cert issue --csr dev.csr --ca-cert inter.pem --key inter --not-after 30d --out dev.pem
	run -0 openssl verify -CAfile root.pem -untrusted inter.pem dev.pem
	run -0 openssl x509 -in dev.pem -noout -text
	[[ "$output" == *"sha256WithRSAEncryption"* ]]
	[[ "$output" == *"DNS:dev1.example, IP Address:10.0.0.5"* ]]
	sk_fails 7 "cert issue: the CA key does not belong to the CA certificate" \
		cert issue --csr dev.csr --ca-cert inter.pem --key root --out x.pem
	sk_fails 2 "cert issue: give the CA's key" cert issue --csr dev.csr --ca-cert inter.pem --out x.pem
	sk_fails 2 "cert issue: give the CA's key" \
		cert issue --csr dev.csr --ca-cert inter.pem --key inter --ca-key issuer.key --out x.pem
	sk_fails 2 "cert issue: --ca-pass opens a --ca-key file" \
		cert issue --csr dev.csr --ca-cert inter.pem --key inter --ca-pass pass:x --out x.pem
	sk_fails 6 "cert issue: " cert issue --csr dev.csr --ca-cert inter.pem --key inter --pss --out x.pem
	sk_fails 8 "cert issue: " cert issue --csr dev.csr --ca-cert inter.pem --key nosuch --out x.pem
	assert_absent x.pem
}

@test "cert issue --key NAME --pass: a CA key with a password object; the wrong secret is 5, --pass without --key 2" {
	mk_chain
	sk key password create capw --pass pass:s3cret
	sk key create pwca --type ec-p256 --password-object capw --pass pass:s3cret
	sk cert ca create --subject /CN=PwCA --key pwca --pass pass:s3cret --out pwca.pem
	run -0 sk cert issue --csr dev.csr --ca-cert pwca.pem --key pwca --pass pass:s3cret --out dev.pem
	run -0 openssl verify -CAfile pwca.pem dev.pem
	sk_fails 5 "cert issue: " cert issue --csr dev.csr --ca-cert pwca.pem --key pwca --pass pass:wrong --out x.pem
	sk_fails 2 "cert issue: --pass is a store key's password" \
		cert issue --csr dev.csr --ca-cert pwca.pem --ca-key issuer.key --pass pass:s3cret --out x.pem
	# The unreleased spelling is gone.
	sk_fails 2 "cert issue: " cert issue --csr dev.csr --ca-cert pwca.pem --ca-key-name pwca --out x.pem
	assert_absent x.pem
}

@test "cert ca create --new-key: root -> intermediate -> device, keys in new encrypted files; openssl verifies" {
	sk key create device --type ec-p256
	sk cert csr --key device --subject /CN=dev1 --out dev.csr
	run -0 sk cert ca create --subject /CN=NewRoot --new-key root.key --out-pass pass:rootpw \
		--not-after 10y --out root.pem
	[ "$(stat -c %a root.key)" = 600 ]
	run -0 head -1 root.key
	[ "$output" = "-----BEGIN ENCRYPTED PRIVATE KEY-----" ]
	# The key file holds the certificate's key (openssl opens it with the passphrase).
	openssl pkey -in root.key -passin pass:rootpw -pubout -out root-key.pub
	openssl x509 -in root.pem -noout -pubkey > root-cert.pub
	cmp root-key.pub root-cert.pub
	run -0 openssl pkey -in root.key -passin pass:rootpw -noout -text
	[[ "$output" == *"ASN1 OID: prime256v1"* ]]
	# The intermediate: a new RSA key, signed with the root's key file.
	export INTERPW=inter-secret
	run -0 sk cert ca create --subject /CN=NewInter --new-key inter.key --type rsa-2048 \
		--out-pass env:INTERPW --issuer-cert root.pem --issuer-key root.key --issuer-pass pass:rootpw \
		--not-after 5y --out inter.pem < /dev/null
	run -0 openssl x509 -in inter.pem -noout -issuer -ext basicConstraints
	[[ "$output" == *"issuer=CN = NewRoot"* ]]
	[[ "$output" == *"CA:TRUE, pathlen:0"* ]]
	openssl pkey -in inter.key -passin pass:"$INTERPW" -pubout -out inter-key.pub
	openssl x509 -in inter.pem -noout -pubkey > inter-cert.pub
	cmp inter-key.pub inter-cert.pub
	# The device certificate from the intermediate's key file.
	run -0 sk cert issue --csr dev.csr --ca-cert inter.pem --ca-key inter.key --ca-pass env:INTERPW \
		--not-after 90d --out dev.pem
	run -0 openssl verify -CAfile root.pem -untrusted inter.pem dev.pem
	[ "$output" = "dev.pem: OK" ]
	# An intermediate under a store-key root, --issuer-pass opening its password object.
	sk key password create rootpw --pass pass:objpw
	sk key create sroot --type ec-p384 --password-object rootpw --pass pass:objpw
	sk cert ca create --subject /CN=StoreRoot --key sroot --pass pass:objpw --out sroot.pem
	run -0 sk cert ca create --subject /CN=FileInter --new-key finter.key --no-encrypt \
		--issuer-cert sroot.pem --issuer-key-name sroot --issuer-pass pass:objpw --out finter.pem
	run -0 head -1 finter.key
	[ "$output" = "-----BEGIN PRIVATE KEY-----" ]
	run -0 openssl verify -CAfile sroot.pem finter.pem
	sk_fails 5 "cert ca create: " cert ca create --subject /CN=x --new-key x.key --no-encrypt \
		--issuer-cert sroot.pem --issuer-key-name sroot --issuer-pass pass:wrong --out x.pem
	assert_absent x.key
	assert_absent x.pem
}

@test "cert ca create --new-key --type: every signing key type of key create; certificate to stdout" {
	for t in ec-p256 ec-p384 ec-p521 rsa-2048 rsa-3072 rsa-4096; do
		sk cert ca create --subject "/CN=$t" --new-key "$t.key" --type "$t" --no-encrypt > "$t.pem"
		openssl pkey -in "$t.key" -pubout -out "$t.kpub"
		openssl x509 -in "$t.pem" -noout -pubkey > "$t.cpub"
		cmp "$t.kpub" "$t.cpub"
		run -0 sk --json cert show "$t.pem"
		[[ "$output" == *"\"key_type\":\"$t\""* ]]
	done
}

@test "cert ca create --new-key: bad input is one line, the right code, and neither file written" {
	mk_chain
	mk_key stranger
	# No encryption asked for, or both; a type that cannot sign; --new-key to stdout.
	sk_fails 2 "cert ca create: a private key is only written encrypted" \
		cert ca create --subject /CN=x --new-key n.key --out x.pem
	sk_fails 2 "cert ca create: --out-pass and --no-encrypt exclude each other" \
		cert ca create --subject /CN=x --new-key n.key --out-pass pass:a --no-encrypt --out x.pem
	for t in aes-256 hmac-sha256; do
		sk_fails 2 "cert ca create: --type $t: a CA key signs" \
			cert ca create --subject /CN=x --new-key n.key --type "$t" --no-encrypt --out x.pem
	done
	sk_fails 2 "cert ca create: " cert ca create --subject /CN=x --new-key n.key --type ec-p999 --no-encrypt --out x.pem
	sk_fails 2 "cert ca create: --new-key: '-'" cert ca create --subject /CN=x --new-key - --no-encrypt --out x.pem
	# One key only; the --new-key options without --new-key.
	sk_fails 2 "cert ca create: give the CA's key" \
		cert ca create --subject /CN=x --new-key n.key --key root --no-encrypt --out x.pem
	sk_fails 2 "cert ca create: give the CA's key" \
		cert ca create --subject /CN=x --new-key n.key --key-file stranger.key --no-encrypt --out x.pem
	sk_fails 2 "cert ca create: --type, --out-pass and --no-encrypt apply to --new-key" \
		cert ca create --subject /CN=x --key root --type ec-p384 --out x.pem
	sk_fails 2 "cert ca create: --type, --out-pass and --no-encrypt apply to --new-key" \
		cert ca create --subject /CN=x --key-file stranger.key --out-pass pass:a --out x.pem
	sk_fails 2 "cert ca create: --pass is a store key's password" \
		cert ca create --subject /CN=x --new-key n.key --no-encrypt --pass pass:a --out x.pem
	assert_absent n.key
	assert_absent x.pem
	# An existing file, a symbolic link to one, a dangling link: 9, untouched.
	echo keep > old.key
	sk_fails 9 "cert ca create: --new-key: 'old.key' already exists" \
		cert ca create --subject /CN=x --new-key old.key --no-encrypt --out x.pem
	[ "$(cat old.key)" = keep ]
	ln -s old.key link.key
	sk_fails 9 "cert ca create: --new-key: 'link.key' already exists as a symbolic link" \
		cert ca create --subject /CN=x --new-key link.key --no-encrypt --out x.pem
	[ "$(cat old.key)" = keep ]
	ln -s nowhere.key dangling.key
	sk_fails 9 "cert ca create: --new-key: 'dangling.key' already exists as a symbolic link" \
		cert ca create --subject /CN=x --new-key dangling.key --no-encrypt --out x.pem
	assert_absent nowhere.key
	assert_absent x.pem
	# The certificate cannot be made (wrong issuer passphrase, wrong issuer
	# key) or written: no key file either.
	openssl pkey -in stranger.key -aes256 -passout pass:right -out enc.key
	openssl req -x509 -new -key stranger.key -subj /CN=S -addext basicConstraints=critical,CA:TRUE \
		-addext keyUsage=critical,keyCertSign -out s.pem
	sk_fails 5 "cert ca create: " cert ca create --subject /CN=x --new-key n.key --no-encrypt \
		--issuer-cert s.pem --issuer-key enc.key --issuer-pass pass:wrong --out x.pem
	sk_fails 7 "cert ca create: the CA key does not belong to the issuer certificate" \
		cert ca create --subject /CN=x --new-key n.key --no-encrypt --issuer-cert s.pem --issuer-key-name root --out x.pem
	sk_fails 1 "cert ca create: " cert ca create --subject /CN=x --new-key n.key --no-encrypt --out nodir/x.pem
	assert_absent n.key
	assert_absent x.pem
	run -0 sk cert ca create --subject /CN=x --new-key n.key --no-encrypt \
		--issuer-cert s.pem --issuer-key enc.key --issuer-pass pass:right --out x.pem
	run -0 openssl verify -CAfile s.pem x.pem
}

@test "cert ca create --issuer-*: missing pair, both keys, an issuer key without the certificate are usage errors" {
	mk_chain
	mk_key stranger
	sk_fails 2 "cert ca create: --issuer-cert needs the issuer's key" \
		cert ca create --subject /CN=x --key device --issuer-cert root.pem --out x.pem
	sk_fails 2 "cert ca create: --issuer-cert needs the issuer's key" \
		cert ca create --subject /CN=x --key device --issuer-cert root.pem --issuer-key stranger.key \
		--issuer-key-name root --out x.pem
	sk_fails 2 "cert ca create: --issuer-key, --issuer-key-name and --issuer-pass sign an intermediate" \
		cert ca create --subject /CN=x --key device --issuer-key stranger.key --out x.pem
	sk_fails 2 "cert ca create: --issuer-key, --issuer-key-name and --issuer-pass sign an intermediate" \
		cert ca create --subject /CN=x --key device --issuer-pass pass:x --out x.pem
	# The unreleased --ca-* spellings of cert ca create are gone.
	sk_fails 2 "cert ca create: " \
		cert ca create --subject /CN=x --key device --ca-cert root.pem --ca-key-name root --out x.pem
	assert_absent x.pem
}

@test "cert import: a chain of more than 60000 bytes is refused (7), one just under is kept" {
	mk_chain
	mk_key bigca
	for n in 58000 61000; do
		pad=$(head -c "$n" /dev/zero | tr '\0' 'a')
		openssl req -x509 -new -key bigca.key -subj "/CN=Big $n" -days 30 \
			-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign \
			-addext "nsComment=$pad" -out "big$n.pem"
		openssl x509 -req -in dev.csr -CA "big$n.pem" -CAkey bigca.key -CAcreateserial -days 2 \
			-out "dev$n.pem" 2> /dev/null
		cat "dev$n.pem" "big$n.pem" > "full$n.pem"
	done
	before=$(store_snapshot)
	sk_fails 7 "cert import: the chain's certificates take " cert import device full61000.pem
	[ "$(store_snapshot)" = "$before" ]
	run -0 sk cert import device full58000.pem
	[ "$output" = "device: imported certificate of key 'device', with a chain of 1" ]
	sk cert get device --out got.pem
	cmp got.pem full58000.pem
}
