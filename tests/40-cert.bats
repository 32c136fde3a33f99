#!/usr/bin/env bats
# seckit cert: CSRs signed through the backend, issuing, the CA store and
# verification, cross-checked with openssl req / x509 / verify.

load helper
load trust

# A store whose CA store holds root (and, with a second argument, more CAs),
# installed the factory way.
provision_cas() {
	{
		echo "version: 1"
		echo "ca:"
		for c in "$@"; do
			printf '  - name: %s\n    file: %s.pem\n' "$c" "$c"
		done
	} > cas.yaml
	sk provision cas.yaml
}

@test "cert csr: a CSR signed by a non-exportable store key verifies with openssl req -verify" {
	run -0 sk key create device --type ec-p256
	run -0 sk cert csr --key device --subject "/CN=dev-0001/O=Acme\/Labs/OU=a+serialNumber=42" \
		--san "DNS:dev-0001.example,IP:10.0.0.5" --out dev.csr
	run -0 openssl req -in dev.csr -noout -verify
	run -0 openssl req -in dev.csr -noout -subject -nameopt rfc2253
	[ "$output" = "subject=serialNumber=42+OU=a,O=Acme/Labs,CN=dev-0001" ]
	run -0 openssl req -in dev.csr -noout -text
	[[ "$output" == *"DNS:dev-0001.example, IP Address:10.0.0.5"* ]]
	[[ "$output" == *"ecdsa-with-SHA256"* ]]
	# The CSR's key is the store key's public key.
	sk key export device --out dev.pub
	openssl req -in dev.csr -noout -pubkey > csr.pub
	cmp dev.pub csr.pub
	# ... whose private part never left the backend.
	run -6 sk key export device --private --no-encrypt --out priv.pem
	assert_absent priv.pem
	# RSA, DER, sha384, and the device-key role as the default key.
	run -0 sk key create rk --type rsa-2048
	run -0 sk cert csr --key rk --subject /CN=r --digest sha384 --format der --out r.der
	run -0 openssl req -inform der -in r.der -noout -verify -text
	[[ "$output" == *"sha384WithRSAEncryption"* ]]
	run -0 sk cert csr --subject /CN=default --out d.csr
	openssl req -in d.csr -noout -pubkey | cmp - dev.pub
}

@test "cert csr: bad input fails with the right code, one error line, nothing written" {
	run -0 sk key create device --type ec-p256
	run -8 --separate-stderr sk cert csr --key nosuch --subject /CN=x --out x.csr
	assert_one_error_line "seckit cert csr: "
	for subj in "CN=x" "/CN=" "/NOSUCHATTR=x" "/CN=x+" "/CN=x\\" "/"; do
		run -2 --separate-stderr sk cert csr --key device --subject "$subj" --out x.csr
		assert_one_error_line "seckit cert csr: "
	done
	run -2 sk cert csr --key device --subject /CN=x --san "BOGUS:x" --out x.csr
	if backend_has symmetric; then
		run -0 sk key create sym --type aes-256
		run -6 --separate-stderr sk cert csr --key sym --subject /CN=x --out x.csr
		assert_one_error_line "seckit cert csr: "
	fi
	run -2 sk cert csr --key device --out x.csr
	run -0 bash -c "'$SECKIT' cert csr --key device --subject /CN=x | openssl req -verify -noout"
	run -2 sk cert csr --key device --subject /CN=x --digest md5 --out x.csr
	assert_absent x.csr
	assert_no_debris .
}

@test "cert issue: a device certificate from a seckit CSR verifies with openssl and has the documented extensions" {
	mk_root oem
	run -0 sk key create device --type ec-p256
	run -0 sk cert csr --subject /CN=dev-7 --san DNS:dev-7.example --out dev.csr
	run -0 sk cert issue --csr dev.csr --ca-cert oem.pem --ca-key oem.key --days 90 --out dev.pem
	run -0 openssl verify -CAfile oem.pem -purpose sslclient dev.pem
	run -0 openssl x509 -in dev.pem -noout -text
	[[ "$output" == *"Version: 3"* ]]
	[[ "$output" == *"CA:FALSE"* ]]
	[[ "$output" == *"Digital Signature, Key Agreement"* ]]
	[[ "$output" == *"TLS Web Client Authentication"* ]]
	[[ "$output" == *"DNS:dev-7.example"* ]]
	[[ "$output" == *"X509v3 Subject Key Identifier"* ]]
	[[ "$output" == *"X509v3 Authority Key Identifier"* ]]
	# 90 days, and a positive random serial of about 127 bits.
	end=$(date -u -d "$(openssl x509 -in dev.pem -noout -enddate | cut -d= -f2)" +%s)
	[ $((end - $(date +%s))) -gt $((89 * 86400)) ]
	[ $((end - $(date +%s))) -le $((90 * 86400)) ]
	serial=$(openssl x509 -in dev.pem -noout -serial | cut -d= -f2)
	[ ${#serial} -eq 32 ]
	# The certificate belongs to the store key.
	openssl x509 -in dev.pem -noout -pubkey > cert.pub
	sk key export device --out dev.pub
	cmp cert.pub dev.pub
}

@test "cert issue: server and ca profiles, --serial, DER, RSA-PSS, and an openssl-made CSR" {
	openssl req -x509 -newkey rsa:2048 -nodes -keyout rca.key -out rca.pem -subj /CN=rsa-ca -days 30 2>/dev/null
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-384 -nodes -keyout s.key -out s.csr -subj /CN=srv 2>/dev/null
	run -0 sk cert issue --csr s.csr --ca-cert rca.pem --ca-key rca.key --profile server --serial 1A2B \
		--pss --digest sha384 --format der --out s.der
	run -0 openssl x509 -inform der -in s.der -noout -text -serial
	[[ "$output" == *"TLS Web Server Authentication"* ]]
	[[ "$output" == *"rsassaPss"* ]]
	[[ "$output" == *"serial=1A2B"* ]]
	openssl x509 -inform der -in s.der -out s.pem
	run -0 openssl verify -CAfile rca.pem -purpose sslserver s.pem
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout i.key -out i.csr -subj /CN=issuing 2>/dev/null
	run -0 sk cert issue --csr i.csr --ca-cert rca.pem --ca-key rca.key --profile ca --out i.pem
	run -0 openssl x509 -in i.pem -noout -text
	[[ "$output" == *"CA:TRUE"* && "$output" == *"Certificate Sign, CRL Sign"* ]]
	# The new CA issues in turn; the chain verifies with openssl.
	run -0 sk cert issue --csr s.csr --ca-cert i.pem --ca-key i.key --out s2.pem
	run -0 openssl verify -CAfile rca.pem -untrusted i.pem s2.pem
}

@test "cert issue: bad input fails with the right code and writes nothing" {
	mk_root oem
	mk_root other
	mk_cert leaf oem leaf
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout d.key -out d.csr -subj /CN=d 2>/dev/null
	# A CSR whose signature does not match its content.
	openssl req -in d.csr -outform der -out d.der
	python3 - <<-'EOF'
	b = bytearray(open("d.der", "rb").read())
	i = b.find(b"\x0c\x01d")  # the CN value "d"
	b[i + 2] ^= 0x01
	open("bad.der", "wb").write(b)
	EOF
	run -7 --separate-stderr sk cert issue --csr bad.der --ca-cert oem.pem --ca-key oem.key --out x.pem
	assert_one_error_line "seckit cert issue: "
	run -7 sk cert issue --csr d.csr --ca-cert oem.pem --ca-key other.key --out x.pem
	run -7 sk cert issue --csr d.csr --ca-cert leaf.pem --ca-key leaf.key --out x.pem
	run -7 sk cert issue --csr oem.pem --ca-cert oem.pem --ca-key oem.key --out x.pem
	run -1 sk cert issue --csr nosuch.csr --ca-cert oem.pem --ca-key oem.key --out x.pem
	for d in 0 -1 x 36526; do
		run -2 sk cert issue --csr d.csr --ca-cert oem.pem --ca-key oem.key --days "$d" --out x.pem
	done
	run -2 sk cert issue --csr d.csr --ca-cert oem.pem --ca-key oem.key --profile web --out x.pem
	run -2 sk cert issue --csr d.csr --ca-cert oem.pem --ca-key oem.key --serial 0 --out x.pem
	run -2 sk cert issue --csr d.csr --ca-cert oem.pem --ca-key oem.key --serial xyz --out x.pem
	run -6 sk cert issue --csr d.csr --ca-cert oem.pem --ca-key oem.key --pss --out x.pem
	openssl pkey -in oem.key -aes256 -passout pass:pw -out enc.key
	run -5 sk cert issue --csr d.csr --ca-cert oem.pem --ca-key enc.key --out x.pem
	run -5 sk cert issue --csr d.csr --ca-cert oem.pem --ca-key enc.key --ca-pass pass:wrong --out x.pem
	assert_absent x.pem
	run -0 sk cert issue --csr d.csr --ca-cert oem.pem --ca-key enc.key --ca-pass pass:pw --out x.pem
	run -0 openssl verify -CAfile oem.pem x.pem
}

@test "cert verify agrees with openssl verify: good, intermediate, expired, not yet valid, wrong issuer, purpose" {
	mk_root root
	mk_root rogue
	mk_cert inter root ca_ext
	mk_cert good inter leaf
	mk_cert direct root leaf
	mk_cert expired inter leaf "$(date_z '-20 days')" "$(date_z '-10 days')"
	mk_cert future inter leaf "$(date_z '+10 days')" "$(date_z '+20 days')"
	mk_cert stranger rogue leaf
	mk_cert oldinter root ca_ext "$(date_z '-20 days')" "$(date_z '-1 day')"
	mk_cert underold oldinter leaf
	run -0 provision_cas root
	check() { # FILE WANT [seckit options] -- [openssl options]
		local f=$1 want=$2 o=0
		shift 2
		local sko=() oso=()
		while [ $# -gt 0 ] && [ "$1" != -- ]; do sko+=("$1"); shift; done
		[ $# -gt 0 ] && shift
		oso=("$@")
		run sk cert verify "$f" "${sko[@]}"
		[ "$status" -eq "$want" ] || { echo "seckit: $f: $status, expected $want: $output" >&2; return 1; }
		openssl verify -CAfile root.pem "${oso[@]}" "$f" >/dev/null 2>&1 || o=7
		[ "$o" -eq "$want" ] || { echo "openssl: $f: $o, expected $want" >&2; return 1; }
	}
	check direct.pem 0
	check good.pem 0 --chain inter.pem -- -untrusted inter.pem
	check good.pem 7
	check expired.pem 7 --chain inter.pem -- -untrusted inter.pem
	check future.pem 7 --chain inter.pem -- -untrusted inter.pem
	check stranger.pem 7 --chain rogue.pem -- -untrusted rogue.pem
	check underold.pem 7 --chain oldinter.pem -- -untrusted oldinter.pem
	check direct.pem 0 --purpose sslclient -- -purpose sslclient
	check inter.pem 7 --purpose sslclient -- -purpose sslclient
	check direct.pem 0 --at "$(date -u -d '+5 days' +%Y-%m-%dT%H:%M:%SZ)" -- -attime "$(date -d '+5 days' +%s)"
	check direct.pem 7 --at "@$(date -d '+60 days' +%s)" -- -attime "$(date -d '+60 days' +%s)"
	# A fullchain file: the first certificate is verified, the rest offered.
	cat good.pem inter.pem > full.pem
	run -0 sk cert verify full.pem
	# The reasons, as openssl words them.
	run -7 --separate-stderr sk cert verify expired.pem --chain inter.pem
	assert_one_error_line "seckit cert verify: 'CN=expired': certificate has expired (depth 0)"
	run -7 --separate-stderr sk cert verify future.pem --chain inter.pem
	assert_one_error_line "seckit cert verify: 'CN=future': certificate is not yet valid"
	run -7 --separate-stderr sk cert verify stranger.pem
	assert_one_error_line "seckit cert verify: 'CN=stranger': unable to get local issuer certificate"
}

@test "cert verify: further certificates in the file must be of the first one's chain, else exit 7 naming them" {
	mk_root root
	mk_root rogue
	mk_cert inter root ca_ext
	mk_cert good inter leaf
	mk_cert direct root leaf
	run -0 provision_cas root
	# A fullchain file, with or without its root: verified.
	cat good.pem inter.pem > full.pem
	run -0 sk cert verify full.pem
	cat good.pem inter.pem root.pem > fullroot.pem
	run -0 sk cert verify fullroot.pem
	# A second leaf was verified by nobody: refused, whatever the first.
	cat direct.pem good.pem inter.pem > two.pem
	sk_fails 7 "cert verify: 'two.pem': certificate 2 ('CN=good') is not in the chain of the first" cert verify two.pem
	cat good.pem inter.pem rogue.pem > stray.pem
	sk_fails 7 "cert verify: 'stray.pem': certificate 3 ('CN=rogue') is not in the chain of the first" cert verify stray.pem
	run -7 --separate-stderr sk --json cert verify two.pem
	python3 -c '
import json, sys
d = json.loads(sys.argv[1])
assert d["verified"] is False and d["failed_subject"] == "CN=good" and d["depth"] == -1, d
assert d["reason"] == "certificate 2 of the file is not in the chain of the first", d
' "$output"
	# --chain only offers: an intermediate the chain does not need is fine.
	run -0 sk cert verify direct.pem --chain inter.pem
}

@test "cert verify --purpose codesign: extendedKeyUsage and keyUsage of the leaf, extendedKeyUsage of the CAs" {
	# OpenSSL 3.0 has no code-signing purpose; seckit registers its own.
	mk_root root
	mk_cert signer root signer
	mk_cert tls root leaf
	mk_cert any root anyeku
	mk_cert bare root bare
	mk_cert enc root kuenc
	mk_cert tlsca root ca_tls
	mk_cert tlssigner tlsca signer
	run -0 provision_cas root
	# What the profiles hold, as openssl reads them.
	run -0 openssl x509 -in signer.pem -noout -ext extendedKeyUsage,keyUsage
	[[ "$output" == *"Code Signing"* && "$output" == *"Digital Signature"* ]]
	run -0 openssl x509 -in tls.pem -noout -ext extendedKeyUsage
	[[ "$output" != *"Code Signing"* ]]
	# Every chain verifies without a purpose (openssl agrees) ...
	for c in signer tls any bare enc; do
		run -0 sk cert verify "$c.pem"
		run -0 openssl verify -CAfile root.pem "$c.pem"
	done
	run -0 sk cert verify tlssigner.pem --chain tlsca.pem
	run -0 openssl verify -CAfile root.pem -untrusted tlsca.pem tlssigner.pem
	# ... and only the code signers pass codesign.
	run -0 sk cert verify signer.pem --purpose codesign
	run -0 sk cert verify any.pem --purpose codesign
	run -0 sk cert verify bare.pem --purpose codesign
	run -7 --separate-stderr sk cert verify tls.pem --purpose codesign
	assert_one_error_line "seckit cert verify: 'CN=tls': unsuitable certificate purpose (depth 0)"
	run -7 sk cert verify enc.pem --purpose codesign
	run -7 --separate-stderr sk cert verify tlssigner.pem --chain tlsca.pem --purpose codesign
	assert_one_error_line "seckit cert verify: 'CN=tlsca': unsuitable certificate purpose (depth 1)"
	# The other purposes still come from OpenSSL.
	run -0 sk cert verify tls.pem --purpose sslserver
	run -7 sk cert verify signer.pem --purpose sslserver
	# A payload signed by the code signer, checked with the purpose.
	head -c 1000 /dev/urandom > fw.bin
	run -0 sk payload make --sign-key signer.key --in fw.bin --out fw.pkg
	run -0 sk payload verify --cert signer.pem --purpose codesign --in fw.pkg --out fw.out
	cmp fw.bin fw.out
	run -0 sk payload make --sign-key tls.key --in fw.bin --out tls.pkg
	run -7 sk payload verify --cert tls.pem --purpose codesign --in tls.pkg --out tls.out
	assert_absent tls.out
}

@test "cert verify --json gives the verdict, the reason and the chain" {
	mk_root root
	mk_cert inter root ca_ext
	mk_cert good inter leaf
	mk_cert old inter leaf "$(date_z '-20 days')" "$(date_z '-10 days')"
	run -0 provision_cas root inter
	run -0 --separate-stderr sk --json cert verify good.pem
	python3 -c '
import json, sys
d = json.loads(sys.argv[1])
assert d["verified"] is True, d
assert [c["subject"] for c in d["chain"]] == ["CN=good", "CN=inter"], d
assert d["chain"][1]["ca"] is True and len(d["chain"][0]["fingerprint"]) == 64
' "$output"
	run -7 --separate-stderr sk --json cert verify old.pem
	assert_one_error_line "seckit cert verify: "
	# The chain printed for the document does not wipe out why it failed.
	[ "$stderr" = "seckit cert verify: 'CN=old': certificate has expired (depth 0)" ]
	python3 -c '
import json, sys
d = json.loads(sys.argv[1])
assert d["verified"] is False and d["reason"] == "certificate has expired", d
assert d["verify_error"] == 10 and d["depth"] == 0 and d["failed_subject"] == "CN=old", d
assert d["ok"] is False and d["error"] == {"code": "verification", "exit": 7, "message": "\x27CN=old\x27: certificate has expired (depth 0)"}, d
' "$output"
}

@test "cert verify: bad input and an empty CA store" {
	mk_root root
	mk_cert leaf root leaf
	run -0 sk key create device --type ec-p256
	if [ "$SK_BACKEND" = pkcs11 ]; then
		# The key is the token's: the store is made by a public key.
		mk_key pubonly
		run -0 sk key import pubonly --in pubonly.pub
	fi
	run -7 --separate-stderr sk cert verify leaf.pem
	assert_one_error_line "seckit cert verify: 'CN=leaf': unable to get local issuer certificate (the store holds no CA certificate)"
	echo "not a certificate" > junk.pem
	run -7 --separate-stderr sk cert verify junk.pem
	assert_one_error_line "seckit cert verify: "
	[ -z "$output" ]
	head -c 300 leaf.pem > cut.pem
	run -7 sk cert verify cut.pem
	openssl x509 -in leaf.pem -outform der -out leaf.der
	head -c 200 leaf.der > cut.der
	run -7 sk cert verify cut.der
	{ cat leaf.der; echo x; } > trail.der
	run -7 sk cert verify trail.der
	run -1 sk cert verify nosuch.pem
	run -7 sk cert verify leaf.pem --chain junk.pem
	run -2 sk cert verify leaf.pem --purpose flying
	run -2 --separate-stderr sk cert verify leaf.pem --at yesterday
	assert_one_error_line "seckit cert verify: --at: 'yesterday' is not a time (YYYY-MM-DD, YYYY-MM-DDTHH:MM:SSZ, YYYY-MM-DDTHH:MM:SS+HH:MM, YYYYMMDDHHMMSSZ, @SECONDS, or a duration from now such as 90d, 12h, 1y)"
	run -2 sk cert verify leaf.pem --at 2026-02-30
	run -2 sk cert verify leaf.pem --at "2026-01-01T10:00"
	head -c 300000 /dev/zero > big.pem
	run -1 --separate-stderr sk cert verify big.pem
	assert_one_error_line "seckit cert verify: reading 'big.pem': file too large"
	[ -z "$output" ]
}

@test "cert list and get: PEM and DER as provisioned, --names, --json, unknown names" {
	mk_root root
	mk_root cloud
	cat > m.yaml <<-EOF
	version: 1
	certificates:
	  - name: cloud-root
	    file: cloud.pem
	ca:
	  - name: root
	    file: root.pem
	EOF
	run -0 sk provision m.yaml
	run -0 sk cert list --names
	[ "$output" = "$(printf 'cloud-root\nroot')" ]
	run -0 sk cert list --ca --names
	[ "$output" = root ]
	run -0 sk cert list --provisioned
	[[ "$output" == "cloud-root "*"provisioned"*"CN=cloud" ]]
	run -0 sk cert get root --out got.pem
	cmp got.pem root.pem
	run -0 sk cert get cloud-root --format der --out got.der
	openssl x509 -in cloud.pem -outform der | cmp - got.der
	run -0 sk cert get root
	[ "$output" = "$(cat root.pem)" ]
	run -0 sk --json cert list
	python3 -c '
import json, subprocess, sys
d = json.loads(sys.argv[1])["certificates"]
assert [c["name"] for c in d] == ["cloud-root", "root"], d
c = d[1]
assert c["kind"] == "ca" and c["subject"] == "CN=root" and c["issuer"] == "CN=root" and c["ca"], c
assert c["revoked"] is False and c["origin"] == "provision", c
fp = subprocess.run(["openssl", "x509", "-in", "root.pem", "-noout", "-fingerprint", "-sha256"],
                    capture_output=True, text=True).stdout.split("=")[1].strip().replace(":", "").lower()
assert c["fingerprint"] == fp, (c, fp)
sn = subprocess.run(["openssl", "x509", "-in", "root.pem", "-noout", "-serial"],
                    capture_output=True, text=True).stdout.split("=")[1].strip()
assert c["serial"] == sn, (c, sn)
' "$output"
	run -8 --separate-stderr sk cert get nosuch --out x.pem
	assert_one_error_line "seckit cert get: certificate 'nosuch': not found"
	assert_absent x.pem
	run -2 sk cert get root --format xml --out x.pem
	run -2 sk cert list --revoked --ca
	run -0 sk --json cert list --revoked
	[ "$output" = '{"ok":true,"revoked":[]}' ]
}

@test "clock: monotonic never lets the clock used for dates go backwards" {
	require faketime
	# faketime preloads a library; a sanitizer build refuses preloading.
	faketime '2001-01-01 00:00:00' "$SECKIT" --version >/dev/null 2>&1 ||
		skip "faketime cannot run this build of seckit (sanitizer?)"
	mk_root root
	mk_cert leaf root leaf "$(date_z '-1 day')" "$(date_z '+10 days')"
	run -0 provision_cas root
	# A system clock in the past: the certificate is not yet valid ...
	run -7 faketime '2001-01-01 00:00:00' "$SECKIT" cert verify leaf.pem
	# ... unless the store remembers a later time (provisioning was now).
	printf 'clock: monotonic\n' >> "$SECKIT_CONFIG"
	run -0 faketime '2001-01-01 00:00:00' "$SECKIT" cert verify leaf.pem
	run -0 sk --json cert verify leaf.pem
	# After the store has seen a time past the certificate's end, a clock
	# set back to when it was valid does not make it valid again.
	run -7 faketime '+30 days' "$SECKIT" cert verify leaf.pem
	mk_cert leaf2 root leaf "$(date_z '-1 day')" "$(date_z '+400 days')"
	run -0 faketime '+30 days' "$SECKIT" cert verify leaf2.pem
	run -7 sk cert verify leaf.pem
	run -0 sk cert verify leaf.pem --at "@$(date +%s)"
	# the other TIME forms: a day (midnight UTC), a zone offset
	run -0 sk cert verify leaf.pem --at "$(date -u -d '+2 days' +%Y-%m-%d)"
	run -0 sk cert verify leaf.pem --at "$(date -u -d '+2 days' +%Y-%m-%dT%H:%M+02:00)"
	run -7 sk cert verify leaf.pem --at "$(date -u -d '-2 days' +%Y-%m-%d)"
	# Without the option the system clock rules again.
	sed -i '/^clock:/d' "$SECKIT_CONFIG"
	run -0 sk cert verify leaf.pem
	printf 'clock: sundial\n' >> "$SECKIT_CONFIG"
	run -3 --separate-stderr sk cert verify leaf.pem
	# (the line the clock is on: 5, after common_setup's four lines and
	# the backend matrix's additions)
	assert_one_error_line "seckit cert verify: $SECKIT_CONFIG:$(grep -c '' "$SECKIT_CONFIG"):8: "
}

@test "certificates and CSRs take sha256, sha384 and sha512 only: SHA-3 and legacy digests are usage errors" {
	run -0 sk key create device --type ec-p256
	for md in sha3-256 sha3-512 sha224 sha1 md5; do
		sk_fails 2 "cert csr: " cert csr --key device --subject /CN=x --digest "$md" --out x.csr
		[[ "$stderr" == *"(expected one of: sha256, sha384, sha512)"* ]]
	done
	assert_absent x.csr
	run -0 sk cert csr --key device --subject /CN=x -d SHA512 --out x.csr
	run -0 openssl req -in x.csr -noout -text
	[[ "$output" == *"ecdsa-with-SHA512"* ]]
}
