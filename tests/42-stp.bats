#!/usr/bin/env bats
# seckit stp: the trust life cycle as a factory and an OEM server drive it,
# anti-replay, device binding, command key rotation, tampering, crashes,
# and the openssl-only recipes of docs/formats/stp.md.

load helper
load trust

setup() {
	common_setup
	# Each test starts from a device made by seckit provision (on
	# pkcs11 its device key is on the test's token).
	mk_oem_pki
	cat > m.yaml <<-EOF
	version: 1
	device-key:
	  public-key-out: out/device.pub
	  csr:
	    subject: /CN=dev-0001/O=Acme
	    out: out/device.csr
	command-key:
	  file: oem/command.pem
	certificates:
	  - name: oem-root
	    file: oem/root.pem
	    key: oem-root
	  - name: cloud-root
	    file: oem/cloud-root.pem
	EOF
	sk provision m.yaml
}

# mk OUT SEQ CMD [options]: an STP signed with the OEM command key.
mk() {
	local out=$1 seq=$2 cmd=$3
	shift 3
	sk stp make --sign-key oem/command.key --seq "$seq" --command "$cmd" "$@" --out "$out"
}

# The fenced block of docs/formats/stp.md starting "# recipe: NAME".
recipe() {
	awk -v name="# recipe: $1" '
		/^```sh$/ { getline l; if (l == name) { on = 1; print l; next } }
		on && /^```$/ { on = 0 }
		on' "$SECKIT_SRC/docs/formats/stp.md"
}

last_seq() {
	local j
	j=$(sk --json stp status) || return 1
	python3 -c 'import json,sys; print(json.loads(sys.argv[1])["last_sequence"])' "$j"
}

pubkey_of_cert() {
	openssl x509 -in "$1" -noout -pubkey
}

@test "life cycle: device CSR, seckit cert issue, set-cert for this device, OEM root replaced with its key" {
	run -0 openssl req -in out/device.csr -noout -verify
	run -0 sk cert issue --csr out/device.csr --ca-cert oem/root.pem --ca-key oem/root.key --days 365 --out dev.pem
	run -0 mk set.stp 1 set-cert --name device --cert dev.pem --device out/device.pub
	run -0 sk stp show set.stp
	[[ "$output" == *"command:       set-cert"* && "$output" == *"target:        device"* ]]
	run -0 --separate-stderr sk --json stp apply set.stp
	python3 -c '
import json, sys
d = json.loads(sys.argv[1])
assert d["status"] == "applied" and d["sequence"] == 1 and d["command"] == "set-cert", d
assert d["target"] == "device" and len(d["device"]) == 64, d
' "$output"
	piped got sk cert get device
	cmp got dev.pem
	run -0 sk cert verify dev.pem --purpose sslclient
	# The device key was not touched.
	piped got sk key export device --out -
	cmp got out/device.pub
	run -0 sk --json cert list --provisioned
	[[ "$output" == *'"name":"device"'*'"key":"device","origin":"stp 1"'* ]]
	# A new OEM root: the certificate and the OEM root key change together.
	(cd oem && mk_root root2)
	run -0 mk root.stp 2 set-cert --name oem-root --cert oem/root2.pem
	run -0 sk stp apply root.stp
	piped got sk cert get oem-root
	cmp got oem/root2.pem
	piped got sk key export oem-root --out -
	cmp got <(pubkey_of_cert oem/root2.pem)
	run -0 sk --json key info oem-root
	[[ "$output" == *'"provisioned":true'*'"public_only":true'* ]]
	# The device certificate now chains to nothing: the old root is gone.
	run -7 sk cert verify dev.pem
	run -0 sk --json stp status
	[[ "$output" == *'"last_sequence":2'* ]]
}

@test "life cycle with plain openssl: openssl ca issues, the openssl recipe builds the STP, seckit applies it" {
	openssl_ca oem/root out/device.csr dev.pem leaf
	run -0 openssl verify -CAfile oem/root.pem dev.pem
	KEY=oem/command.key CMD=set-cert SEQ=7 NAME=device CERT=dev.pem SERIAL= DEVICE=out/device.pub \
		OUT=r.stp sh -c "$(recipe stp-build)"
	run -0 sk stp show r.stp
	[[ "$output" == *"sequence:      7"* ]]
	run -0 sk stp apply r.stp
	piped got sk cert get device
	cmp got dev.pem
	# Revoke by serial with the recipe too.
	mk_cert other oem/root leaf
	KEY=oem/command.key CMD=revoke SEQ=8 NAME= CERT=oem/root.pem \
		SERIAL="$(openssl x509 -in other.pem -noout -serial | cut -d= -f2)" DEVICE= \
		OUT=rv.stp sh -c "$(recipe stp-build)"
	run -0 sk stp apply rv.stp
	run -7 --separate-stderr sk cert verify other.pem
	assert_one_error_line "seckit cert verify: 'CN=other': certificate revoked (depth 0)"
	# The verify recipe accepts what seckit makes, and refuses it altered
	# or checked with another key.
	openssl x509 -in oem/command.pem -noout -pubkey > command.pub
	run -0 mk s.stp 9 add-ca --name issuing --cert oem/issuing-ca.pem
	run -0 env PKG=s.stp PUB=command.pub sh -c "$(recipe stp-verify)"
	[[ "$output" == *"command: add-ca"* && "$output" == *"target: issuing"* && "$output" == *"sequence: 9"* ]]
	cmp stp-cert.pem oem/issuing-ca.pem
	run -1 env PKG=s.stp PUB=oem/payload.pub sh -c "$(recipe stp-verify)"
	cp s.stp t.stp
	flip_bit t.stp 130
	run -1 env PKG=t.stp PUB=command.pub sh -c "$(recipe stp-verify)"
	run -7 sk stp apply t.stp
	run -0 sk stp apply s.stp
}

@test "CA store: add a CA, verify a leaf, revoke it (7), revoke the CA (7), update and delete" {
	mk_root ca1
	mk_cert leaf ca1 leaf
	mk_cert leaf2 ca1 leaf
	run -7 sk cert verify leaf.pem
	run -0 mk add.stp 1 add-ca --name ca1 --cert ca1.pem
	run -0 sk stp apply add.stp
	run -0 sk cert verify leaf.pem
	run -0 mk rev.stp 2 revoke --cert leaf.pem
	run -0 sk stp apply rev.stp
	run -7 --separate-stderr sk cert verify leaf.pem
	assert_one_error_line "seckit cert verify: 'CN=leaf': certificate revoked (depth 0)"
	run -0 sk cert verify leaf2.pem
	run -0 sk --json cert list --revoked
	[[ "$output" == *'"issuer":"CN=ca1"'*'"subject":"CN=leaf"'* ]]
	# Revoking the CA removes it from the anchors: every chain through it fails.
	run -0 mk revca.stp 3 revoke --cert ca1.pem
	run -0 sk stp apply revca.stp
	run -7 --separate-stderr sk cert verify leaf2.pem
	assert_one_error_line "seckit cert verify: 'CN=ca1': certificate revoked (depth 1)"
	run -0 sk --json cert list --ca
	[[ "$output" == *'"name":"ca1"'*'"revoked":true'* ]]
	# Revoking again changes nothing but is accepted (a new sequence).
	run -0 mk again.stp 4 revoke --cert leaf.pem
	run -0 sk stp apply again.stp
	# update-ca and delete-ca; the errors say what is missing.
	mk_root ca2
	run -0 mk up.stp 5 update-ca --name ca1 --cert ca2.pem
	run -0 sk stp apply up.stp
	piped got sk cert get ca1
	cmp got ca2.pem
	run -0 mk dup.stp 6 add-ca --name ca1 --cert ca2.pem
	run -9 --separate-stderr sk stp apply dup.stp
	assert_one_error_line "seckit stp apply: certificate 'ca1' already exists"
	run -0 mk del.stp 6 delete-ca --name ca1
	run -0 sk stp apply del.stp
	run -8 sk cert get ca1
	run -0 mk del2.stp 7 delete-ca --name ca1
	run -8 --separate-stderr sk stp apply del2.stp
	assert_one_error_line "seckit stp apply: CA 'ca1': not found"
	run -0 mk upd2.stp 7 update-ca --name nosuch --cert ca2.pem
	run -8 sk stp apply upd2.stp
	# A provisioned certificate is not a CA of the CA store.
	run -0 mk delroot.stp 7 delete-ca --name oem-root
	run -6 sk stp apply delroot.stp
	run -0 mk addroot.stp 7 add-ca --name oem-root --cert ca2.pem
	run -9 sk stp apply addroot.stp
	[ "$(last_seq)" -eq 6 ]
}

@test "rotate the command key: afterwards the old key's packages are refused, the new key's accepted" {
	mk_cert command2 oem/root leaf
	mk_root ca1
	run -0 mk old.stp 2 add-ca --name ca1 --cert ca1.pem
	# A rotation signed by anything but the current command key is refused.
	run -0 sk stp make --sign-key command2.key --seq 1 --command rotate-command-key --cert command2.pem --out self.stp
	run -7 --separate-stderr sk stp apply self.stp
	assert_one_error_line "seckit stp apply: STP (command key 'oem-command'): "
	run -0 mk rot.stp 1 rotate-command-key --cert command2.pem
	run -0 sk stp apply rot.stp
	piped got sk key export oem-command --out -
	cmp got <(pubkey_of_cert command2.pem)
	piped got sk cert get oem-command
	cmp got command2.pem
	run -0 sk --json key info oem-command
	[[ "$output" == *'"origin":"stp 1"'* ]]
	run -7 --separate-stderr sk stp apply old.stp
	assert_one_error_line "seckit stp apply: STP (command key 'oem-command'): "
	run -0 sk stp make --sign-key command2.key --seq 2 --command add-ca --name ca1 --cert ca1.pem --out new.stp
	run -0 sk stp apply new.stp
	# set-cert cannot sneak around rotation.
	run -0 sk stp make --sign-key command2.key --seq 3 --command set-cert --name oem-command --cert oem/command.pem --out sneak.stp
	run -7 sk stp apply sneak.stp
	piped got sk key export oem-command --out -
	cmp got <(pubkey_of_cert command2.pem)
}

@test "a locked store changes only through STPs: rotate-command-key, add/update/delete-ca, set-cert apply" {
	run -0 sk --json stp status
	[[ "$output" == *'"locked":true,"locked_since":"'* ]]
	mk_cert command2 oem/root leaf
	mk_root ca1
	mk_root ca2
	(cd oem && mk_root root2)
	# Locally: refused.
	printf 'version: 1\ncommand-key:\n  file: command2.pem\n  replace: true\n' > rot.yaml
	run -7 --separate-stderr sk provision rot.yaml
	assert_one_error_line "seckit provision: rot.yaml:3:3: certificate 'oem-command' exists and differs, and it is a trust anchor of a locked store: it cannot be replaced (use an STP)"
	# As STPs: applied.
	run -0 mk rot.stp 1 rotate-command-key --cert command2.pem
	run -0 sk stp apply rot.stp
	piped piped.out sk key export oem-command --out -
	cmp piped.out <(pubkey_of_cert command2.pem)
	piped piped.out sk cert get oem-command
	cmp piped.out command2.pem
	new() { # OUT SEQ CMD [options]: signed with the new command key
		local out=$1 seq=$2 cmd=$3
		shift 3
		sk stp make --sign-key command2.key --seq "$seq" --command "$cmd" "$@" --out "$out"
	}
	run -0 new add.stp 2 add-ca --name ca1 --cert ca1.pem
	run -0 sk stp apply add.stp
	run -0 new up.stp 3 update-ca --name ca1 --cert ca2.pem
	run -0 sk stp apply up.stp
	piped piped.out sk cert get ca1
	cmp piped.out ca2.pem
	run -0 new del.stp 4 delete-ca --name ca1
	run -0 sk stp apply del.stp
	run -8 sk cert get ca1
	run -0 new root.stp 5 set-cert --name oem-root --cert oem/root2.pem
	run -0 sk stp apply root.stp
	piped piped.out sk key export oem-root --out -
	cmp piped.out <(pubkey_of_cert oem/root2.pem)
	# Still locked; the factory manifest is now stale and refused (7).
	run -7 --separate-stderr sk provision m.yaml
	[[ "$stderr" == *"certificate 'oem-command' exists and differs"*"(use an STP)" ]]
	run -0 sk --json stp status
	[[ "$output" == *'"last_sequence":5,'*'"locked":true'* ]]
	run -0 mk old.stp 6 add-ca --name ca1 --cert ca1.pem
	run -7 sk stp apply old.stp
}

@test "replay, stale sequence numbers, other devices, and a failed command do not get through" {
	mk_root ca1
	run -0 mk a.stp 5 add-ca --name ca1 --cert ca1.pem
	run -0 sk stp apply a.stp
	run -7 --separate-stderr sk stp apply a.stp
	assert_one_error_line "seckit stp apply: replay: STP sequence number 5 is not above the last applied (5)"
	run -0 mk b.stp 4 delete-ca --name ca1
	run -7 sk stp apply b.stp
	# For another device (by public key file or by ID).
	mk_key other
	run -0 mk c.stp 6 delete-ca --name ca1 --device other.pub
	run -7 --separate-stderr sk stp apply c.stp
	assert_one_error_line "seckit stp apply: the STP is for another device"
	id=$(openssl pkey -pubin -in out/device.pub -outform DER | openssl dgst -sha256 -r | cut -c1-64)
	run -0 mk d.stp 6 delete-ca --name ca1 --device "$id"
	# A command that cannot run uses up nothing: 6 is still free.
	run -0 mk e.stp 6 delete-ca --name nosuch
	run -8 sk stp apply e.stp
	[ "$(last_seq)" -eq 5 ]
	run -0 sk stp apply d.stp
	run -8 sk cert get ca1
	# A device certificate for another key is refused; the device key stays.
	mk_cert alien oem/root leaf
	run -0 mk f.stp 7 set-cert --name device --cert alien.pem
	run -7 --separate-stderr sk stp apply f.stp
	assert_one_error_line "seckit stp apply: certificate 'device' does not match the public key of key 'device'"
	[ "$(last_seq)" -eq 6 ]
	# A store without a device key refuses device-bound packages; one
	# without a command key cannot verify anything (8).
	export SECKIT_STORE="$BATS_TEST_TMPDIR/bare"
	printf 'version: 1\ncommand-key:\n  file: oem/command.pem\n' > bare.yaml
	run -0 sk provision bare.yaml
	run -7 --separate-stderr sk stp apply d.stp
	assert_one_error_line "seckit stp apply: the STP is for one device, and this store has no device key 'device'"
	# (A store object, not a key: on pkcs11 keys go to the token and
	# make no store.)
	export SECKIT_STORE="$BATS_TEST_TMPDIR/empty"
	run -0 sk store write x --in bare.yaml
	run -8 --separate-stderr sk stp apply a.stp
	assert_one_error_line "seckit stp apply: no command key 'oem-command' in the store"
}

@test "every single-bit flip of an STP is rejected (7) and changes nothing" {
	run -0 sk cert issue --csr out/device.csr --ca-cert oem/root.pem --ca-key oem/root.key --days 30 --out dev.pem
	run -0 mk p.stp 1 set-cert --name device --cert dev.pem --device out/device.pub
	store_snapshot > before
	# On tpm2 one apply at a time: each unseals the master key (two objects
	# loaded) and the tests' swtpm, reached without a resource manager,
	# holds three (parallel applies failed with TPM_RC_OBJECT_MEMORY, 4).
	workers=4
	[ "$SK_BACKEND" != tpm2 ] || workers=1
	python3 - "$SECKIT" p.stp "$workers" <<-'EOF' >&3
	import concurrent.futures, subprocess, sys
	seckit, path, workers = sys.argv[1], sys.argv[2], int(sys.argv[3])
	data = open(path, "rb").read()
	def one(i):
	    b = bytearray(data)
	    b[i // 8] ^= 1 << (i % 8)
	    name = "flip%d.stp" % (i % 64)
	    with open(name, "wb") as f:
	        f.write(b)
	    r = subprocess.run([seckit, "stp", "apply", name], capture_output=True)
	    err = r.stderr.decode("ascii")  # raises on anything but plain ASCII
	    lines = err.strip().split("\n")
	    ok = (r.returncode == 7 and not r.stdout and len(lines) == 1
	          and lines[0].startswith("seckit stp apply: "))
	    return None if ok else (i, r.returncode, err)
	n = len(data) * 8
	with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as ex:
	    bad = [x for x in ex.map(one, range(n), chunksize=32) if x]
	print("%d flips, %d accepted or mishandled" % (n, len(bad)))
	for x in bad[:5]:
	    print(x)
	sys.exit(1 if bad else 0)
	EOF
	store_snapshot > after
	diff before after
	# The package itself still applies.
	run -0 sk stp apply p.stp
}

@test "kill -9 during apply, in a loop: the store always holds the state before or after, never a mix" {
	(cd oem && mk_root rootA && mk_root rootB)
	for x in root rootA rootB; do
		openssl x509 -in oem/$x.pem -noout -fingerprint -sha256 > $x.fp
		pubkey_of_cert oem/$x.pem | openssl pkey -pubin -outform DER | sha256sum > $x.kfp
	done
	state() { # "SEQ CERT KEY" with root, rootA or rootB for the certificate and the key
		local seq c k x
		seq=$(last_seq) || return 1
		c=$(sk cert get oem-root | openssl x509 -noout -fingerprint -sha256) || return 1
		k=$(sk key export oem-root --out - | openssl pkey -pubin -outform DER | sha256sum) || return 1
		for x in root rootA rootB; do
			[ "$c" = "$(cat $x.fp)" ] && c=$x
			[ "$k" = "$(cat $x.kfp)" ] && k=$x
		done
		echo "$seq $c $k"
	}
	crashes=0 applied=0
	expect="0 root root"
	points=(before-commit after-journal mid-buckets before-rename staged mid-rename after-commit)
	for i in $(seq 1 36); do
		read -r seq cur _ <<< "$expect"
		next=rootA
		[ "$cur" = rootA ] && next=rootB
		mk p.stp $((seq + 1)) set-cert --name oem-root --cert "oem/$next.pem"
		if [ $((i % 4)) -eq 0 ]; then
			# A deterministic crash inside the commit.
			SECKIT_TEST_CRASH_AT=${points[$(((i / 4) % 7))]} "$SECKIT_TESTBUILD" stp apply p.stp 2>/dev/null &
		else
			"$SECKIT" stp apply p.stp 2>/dev/null &
			sleep "$(printf "0.%03d" $((RANDOM % 30)))"
			kill -9 $! 2>/dev/null || true
		fi
		wait $! || crashes=$((crashes + 1))
		backend_after_kill
		got=$(state)
		if [ "$got" = "$((seq + 1)) $next $next" ]; then
			applied=$((applied + 1))
		elif [ "$got" != "$expect" ]; then
			echo "iteration $i: expected '$expect' or '$((seq + 1)) $next $next', found '$got'" >&2
			return 1
		fi
		expect=$got
	done
	echo "$crashes killed, $applied applied" >&3
	[ "$crashes" -gt 0 ]
	# Whatever happened, the store is consistent and usable.
	read -r seq _ <<< "$expect"
	mk q.stp $((seq + 1)) set-cert --name oem-root --cert oem/root.pem
	run -0 sk stp apply q.stp
	[ "$(state)" = "$((seq + 1)) root root" ]
}

@test "cert verify agrees with openssl verify -crl_check_all on revoked leaves and CAs" {
	mk_root root
	mk_cert inter root ca_ext
	mk_cert inter2 root ca_ext
	mk_cert good inter leaf
	mk_cert revoked inter leaf
	mk_cert byserial inter leaf
	mk_cert under2 inter2 leaf
	mk_cert expired inter leaf "$(date_z '-20 days')" "$(date_z '-10 days')"
	printf 'version: 1\nca:\n  - name: root\n    file: root.pem\n' > ca.yaml
	run -0 sk provision ca.yaml
	# seckit: revocations arrive as STPs.
	run -0 mk r1.stp 1 revoke --cert revoked.pem
	run -0 mk r2.stp 2 revoke --cert inter.pem --serial "$(openssl x509 -in byserial.pem -noout -serial | cut -d= -f2)"
	run -0 mk r3.stp 3 revoke --cert inter2.pem
	for p in r1 r2 r3; do run -0 sk stp apply $p.stp; done
	# openssl: the same revocations as CRLs from each CA.
	openssl_revoke inter revoked.pem
	openssl_revoke inter byserial.pem
	openssl_revoke root inter2.pem
	for c in root inter inter2; do openssl_crl $c; done
	cat inter.pem inter2.pem > chain.pem
	for leaf in good revoked byserial under2 expired; do
		run sk cert verify $leaf.pem --chain chain.pem
		s=$status
		o=0
		openssl verify -crl_check_all -CRLfile root.crl.pem -CRLfile inter.crl.pem \
			-CRLfile inter2.crl.pem -CAfile root.pem -untrusted chain.pem $leaf.pem >/dev/null 2>&1 || o=7
		echo "$leaf: seckit $s, openssl $o" >&3
		[ "$s" -eq "$o" ]
	done
	run -0 sk cert verify good.pem --chain chain.pem
	run -7 sk cert verify under2.pem --chain chain.pem
}

@test "stp make: bad input is a usage error (2) or a failed check (7); nothing is written" {
	mk_root ca1
	run -2 mk x.stp 1 launch-missiles --name a
	run -2 mk x.stp 0 delete-ca --name a
	run -2 mk x.stp -1 delete-ca --name a
	run -2 mk x.stp 9223372036854775808 delete-ca --name a
	run -2 mk x.stp 1 delete-ca
	run -2 mk x.stp 1 delete-ca --name a --cert ca1.pem
	run -2 mk x.stp 1 set-cert --name a
	run -2 mk x.stp 1 revoke --name a --cert ca1.pem
	run -2 mk x.stp 1 rotate-command-key --cert ca1.pem --serial 12
	run -2 mk x.stp 1 delete-ca --name "bad/name"
	run -2 mk x.stp 1 delete-ca --name a --device nothex
	run -2 mk x.stp 1 delete-ca --name a --time yesterday
	run -2 mk x.stp 1 delete-ca --name a --digest md5
	run -2 mk x.stp 1 revoke --cert ca1.pem --serial xyz
	run -7 --separate-stderr mk x.stp 1 add-ca --name a --cert oem/command.pem
	assert_one_error_line "seckit stp make: add-ca: the certificate is not a CA certificate"
	run -7 mk x.stp 1 add-ca --name a --cert oem/payload.pub
	run -2 sk stp make --seq 1 --command delete-ca --name a --out x.stp
	run -2 sk stp make --sign-key oem/command.key --key k --seq 1 --command delete-ca --name a --out x.stp
	run -1 sk stp make --sign-key nosuch.key --seq 1 --command delete-ca --name a --out x.stp
	assert_absent x.stp
	# RSA-PSS and SHA-384 signatures apply like any other.
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa.key 2>/dev/null
	openssl req -new -key rsa.key -subj /CN=rsa-command -out rsa.csr
	openssl_ca oem/root rsa.csr rsa.pem leaf
	run -0 mk rot.stp 1 rotate-command-key --cert rsa.pem
	run -0 sk stp apply rot.stp
	run -0 sk stp make --sign-key rsa.key --pss --digest sha384 --seq 2 --command add-ca --name ca1 \
		--cert ca1.pem --time 2030-01-01T00:00:00Z --out pss.stp
	run -0 sk --json stp show pss.stp
	[[ "$output" == *'"signing_time":"2030-01-01T00:00:00Z"'*'rsassa-pss'* ]]
	run -0 sk stp apply pss.stp
}

@test "stp show and apply: garbage, truncation, other package types, oversized input" {
	run -0 mk p.stp 1 delete-ca --name x
	run -0 sk --json stp show p.stp
	python3 -c '
import json, sys
d = json.loads(sys.argv[1])
assert d["command"] == "delete-ca" and d["target"] == "x" and d["sequence"] == 1, d
assert d["device"] is None and d["certificate"] is None and len(d["signer"]["fingerprint"]) == 64, d
assert d["signer"]["key"] is None and d["status"] == "unverified" and "verified" not in d, d
' "$output"
	echo "hello" > junk.stp
	run -7 --separate-stderr sk stp show junk.stp
	assert_one_error_line "seckit stp show: "
	[ -z "$output" ]
	run -7 sk stp apply junk.stp
	n=$(wc -c < p.stp)
	for cut in 1 2 10 $((n / 2)) $((n - 1)); do
		head -c $cut p.stp > cut.stp
		run -7 sk stp apply cut.stp
	done
	{ cat p.stp; printf '\0'; } > trail.stp
	run -7 sk stp apply trail.stp
	# The same bytes with another package type (the signature breaks, but
	# the type is what is refused first).
	python3 - <<-'EOF'
	b = bytearray(open("p.stp", "rb").read())
	i = b.find(bytes.fromhex("0801 05".replace(" ", "")))
	b[i + 2] = 0x01
	open("other.pkg", "wb").write(b)
	EOF
	run -7 --separate-stderr sk stp apply other.pkg
	assert_one_error_line "seckit stp apply: "
	[ "$stderr" = "seckit stp apply: other.pkg: a payload package, not an STP" ]
	head -c 2000000 /dev/zero > big.stp
	run -1 sk stp apply big.stp
	run -1 sk stp apply nosuch.stp
	[ "$(last_seq)" -eq 0 ]
}

@test "anchors: every CA of the store is an anchor on its own, as with openssl verify -partial_chain" {
	mk_root oldroot "$(date_z '-20 days')" "$(date_z '-1 day')"
	mk_cert mid oldroot ca_ext "$(date_z '-10 days')" "$(date_z '+10 days')"
	mk_cert leaf mid leaf
	mk_root root
	mk_cert mid2 root ca_ext
	mk_cert leaf2 mid2 leaf
	mk_cert mid3 root ca_ext
	mk_cert leaf3 mid3 leaf
	for i in 1 2 3; do mk_root "other$i"; done
	{
		echo "version: 1"
		echo "ca:"
		for c in other1 mid oldroot other2 mid2 root other3; do
			printf '  - name: %s\n    file: %s.pem\n' "$c" "$c"
		done
	} > ca.yaml
	run -0 sk provision ca.yaml
	cat other1.pem mid.pem oldroot.pem other2.pem mid2.pem root.pem other3.pem > bundle.pem
	same() { # FILE WANT [untrusted]
		local o=0 u=()
		[ $# -ge 3 ] && u=(-untrusted "$3")
		run sk cert verify "$1" ${3:+--chain "$3"}
		[ "$status" -eq "$2" ] || { echo "seckit $1: $status, want $2: $output" >&2; return 1; }
		openssl verify -partial_chain -CAfile bundle.pem "${u[@]}" "$1" >/dev/null 2>&1 || o=7
		[ "$o" -eq "$2" ] || { echo "openssl $1: $o, want $2" >&2; return 1; }
	}
	# A trusted intermediate under an expired root: the chain ends at it.
	same leaf.pem 0
	same leaf2.pem 0
	# An intermediate offered with the certificate leads to its root.
	same leaf3.pem 7
	same leaf3.pem 0 mid3.pem
	# Revoking the root: what only it anchors fails; an intermediate that
	# was itself put in the CA store must be revoked itself.
	run -0 mk r.stp 1 revoke --cert root.pem
	run -0 sk stp apply r.stp
	run -7 --separate-stderr sk cert verify leaf3.pem --chain mid3.pem
	assert_one_error_line "seckit cert verify: 'CN=root': certificate revoked (depth 2)"
	run -0 sk cert verify leaf2.pem
	run -0 mk r2.stp 2 revoke --cert mid2.pem
	run -0 sk stp apply r2.stp
	run -7 --separate-stderr sk cert verify leaf2.pem
	assert_one_error_line "seckit cert verify: 'CN=mid2': certificate revoked (depth 1)"
}

@test "stp make signs with the config's defaults.digest when --digest is not given, under the trust policy" {
	{ cat "$SECKIT_CONFIG"; printf 'defaults:\n  digest: sha384\n'; } > c384.yaml
	run -0 sk --config c384.yaml stp make --sign-key oem/command.key --seq 1 --command delete-ca --name x --out d.stp
	run -0 sk --json stp show d.stp
	[[ "$output" == *'"signature_algorithm":"ecdsa-with-SHA384"'* ]]
	# A legacy default (the config allows sha1 for key sign) is no digest for an STP.
	{ cat "$SECKIT_CONFIG"; printf 'defaults:\n  digest: sha1\n'; } > c1.yaml
	sk_fails 2 "stp make: " --config c1.yaml stp make --sign-key oem/command.key --seq 1 --command delete-ca --name x --out e.stp
	[[ "$stderr" == *"defaults.digest"*"sha1"* ]]
	assert_absent e.stp
}

@test "an STP with a sequence number of 12 digits or more: the key it installs stays readable" {
	(cd oem && mk_root root2)
	run -0 mk root.stp 100000000000 set-cert --name oem-root --cert oem/root2.pem
	run -0 sk stp apply root.stp
	run -0 sk --json key info oem-root
	[[ "$output" == *'"origin":"stp 100000000000"'* ]]
	(cd oem && mk_root root3)
	run -0 mk root3.stp 9223372036854775807 set-cert --name oem-root --cert oem/root3.pem
	run -0 sk stp apply root3.stp
	run -0 sk --json key info oem-root
	[[ "$output" == *'"origin":"stp 9223372036854775807"'* ]]
	run -0 sk key list
}
