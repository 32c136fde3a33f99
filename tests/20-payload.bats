#!/usr/bin/env bats
# seckit payload and the package-format layer: round trips over every digest
# and key type, the openssl-only recipes of docs/formats/payload.md in both
# directions, and hostile packages (bit flips, truncation, trailing bytes,
# bad lengths, other types, unknown algorithms).

load helper
load trust

ARC=2.25.337553018662316161953456558998501963016

# Keys are made once per file: RSA key generation is slow.
setup_file() {
	backend_setup_file || return 1
	cd "$BATS_FILE_TMPDIR" || return 1
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ec-p256.pem 2>/dev/null
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out ec-p384.pem 2>/dev/null
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-521 -out ec-p521.pem 2>/dev/null
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa.pem 2>/dev/null
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out other.pem 2>/dev/null
	for k in ec-p256 ec-p384 ec-p521 rsa other; do
		openssl pkey -in $k.pem -pubout -out $k.pub
	done
	head -c 300 /dev/urandom > small.bin
	head -c 40 /dev/urandom > tiny.bin
}

setup() {
	common_setup
	cp "$BATS_FILE_TMPDIR"/*.pem "$BATS_FILE_TMPDIR"/*.pub "$BATS_FILE_TMPDIR"/*.bin .
}

# The fenced block of docs/formats/payload.md starting "# recipe: NAME".
recipe() {
	awk -v name="# recipe: $1" '
		/^```sh$/ { getline l; if (l == name) { on = 1; print l; next } }
		on && /^```$/ { on = 0 }
		on' "$SECKIT_SRC/docs/formats/payload.md"
}

# A package assembled with openssl from fields given as NAME=VALUE:
# type version sigalg md size (the size field) payload key digest.
# Used to make well-signed packages with hostile content.
craft() {
	local out=$1 type=$ARC.1.1 version=1 sigalg=ecdsa-with-SHA256 md=sha256
	local payload=small.bin key=ec-p256.pem digest=sha256 size="" kv
	shift
	for kv in "$@"; do
		case $kv in
		type=*) type=${kv#*=} ;;
		version=*) version=${kv#*=} ;;
		sigalg=*) sigalg=${kv#*=} ;;
		md=*) md=${kv#*=} ;;
		size=*) size=${kv#*=} ;;
		payload=*) payload=${kv#*=} ;;
		key=*) key=${kv#*=} ;;
		digest=*) digest=${kv#*=} ;;
		esac
	done
	[ -n "$size" ] || size=$(wc -c < "$payload")
	recipe payload-build | sed -e "s|^type = OID:.*|type = OID:$type|" \
		-e "s|^version = INTEGER:1|version = INTEGER:$version|" \
		-e "s|^payloadSize = INTEGER:.*|payloadSize = INTEGER:$size|" \
		-e "s|^algorithm = OID:\$MD|algorithm = OID:$md|" > craft.sh
	PAYLOAD=$payload KEY=$key MD=$digest SIGALG=$sigalg PKG=$out sh craft.sh
}

# Verify that must fail with 7, one error line matching $2, no output file.
verify_fails() {
	local pkg=$1 msg=$2
	shift 2
	run -7 --separate-stderr sk payload verify --pubkey ec-p256.pub --in "$pkg" --out got.bin "$@"
	assert_one_error_line "seckit payload verify: "
	[ -z "$output" ]
	case $stderr in *"$msg"*) ;; *) echo "expected '$msg' in: $stderr" >&2; return 1 ;; esac
	assert_absent got.bin
	assert_no_debris .
}

@test "the package-format layer on its own (unit tests of src/format/pkg.c)" {
	run -0 "$SECKIT_SRC/build/unit/pkg-test"
	[[ "$output" == *"1.."* ]]
	[[ "$output" != *"not ok"* ]]
}

@test "round trip for every digest and key type, cross-checked by openssl" {
	for key in ec-p256 ec-p384 ec-p521 rsa rsa-pss; do
		for md in sha1 sha224 sha256 sha384 sha512; do
			pss=""
			file=$key
			if [ $key = rsa-pss ]; then pss=--pss file=rsa; fi
			run -0 sk -q payload make --sign-key $file.pem --digest $md $pss --in small.bin --out p.pkg
			run -0 sk payload verify --pubkey $file.pub --in p.pkg --out got.bin
			[ "$output" = "Verified OK" ] || [[ "$output" == *"Verified OK" ]]
			cmp small.bin got.bin
			run -0 sk payload show p.pkg
			[[ "$output" == *"digest:              $md"* ]]
			# the signature, checked by openssl over the bytes before it
			PKG=p.pkg PUB=$file.pub OUT=o.bin sh -c "$(recipe payload-verify)" > /dev/null
			cmp small.bin o.bin
			rm -f p.pkg got.bin o.bin
		done
	done
}

@test "show: header fields, text and JSON; works on a pipe" {
	run -0 sk payload make --sign-key rsa.pem --pss --digest sha384 --in small.bin --out p.pkg
	fpr=$(openssl pkey -pubin -in rsa.pub -outform DER | openssl dgst -sha256 -r | cut -c1-64)
	run -0 sk payload show p.pkg
	[[ "$output" == *"type:                payload"* ]]
	[[ "$output" == *"format version:      1"* ]]
	[[ "$output" == *"payload size:        300"* ]]
	[[ "$output" == *"signature algorithm: rsassa-pss(sha384,mgf1-sha384,salt=48)"* ]]
	[[ "$output" == *"signer:              sha256:$fpr"* ]]
	run -0 sk --json payload show --in - < p.pkg
	python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert d["size"]==300 and d["digest"]=="sha384" and d["signer"]=={"key": None, "fingerprint": sys.argv[2]}, d' "$output" "$fpr"
}

@test "named store keys: sign in the backend, verify with the oem-payload role" {
	run -0 sk key create signer --type ec-p384
	run -0 sk key export signer --out signer.pub
	run -0 sk payload make --key signer --digest sha384 --in small.bin --out p.pkg
	PKG=p.pkg PUB=signer.pub OUT=o.bin sh -c "$(recipe payload-verify)" > /dev/null
	cmp small.bin o.bin
	# the default key is the one playing the oem-payload role
	run -8 --separate-stderr sk payload verify --in p.pkg
	assert_one_error_line "seckit payload verify: "
	run -0 sk key import oem-payload --in signer.pub
	run -0 sk payload verify --in p.pkg --out got.bin
	cmp small.bin got.bin
	# a role pointing at another name, and --key / --verify-key
	run -0 sk key import vendor --in ec-p256.pub
	printf 'roles:\n  oem-payload: vendor\n' >> "$SECKIT_CONFIG"
	run -7 --separate-stderr sk payload verify --in p.pkg
	[[ "$stderr" == *"not by key 'vendor'"* ]]
	run -0 sk payload verify --key signer --in p.pkg
	run -0 sk payload verify --verify-key oem-payload --in p.pkg
	# a key bound to a password object
	if backend_has password; then
		run -0 sk key password create pw --pass pass:secret1
		run -0 sk key create locked --type rsa-2048 --password-object pw --pass pass:secret1
		run -5 sk payload make --key locked --in small.bin --out l.pkg --pass pass:wrong
		assert_absent l.pkg
		run -0 sk payload make --key locked --pss --in small.bin --out l.pkg --pass pass:secret1
		run -0 sk payload verify --key locked --in l.pkg
	fi
}

@test "--cert: the certificate is checked against the CA store first" {
	mk_root root
	mk_cert signer root leaf
	run -0 sk payload make --sign-key signer.key --in small.bin --out p.pkg
	# no store at all: the CA store cannot be consulted (4)
	run -4 sk payload verify --cert signer.pem --in p.pkg
	# a store without this anchor
	run -0 sk key create device --type ec-p256
	if [ "$SK_BACKEND" = pkcs11 ]; then
		# The key is the token's: the store is made by a public key.
		run -0 sk key import device-pub --in ec-p256.pub
	fi
	run -7 --separate-stderr sk payload verify --cert signer.pem --in p.pkg --out got.bin
	assert_one_error_line "seckit payload verify: certificate 'signer.pem' does not verify"
	assert_absent got.bin
	printf 'version: 1\nca:\n  - name: root\n    file: root.pem\n' > cas.yaml
	run -0 sk provision cas.yaml
	run -0 sk payload verify --cert signer.pem --in p.pkg --out got.bin
	cmp small.bin got.bin
	# an intermediate offered in the same file
	mk_cert inter root ca_ext
	mk_cert s2 inter leaf
	run -0 sk payload make --sign-key s2.key --in small.bin --out p2.pkg
	run -7 sk payload verify --cert s2.pem --in p2.pkg
	cat s2.pem inter.pem > chain.pem
	run -0 sk payload verify --cert chain.pem --in p2.pkg
	# purposes: the leaf profile has clientAuth/serverAuth, not emailProtection
	run -0 sk payload verify --cert signer.pem --purpose sslclient --in p.pkg
	run -7 sk payload verify --cert signer.pem --purpose smimesign --in p.pkg
	run -2 sk payload verify --pubkey signer.pub --purpose smimesign --in p.pkg
	# expired; and a good certificate of another key
	mk_cert old root leaf "$(date_z -10days)" "$(date_z -1day)"
	run -0 sk payload make --sign-key old.key --in small.bin --out p3.pkg
	run -7 --separate-stderr sk payload verify --cert old.pem --in p3.pkg
	[[ "$stderr" == *"expired"* ]]
	run -7 --separate-stderr sk payload verify --cert s2.pem --in p.pkg
	run -7 --separate-stderr sk payload verify --cert chain.pem --in p.pkg
	[[ "$stderr" == *"not by certificate 'chain.pem'"* ]]
}

@test "encrypted key files need --pass; md5 needs --insecure and RSA; sha1 warns" {
	openssl pkey -in rsa.pem -aes256 -passout pass:pw -out enc.pem
	run -5 --separate-stderr sk payload make --sign-key enc.pem --in small.bin --out p.pkg
	assert_one_error_line "seckit payload make: "
	run -5 sk payload make --sign-key enc.pem --pass pass:nope --in small.bin --out p.pkg
	assert_absent p.pkg
	PW=pw run -0 sk payload make --sign-key enc.pem --pass env:PW --in small.bin --out p.pkg
	run -0 sk payload verify --pubkey rsa.pub --in p.pkg
	run -6 --separate-stderr sk payload make --sign-key rsa.pem --digest md5 --in small.bin --out m.pkg
	assert_one_error_line "seckit payload make: md5 is broken"
	run -6 sk payload make --sign-key ec-p256.pem --digest md5 --insecure --in small.bin --out m.pkg
	run -0 sk -q payload make --sign-key rsa.pem --digest md5 --insecure --in small.bin --out m.pkg
	run -7 --separate-stderr sk payload verify --pubkey rsa.pub --in m.pkg
	[[ "$stderr" == *"md5"* ]]
	run -0 sk -q payload verify --pubkey rsa.pub --insecure --in m.pkg
	run -0 --separate-stderr sk payload make --sign-key ec-p256.pem --digest sha1 --in small.bin --out s.pkg
	[[ "$stderr" == *"warning: sha1 is weak"* ]]
	run -0 --separate-stderr sk payload verify --pubkey ec-p256.pub --in s.pkg
	[[ "$stderr" == *"warning"*"sha1"* ]]
	run -6 sk payload make --sign-key ec-p256.pem --pss --in small.bin --out x.pkg
	run -2 sk payload make --sign-key ec-p256.pem --digest sha999 --in small.bin --out x.pkg
	assert_absent x.pkg
}

@test "usage errors: exit 2, one line, nothing written" {
	run -2 --separate-stderr sk payload make --in small.bin --out p.pkg
	assert_one_error_line "seckit payload make: give --sign-key FILE or --key NAME"
	run -2 sk payload make --sign-key ec-p256.pem --key x --in small.bin --out p.pkg
	run -2 sk payload make --sign-key ec-p256.pem --out p.pkg
	run -2 sk payload verify --pubkey ec-p256.pub
	run -2 sk payload verify --pubkey ec-p256.pub --cert x.pem --in p.pkg
	run -2 sk --json payload verify --pubkey ec-p256.pub --in p.pkg --out -
	run -2 sk payload show
	assert_absent p.pkg
}

@test "a package built by the openssl recipe verifies with seckit" {
	run -0 env PAYLOAD=small.bin KEY=ec-p384.pem MD=sha384 SIGALG=ecdsa-with-SHA384 PKG=r.pkg \
		sh -c "$(recipe payload-build)"
	run -0 sk payload verify --pubkey ec-p384.pub --in r.pkg --out got.bin
	cmp small.bin got.bin
	run -0 env PAYLOAD=small.bin KEY=rsa.pem MD=sha512 SIGALG=sha512WithRSAEncryption PKG=r2.pkg \
		sh -c "$(recipe payload-build)"
	run -0 sk payload verify --pubkey rsa.pub --in r2.pkg
	# the recipe writes what seckit writes: the same bytes up to the signature
	run -0 sk payload make --sign-key rsa.pem --digest sha512 --in small.bin --out s.pkg
	sigoff=$(openssl asn1parse -inform DER -in s.pkg | awk -F: '/d=1/ { o = $1 } END { print o + 0 }')
	cmp -n "$sigoff" s.pkg r2.pkg
	: > empty
	run -0 env PAYLOAD=empty KEY=ec-p256.pem MD=sha256 SIGALG=ecdsa-with-SHA256 PKG=e.pkg \
		sh -c "$(recipe payload-build)"
	run -0 sk payload verify --pubkey ec-p256.pub --in e.pkg --out got.bin
	[ ! -s got.bin ]
}

@test "md5 (RSA, --insecure): the recipe and seckit write the one encoding, NULL parameters" {
	run -0 env PAYLOAD=small.bin KEY=rsa.pem MD=md5 SIGALG=md5WithRSAEncryption PKG=r.pkg \
		sh -c "$(recipe payload-build)"
	run -0 sk -q payload verify --pubkey rsa.pub --insecure --in r.pkg --out got.bin
	cmp small.bin got.bin
	run -0 sk -q payload make --sign-key rsa.pem --digest md5 --insecure --in small.bin --out s.pkg
	sigoff=$(openssl asn1parse -inform DER -in s.pkg | awk -F: '/d=1/ { o = $1 } END { print o + 0 }')
	cmp -n "$sigoff" s.pkg r.pkg
	# the digest identifier as docs/formats/README.md gives it
	hex=$(od -An -v -tx1 s.pkg | tr -d ' \n')
	[[ "$hex" == *300c06082a864886f70d02050500* ]]
	run -0 env PKG=s.pkg PUB=rsa.pub OUT=o.bin sh -c "$(recipe payload-verify)"
	cmp small.bin o.bin
}

@test "the openssl verify recipe accepts seckit's package and rejects tampered ones" {
	run -0 sk payload make --sign-key ec-p256.pem --in small.bin --out p.pkg
	run -0 env PKG=p.pkg PUB=ec-p256.pub OUT=o.bin sh -c "$(recipe payload-verify)"
	cmp small.bin o.bin
	rm o.bin
	# a payload byte changed
	python3 -c 'import sys; d=bytearray(open("p.pkg","rb").read()); d[200]^=1; open("t.pkg","wb").write(d)'
	run ! env PKG=t.pkg PUB=ec-p256.pub OUT=o.bin sh -c "$(recipe payload-verify)"
	assert_absent o.bin
	# signed by another key
	run ! env PKG=p.pkg PUB=other.pub OUT=o.bin sh -c "$(recipe payload-verify)"
	assert_absent o.bin
	# trailing bytes
	cat p.pkg small.bin > t2.pkg
	run ! env PKG=t2.pkg PUB=ec-p256.pub OUT=o.bin sh -c "$(recipe payload-verify)"
	assert_absent o.bin
	# another package type
	craft stp.pkg type=$ARC.1.5
	run ! env PKG=stp.pkg PUB=ec-p256.pub OUT=o.bin sh -c "$(recipe payload-verify)"
	assert_absent o.bin
}

@test "a signature by another key: exit 7, nothing written" {
	run -0 sk payload make --sign-key ec-p256.pem --in small.bin --out p.pkg
	run -7 --separate-stderr sk payload verify --pubkey other.pub --in p.pkg --out got.bin
	assert_one_error_line "seckit payload verify: signed by key sha256:"
	assert_absent got.bin
	# without the signer id the signature itself fails
	craft nosigner.pkg
	sed -i 's/^signer = .*//' craft.sh
	PAYLOAD=small.bin KEY=ec-p256.pem MD=sha256 SIGALG=ecdsa-with-SHA256 PKG=nosigner.pkg sh craft.sh
	run -0 sk payload verify --pubkey ec-p256.pub --in nosigner.pkg
	run -7 --separate-stderr sk payload verify --pubkey other.pub --in nosigner.pkg --out got.bin
	assert_one_error_line "seckit payload verify: bad signature"
	assert_absent got.bin
	# an RSA key for an ECDSA package
	run -7 --separate-stderr sk payload verify --pubkey rsa.pub --in nosigner.pkg
	[[ "$stderr" == *"does not fit"* ]]
	# JSON reports the failure too
	run -7 --separate-stderr sk --json payload verify --pubkey other.pub --in p.pkg
	python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert d["verified"] is False and "reason" in d and d["out"] is None, d' "$output"
	run -0 sk --json payload verify --pubkey ec-p256.pub --in p.pkg --out got.bin
	python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert d["verified"] is True and d["size"]==300 and d["digest"]=="sha256" and d["signer"]=={"key": None, "fingerprint": d["fingerprint"]} and d["key_fingerprint"]==d["fingerprint"], d' "$output"
}

@test "every single-bit flip of a small package is rejected with 7, nothing written" {
	run -0 sk payload make --sign-key ec-p256.pem --in tiny.bin --out p.pkg
	python3 - "$SECKIT" <<-'EOF'
	import os, subprocess, sys
	data = open("p.pkg", "rb").read()
	bad = []
	for i in range(len(data)):
	    for b in range(8):
	        m = bytearray(data)
	        m[i] ^= 1 << b
	        open("f.pkg", "wb").write(m)
	        r = subprocess.run([sys.argv[1], "payload", "verify", "--pubkey", "ec-p256.pub",
	                            "--in", "f.pkg", "--out", "got.bin"], capture_output=True)
	        if (r.returncode != 7 or r.stdout or r.stderr.count(b"\n") != 1
	                or os.path.exists("got.bin")):
	            bad.append((i, b, r.returncode, r.stderr))
	print(len(data) * 8, "flips,", len(bad), "not rejected properly", bad[:3])
	sys.exit(1 if bad else 0)
	EOF
	assert_no_debris .
}

@test "truncation at every length and trailing bytes are rejected with 7" {
	run -0 sk payload make --sign-key ec-p256.pem --in small.bin --out p.pkg
	python3 - "$SECKIT" <<-'EOF'
	import os, subprocess, sys
	data = open("p.pkg", "rb").read()
	bad = []
	cases = [data[:n] for n in range(len(data))] + [data + b"\0", data + data]
	for m in cases:
	    open("f.pkg", "wb").write(m)
	    r = subprocess.run([sys.argv[1], "payload", "verify", "--pubkey", "ec-p256.pub",
	                        "--in", "f.pkg", "--out", "got.bin"], capture_output=True)
	    if r.returncode != 7 or r.stdout or r.stderr.count(b"\n") != 1 or os.path.exists("got.bin"):
	        bad.append((len(m), r.returncode, r.stderr))
	print(len(cases), "cases,", len(bad), "not rejected properly", bad[:3])
	sys.exit(1 if bad else 0)
	EOF
	verify_fails /dev/null "/dev/null: not a seckit package"
}

@test "oversized and negative length fields are rejected with 7" {
	run -0 sk payload make --sign-key ec-p256.pem --in small.bin --out p.pkg
	# outer length: 9 length octets; 8 octets of 0xff; indefinite
	python3 -c 'import sys; d=open("p.pkg","rb").read(); open("o9.pkg","wb").write(b"\x30\x89"+b"\xff"*9+d[4:])'
	verify_fails o9.pkg "length field of 9 octets"
	python3 -c 'import sys; d=open("p.pkg","rb").read(); open("o8.pkg","wb").write(b"\x30\x88"+b"\xff"*8+d[4:])'
	verify_fails o8.pkg "exceeds the limit"
	python3 -c 'import sys; d=open("p.pkg","rb").read(); open("oi.pkg","wb").write(b"\x30\x80"+d[4:])'
	verify_fails oi.pkg "indefinite length"
	# header length beyond the limit
	python3 -c 'import sys; d=open("p.pkg","rb").read(); open("th.pkg","wb").write(d[:4]+b"\x30\x84\x7f\xff\xff\xff"+d[6:])'
	verify_fails th.pkg "package header: length"
	# a well-signed header saying -1 bytes, and one saying 2^40 with 300 present
	craft neg.pkg size=-1
	verify_fails neg.pkg "payload size"
	craft big.pkg size=1099511627776
	verify_fails big.pkg "the header says 1099511627776"
	# payload element longer than the package
	python3 - <<-'EOF'
	d = bytearray(open("p.pkg", "rb").read())
	i = d.index(b"\x04\x82\x01\x2c")      # payload: 300 bytes
	d[i:i + 4] = b"\x04\x84\x7f\xff\xff\xff"
	open("pl.pkg", "wb").write(d)
	EOF
	verify_fails pl.pkg "payload"
	# signature element longer than what is left
	python3 - <<-'EOF'
	d = bytearray(open("p.pkg", "rb").read())
	i = d.rindex(b"\x04", 0, len(d) - 60)
	while d[i + 1] != len(d) - i - 2:
	    i = d.rindex(b"\x04", 0, i)
	d[i + 1] += 1
	open("sl.pkg", "wb").write(d)
	EOF
	verify_fails sl.pkg "length does not match"
}

@test "a package of another type, another version, unknown or mismatched algorithms: 7" {
	craft ok.pkg
	run -0 sk payload verify --pubkey ec-p256.pub --in ok.pkg
	craft stp.pkg type=$ARC.1.5
	verify_fails stp.pkg "stp.pkg: an STP, not a payload package"
	craft ok2.pkg type=$ARC.1.2
	verify_fails ok2.pkg "ok2.pkg: an opaque key, not a payload package"
	craft alien.pkg type=1.2.3.4
	verify_fails alien.pkg "not a seckit package"
	craft v2.pkg version=2
	verify_fails v2.pkg "format version not supported"
	craft v0.pkg version=0
	verify_fails v0.pkg "format version not supported"
	craft md.pkg md=1.2.840.113549.2.99
	verify_fails md.pkg "unknown digest algorithm 1.2.840.113549.2.99"
	craft md2.pkg md=sha384
	verify_fails md2.pkg "digest algorithm sha384 differs"
	craft sa.pkg sigalg=1.2.840.10045.4.3.99
	verify_fails sa.pkg "unknown signature algorithm"
	craft sa2.pkg sigalg=ecdsa-with-SHA384
	verify_fails sa2.pkg "differs from the signature's"
	# one encoding per digest identifier: sha256 with NULL, md5 without
	craft null.pkg md="sha256\nparameters = NULL"
	verify_fails null.pkg "digest algorithm sha256: unexpected parameters"
	recipe payload-build | sed 's/^md5) mdparams=.*/md5) mdparams= ;;/' > nonull.sh
	PAYLOAD=small.bin KEY=rsa.pem MD=md5 SIGALG=md5WithRSAEncryption PKG=nonull.pkg sh nonull.sh
	run -7 --separate-stderr sk payload verify --pubkey rsa.pub --insecure --in nonull.pkg
	assert_one_error_line "seckit payload verify: "
	[[ "$stderr" == *"digest algorithm md5: unexpected parameters"* ]]
	# show refuses them the same way
	run -7 --separate-stderr sk payload show stp.pkg
	assert_one_error_line "seckit payload show: stp.pkg: an STP, not a payload package"
}

@test "empty payload is valid; pipes work where the format allows" {
	: > empty
	run -0 sk payload make --sign-key ec-p256.pem --in empty --out e.pkg
	run -0 sk payload verify --pubkey ec-p256.pub --in e.pkg --out got.bin
	[ -f got.bin ]
	[ ! -s got.bin ]
	run -0 sk payload show e.pkg
	[[ "$output" == *"payload size:        0"* ]]
	# verify from a pipe, payload to a pipe (released only after verification)
	run -0 sk payload make --sign-key ec-p256.pem --in small.bin --out p.pkg
	cat p.pkg | sk payload verify --pubkey ec-p256.pub --in - --out - > piped.bin
	cmp small.bin piped.bin
	python3 -c 'd=bytearray(open("p.pkg","rb").read()); d[150]^=4; open("t.pkg","wb").write(d)'
	run -7 --separate-stderr bash -c "cat t.pkg | '$SECKIT' payload verify --pubkey ec-p256.pub --in - --out -"
	[ -z "$output" ]
	# make writes to a pipe; make cannot read one (the size comes first)
	piped s.pkg sk payload make --sign-key ec-p256.pem --in small.bin --out -
	run -0 sk payload verify --pubkey ec-p256.pub --in s.pkg
	[ "$(sk payload show s.pkg)" = "$(sk payload show p.pkg)" ]
	run -2 --separate-stderr bash -c "cat small.bin | '$SECKIT' payload make --sign-key ec-p256.pem --in - --out x.pkg"
	assert_one_error_line "seckit payload make: '<stdin>' is not a regular file"
	assert_absent x.pkg
	# a regular file on stdin is fine
	run -0 sk payload make --sign-key ec-p256.pem --in - --out r.pkg < small.bin
	run -0 sk payload verify --pubkey ec-p256.pub --in r.pkg
	# no progress line when stderr is not a terminal
	run -0 --separate-stderr sk payload verify --pubkey ec-p256.pub --in p.pkg
	[ -z "$stderr" ]
}

@test "progress on stderr only when it is a terminal, and not with -q" {
	truncate -s 512M big.bin
	python3 - "$SECKIT" <<-'EOF'
	import os, pty, subprocess, sys
	def run(*extra):
	    m, s = pty.openpty()
	    r = subprocess.run([sys.argv[1], *extra, "payload", "make", "--sign-key", "ec-p256.pem",
	                        "--in", "big.bin", "--out", "-"], stdout=subprocess.DEVNULL, stderr=s)
	    os.close(s)
	    out = b""
	    while True:
	        try:
	            chunk = os.read(m, 4096)
	        except OSError:
	            break
	        if not chunk:
	            break
	        out += chunk
	    os.close(m)
	    assert r.returncode == 0, (r.returncode, out)
	    return out
	shown = run()
	assert b"seckit payload make: " in shown and b"% " in shown and b" of 512.0 MiB" in shown, shown
	assert shown.endswith(b"\r\x1b[K"), shown
	assert run("-q") == b""
	EOF
	rm -f big.bin
}

@test "a write error while streaming: exit 1, one error line, nothing left" {
	head -c 4000000 /dev/urandom > mid.bin
	run -0 sk payload make --sign-key ec-p256.pem --in mid.bin --out mid.pkg
	# files may not grow beyond 1 MiB (SIGXFSZ ignored: write fails with EFBIG)
	run -1 --separate-stderr bash -c "trap '' XFSZ; ulimit -f 1024; '$SECKIT' payload make --sign-key ec-p256.pem --in mid.bin --out m2.pkg"
	assert_one_error_line "seckit payload make: writing 'm2.pkg': File too large"
	assert_absent m2.pkg
	run -1 --separate-stderr bash -c "trap '' XFSZ; ulimit -f 1024; '$SECKIT' payload verify --pubkey ec-p256.pub --in mid.pkg --out got.bin"
	assert_one_error_line "seckit payload verify: writing 'got.bin': File too large"
	assert_absent got.bin
	assert_no_debris .
	run -0 sk payload verify --pubkey ec-p256.pub --in mid.pkg --out got.bin
	cmp mid.bin got.bin
}

@test "outer header sizes at the DER length boundaries (ECDSA signature lengths vary)" {
	# payload sizes around the points where the outer length needs one more
	# octet (128, 256, 65536 bytes of content)
	# P-256 signatures are 70 to 72 bytes: the header is written for 72
	# and rewritten when a shorter one changes the length's size.
	for n in $(seq 80 95) $(seq 65360 65372); do
		head -c $n /dev/zero > z.bin
		run -0 sk payload make --sign-key ec-p256.pem --in z.bin --out z.pkg
		run -0 sk payload verify --pubkey ec-p256.pub --in z.pkg --out z.out
		cmp z.bin z.out
		run -0 openssl asn1parse -inform DER -in z.pkg -noout
	done
	assert_no_debris .
}

@test "a 3 GiB sparse payload: round trip in constant memory" {
	require /usr/bin/time
	truncate -s 3G big.bin
	/usr/bin/time -f %M -o make.rss "$SECKIT" payload make --sign-key ec-p256.pem --in big.bin --out big.pkg
	# --out -: the payload waits in an unlinked temporary file until it
	# verified (no fsync of 3 GiB, unlike --out FILE)
	TMPDIR=$BATS_TEST_TMPDIR /usr/bin/time -f %M -o verify.rss "$SECKIT" payload verify --pubkey ec-p256.pub --in big.pkg --out - |
		cmp - big.bin
	echo "peak RSS: make $(cat make.rss) KiB, verify $(cat verify.rss) KiB"
	# 16 MiB; AddressSanitizer's own runtime adds more than that
	limit=16384
	if sanitizer_build; then limit=65536; fi
	[ "$(cat make.rss)" -lt $limit ]
	[ "$(cat verify.rss)" -lt $limit ]
	[ "$(stat -c %s big.pkg)" -gt 3221225472 ]
	run -0 sk payload show big.pkg
	[[ "$output" == *"payload size:        3221225472"* ]]
	rm -f big.pkg
}
