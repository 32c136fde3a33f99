#!/usr/bin/env bats
# seckit provision: the factory step from a YAML manifest; idempotent,
# --dry-run, conflicts (9) and manifest errors (3) at file:line:column.

load helper
load trust

setup() {
	common_setup
	mk_oem_pki
	cp "$SECKIT_SRC/manifest.example.yaml" m.yaml
	export WIFI_PASSPHRASE=correct-horse
}

@test "the example manifest provisions a device; a second run changes nothing" {
	run -0 sk provision m.yaml
	[ -z "$output" ]
	# Keys: the device key (private, provisioned, not exportable) and the
	# OEM public keys, the root's taken from its certificate.
	run -0 sk --json key info device
	[[ "$output" == *'"provisioned":true'* && "$output" == *'"exportable":false'* && "$output" == *'"public_only":false'* ]]
	for k in oem-payload fleet-telemetry oem-command oem-root; do
		run -0 sk --json key info "$k"
		[[ "$output" == *'"provisioned":true'* && "$output" == *'"public_only":true'* ]]
	done
	sk key export oem-root --out root.pub
	openssl x509 -in oem/root.pem -noout -pubkey | cmp - root.pub
	sk key export oem-command --out command.pub
	openssl x509 -in oem/command.pem -noout -pubkey | cmp - command.pub
	sk key export oem-payload --out payload.pub
	cmp payload.pub oem/payload.pub
	# The run locked the trust anchors (6 on a store not locked yet).
	sk_fails 7 "key delete: key 'oem-root' is a trust anchor of a locked store: it cannot be deleted (use an STP)" \
		key delete oem-root
	# Certificates, CA store, CSR.
	run -0 sk cert list --names
	[ "$output" = "$(printf 'acme-issuing\ncloud-root\ndevice-csr\noem-command\noem-root')" ]
	run -0 sk cert list --ca --names
	[ "$output" = acme-issuing ]
	sk cert get oem-root --out got.pem
	cmp got.pem oem/root.pem
	# The device CSR and public key for enrollment.
	run -0 openssl req -in out/device.csr -noout -verify -subject -nameopt rfc2253
	[[ "$output" == *"subject=O=Acme Devices,CN=dev-0001"* ]]
	sk key export device --out dev.pub
	cmp dev.pub out/device.pub
	openssl req -in out/device.csr -noout -pubkey | cmp - dev.pub
	piped got sk cert get device-csr
	cmp got out/device.csr
	# The password object works with the secret from the environment.
	run -0 sk key create vaulted --type aes-256 --password-object wifi --pass env:WIFI_PASSPHRASE
	run -5 sk key create other --type aes-256 --password-object wifi --pass pass:wrong
	sk key delete vaulted --pass env:WIFI_PASSPHRASE
	# Second run: same store bytes, same output files, exit 0.
	store_snapshot > before
	cp out/device.csr csr.1
	run -0 --separate-stderr sk --json provision m.yaml
	[[ "$output" == *'"changed":false,"changes":0}' ]]
	[[ "$output" != *'"action":"create"'* && "$output" != *'"action":"replace"'* ]]
	store_snapshot > after
	diff before after
	cmp csr.1 out/device.csr
}

@test "--dry-run prints the plan and creates nothing, not even the store" {
	run -0 sk provision --dry-run m.yaml
	[[ "${lines[0]}" == "create   key              device (ec-p256)" ]]
	[[ "$output" == *"create   certificate      oem-root (CN=root)"* ]]
	[[ "$output" == *"create   key              oem-root (from the certificate)"* ]]
	[[ "$output" == *"create   CA               acme-issuing (CN=issuing-ca)"* ]]
	[[ "$output" == *"write    file             out/device.csr (device CSR)"* ]]
	[[ "${lines[-1]}" == "create   lock             trust anchors (only STPs change them from now on)" ]]
	assert_absent "$SECKIT_STORE"
	assert_absent out/device.csr
	run -0 sk provision m.yaml
	run -0 sk provision -n m.yaml
	[[ "$output" != *create* && "$output" != *replace* ]]
	[[ "$output" == *"keep     certificate      oem-root"* ]]
	[[ "${lines[-1]}" == "keep     lock             trust anchors (locked)" ]]
	# A change the manifest does not allow (the run locked the store): the
	# dry run says so too.
	sed -i 's|oem/root.pem|oem/cloud-root.pem|' m.yaml
	run -7 --separate-stderr sk provision --dry-run m.yaml
	assert_one_error_line "seckit provision: m.yaml:"
	[[ "$stderr" == *"(use an STP)" ]]
}

@test "a run that would change a provisioned item refuses (9, file:line:column, nothing written) unless replace: true" {
	# Before the store is locked (a factory's earlier passes).
	write_manifest() { # ROOT PAYLOAD ROOT-REPLACE PAYLOAD-REPLACE
		cat > r.yaml <<-EOF
		version: 1
		lock: false
		device-key:
		  type: ec-p256
		public-keys:
		  - name: oem-payload
		    file: $2
		    replace: $4
		certificates:
		  - name: oem-root
		    file: $1
		    key: oem-root
		    replace: $3
		EOF
	}
	write_manifest oem/root.pem oem/payload.pub false false
	run -0 sk provision r.yaml
	sk key export device --out dev.pub
	store_snapshot > before
	# Another OEM root certificate (and so another OEM root key) and
	# another payload key.
	(cd oem && mk_root newroot)
	mk_key pay2
	write_manifest oem/newroot.pem oem/payload.pub false false
	run -9 --separate-stderr sk provision r.yaml
	assert_one_error_line "seckit provision: r.yaml:10:5: certificate 'oem-root' exists and differs (set replace: true to replace it)"
	write_manifest oem/root.pem pay2.pub false false
	run -9 --separate-stderr sk provision r.yaml
	assert_one_error_line "seckit provision: r.yaml:6:5: key 'oem-payload' exists with another public key (set replace: true to replace it)"
	write_manifest oem/newroot.pem pay2.pub true false
	run -9 sk provision r.yaml
	store_snapshot > after
	diff before after
	# Allowed per item ...
	write_manifest oem/newroot.pem pay2.pub true true
	run -0 sk provision r.yaml
	piped got sk cert get oem-root
	cmp got oem/newroot.pem
	sk key export oem-root --out root.pub
	openssl x509 -in oem/newroot.pem -noout -pubkey | cmp - root.pub
	piped got sk key export oem-payload --out -
	cmp got pay2.pub
	# ... or for the whole manifest.
	write_manifest oem/root.pem oem/payload.pub false false
	sed -i '/^    replace:/d' r.yaml
	printf 'replace: true\n' >> r.yaml
	run -0 sk provision r.yaml
	piped got sk cert get oem-root
	cmp got oem/root.pem
	# The device key was never touched.
	piped got sk key export device --out -
	cmp got dev.pub
}

@test "password objects: env: and file: secrets; another secret is a conflict; inline secrets are refused" {
	printf 'version: 1\npasswords:\n  - name: a\n    secret: env:PA\n  - name: b\n    secret: file:secret.txt\n' > p.yaml
	echo "from-a-file" > secret.txt
	export PA=from-env
	run -0 sk provision p.yaml
	run -0 sk key create ka --type aes-128 --password-object a --pass pass:from-env
	run -0 sk key create kb --type aes-128 --password-object b --pass pass:from-a-file
	run -0 sk provision p.yaml
	export PA=changed
	run -9 --separate-stderr sk provision p.yaml
	assert_one_error_line "seckit provision: p.yaml:3:5: password object 'a' exists with another secret"
	unset PA
	run -3 --separate-stderr sk provision p.yaml
	assert_one_error_line "seckit provision: p.yaml:3:5: password object 'a': "
	printf 'version: 1\npasswords:\n  - name: c\n    secret: pass:hunter2\n' > inline.yaml
	run -3 --separate-stderr sk provision inline.yaml
	assert_one_error_line "seckit provision: inline.yaml:4:13: a secret must be env:VAR or file:PATH (never inline)"
	export PE=
	printf 'version: 1\npasswords:\n  - name: c\n    secret: env:PE\n' > empty.yaml
	run -3 sk provision empty.yaml
}

# bad_manifest WANT_LINE:COL BODY...: the manifest is refused with exit 3
# at that place, and nothing is created.
bad_manifest() {
	local at=$1
	shift
	printf '%s\n' "$@" > bad.yaml
	run -3 --separate-stderr sk provision bad.yaml
	assert_one_error_line "seckit provision: bad.yaml:$at: "
	[ -z "$output" ]
	assert_absent "$SECKIT_STORE"
}

@test "manifest errors are exit 3 at file:line:column and create nothing" {
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out priv.pem 2>/dev/null
	bad_manifest 1:1 "versoin: 1"
	bad_manifest 2:1 "version: 1" "colour: blue"
	bad_manifest 1:10 "version: 2"
	bad_manifest 2:14 "version: 1" "public-keys: oem"
	bad_manifest 3:5 "version: 1" "public-keys:" "  - file: oem/payload.pub"
	bad_manifest 4:11 "version: 1" "public-keys:" "  - name: k" "    file: nosuch.pub"
	bad_manifest 4:11 "version: 1" "public-keys:" "  - name: k" "    file: priv.pem"
	bad_manifest 4:11 "version: 1" "public-keys:" "  - name: k" "    file: oem/root.pem"
	bad_manifest 3:5 "version: 1" "public-keys:" "  - name: k" "    file: oem/payload.pub" "    pem: x"
	bad_manifest 3:5 "version: 1" "public-keys:" "  - name: k"
	bad_manifest 3:11 "version: 1" "public-keys:" "  - name: no/slash" "    file: oem/payload.pub"
	bad_manifest 5:5 "version: 1" "public-keys:" "  - name: k" "    file: oem/payload.pub" \
		"  - name: k" "    file: oem/payload.pub"
	bad_manifest 4:11 "version: 1" "ca:" "  - name: c" "    file: oem/command.pem"
	bad_manifest 4:11 "version: 1" "certificates:" "  - name: c" "    file: oem/payload.pub"
	bad_manifest 4:10 "version: 1" "certificates:" "  - name: c" "    pem: not a certificate"
	bad_manifest 3:12 "version: 1" "device-key:" "  replace: true"
	bad_manifest 3:9 "version: 1" "device-key:" "  type: aes-256"
	bad_manifest 4:14 "version: 1" "device-key:" "  csr:" "    subject: CN=no-slash"
	bad_manifest 3:8 "version: 1" "device-key:" "  csr: {}"
	bad_manifest 3:9 "version: 1" "command-key:" "  file: priv.pem"
	bad_manifest 2:10 "version: 1" "replace: maybe"
	bad_manifest 3:5 "version: 1" "certificates:" "  - name: oem-root" "    file: oem/root.pem" \
		"    key: k" "public-keys:" "  - name: k" "    file: oem/payload.pub"
	# Not YAML at all, and an empty file.
	printf 'version: [1\n' > broken.yaml
	run -3 --separate-stderr sk provision broken.yaml
	assert_one_error_line "seckit provision: broken.yaml:"
	: > empty.yaml
	run -3 sk provision empty.yaml
	run -3 --separate-stderr sk provision nosuch.yaml
	assert_one_error_line "seckit provision: manifest: "
	assert_absent "$SECKIT_STORE"
}

@test "version: \"1\" is a string, and the message says so instead of \"expected 1 to 1, found '1'\"" {
	bad_manifest 1:10 'version: "1"'
	[[ "$stderr" == *': expected the integer 1, found the string "1" (a quoted value is a string; write it without quotes)' ]]
	bad_manifest 1:10 "version: 2"
	[[ "$stderr" == *": expected the integer 1, found '2'" ]]
	bad_manifest 2:10 "version: 1" 'replace: "yes"'
	[[ "$stderr" == *': expected true or false, found the string "yes" (a quoted value is a string; write it without quotes)' ]]
}

@test "the device certificate must match the device key; provisioning never replaces the device key" {
	cat > d.yaml <<-EOF
	version: 1
	lock: false
	device-key:
	  type: ec-p256
	  csr:
	    subject: /CN=dev-9
	    out: dev.csr
	EOF
	run -0 sk provision d.yaml
	# Enrollment by plain openssl: x509 -req with the OEM root.
	openssl x509 -req -in dev.csr -CA oem/root.pem -CAkey oem/root.key -CAcreateserial \
		-days 30 -out dev.pem 2>/dev/null
	run -0 openssl verify -CAfile oem/root.pem dev.pem
	printf 'certificates:\n  - name: device\n    file: dev.pem\n  - name: oem-root\n    file: oem/root.pem\n' >> d.yaml
	run -0 sk provision d.yaml
	run -0 sk cert verify dev.pem
	run -0 sk --json cert list --provisioned
	[[ "$output" == *'"name":"device","kind":"provisioned"'*'"key":"device"'* ]]
	# A certificate for another key is refused (7).
	mk_cert alien oem/root leaf
	sed -i 's|file: dev.pem|file: alien.pem|' d.yaml
	sed -i 's|^  - name: device$|  - name: device\n    replace: true|' d.yaml
	run -7 --separate-stderr sk provision d.yaml
	assert_one_error_line "seckit provision: d.yaml:"
	# Another key type for the device key: a conflict, never a new key.
	sed -i 's|type: ec-p256|type: ec-p384|' d.yaml
	run -9 sk provision d.yaml
}

@test "locked store: a second provision cannot replace the command key, a certificate, a CA or a public key (7, use an STP)" {
	run -0 sk provision m.yaml
	mk_key evil
	store_snapshot > before
	# The attack of issue 17: the OEM command key replaced without a signature.
	printf 'version: 1\ncommand-key:\n  file: evil.pub\n  replace: true\n' > evil.yaml
	sk_fails 7 "provision: evil.yaml:3:3: key 'oem-command' exists and differs, and it is a trust anchor of a locked store: it cannot be replaced (use an STP)" \
		provision evil.yaml
	# Every kind of anchor, with replace: true for the whole manifest.
	(cd oem && mk_root root2)
	printf 'version: 1\nreplace: true\ncertificates:\n  - name: oem-root\n    file: oem/root2.pem\n    key: oem-root\n' > cert.yaml
	sk_fails 7 "provision: cert.yaml:4:5: certificate 'oem-root' exists and differs, and it is a trust anchor of a locked store" \
		provision cert.yaml
	printf 'version: 1\nreplace: true\nca:\n  - name: acme-issuing\n    file: oem/root2.pem\n' > ca.yaml
	sk_fails 7 "provision: ca.yaml:4:5: CA 'acme-issuing' exists and differs, and it is a trust anchor of a locked store" \
		provision ca.yaml
	printf 'version: 1\nreplace: true\npublic-keys:\n  - name: oem-payload\n    file: evil.pub\n' > pub.yaml
	sk_fails 7 "provision: pub.yaml:4:5: key 'oem-payload' exists and differs, and it is a trust anchor of a locked store" \
		provision pub.yaml
	# A new certificate that would bring another key for an anchor.
	printf 'version: 1\ncertificates:\n  - name: new-cert\n    file: oem/root2.pem\n    key: oem-command\n' > link.yaml
	run -7 --separate-stderr sk provision link.yaml
	[[ "$stderr" == *"key 'oem-command'"*"(use an STP)" ]]
	# --dry-run says the same.
	run -7 sk provision --dry-run evil.yaml
	store_snapshot > after
	diff before after
	# Nothing replaced: packages signed by the evil key are still refused,
	# those of the OEM command key apply.
	sk stp make --sign-key evil.key --seq 1 --command add-ca --name evil-ca --cert oem/root2.pem --out evil.stp
	run -7 --separate-stderr sk stp apply evil.stp
	assert_one_error_line "seckit stp apply: STP (command key 'oem-command'): "
	run -8 sk cert get evil-ca
	piped piped.out sk key export oem-command --out -
	cmp piped.out <(openssl x509 -in oem/command.pem -noout -pubkey)
	# The same manifest again replaces nothing, replace: true or not: 0.
	sed -i 's/^replace: false/replace: true/' m.yaml
	run -0 --separate-stderr sk --json provision m.yaml
	[[ "$output" == *'"changed":false,"changes":0}' ]]
	[[ "$output" == *'{"action":"keep","what":"lock","name":"trust anchors","detail":"locked"}'* ]]
	store_snapshot > after
	diff before after
	# What is missing may still be added (here a new CA and a public key).
	printf 'version: 1\nca:\n  - name: extra-ca\n    file: oem/root2.pem\npublic-keys:\n  - name: extra\n    file: evil.pub\n' > add.yaml
	run -0 sk provision add.yaml
	run -0 sk cert get extra-ca
	run -0 --separate-stderr sk --json key info extra
	[[ "$output" == *'"provisioned":true,"locked":true'* ]]
}

@test "store write and store delete do not reach keys or certificates (their own namespace)" {
	run -0 sk provision m.yaml
	mk_key evil
	sk key export oem-command --out cmd.before
	sk cert get oem-root --out root.before
	run -0 sk store write oem-command --in evil.pub
	run -0 sk store write oem-root --in evil.pub
	run -0 sk store delete oem-command
	sk_fails 8 "store delete: " store delete oem-payload
	piped piped.out sk key export oem-command --out -
	cmp piped.out cmd.before
	piped piped.out sk cert get oem-root
	cmp piped.out root.before
	run -0 sk store read oem-root
	[ "$output" = "$(cat evil.pub)" ]
	run -0 sk store check
}

@test "lock: false: a factory provisions in passes; the first run without it locks, and nothing unlocks" {
	mk_key pay2
	# Pass 1: the device key and the command key.
	printf 'version: 1\nlock: false\ndevice-key:\ncommand-key:\n  file: oem/command.pem\n' > p1.yaml
	run -0 sk provision p1.yaml
	run -0 sk stp status
	[[ "${lines[-1]}" == "trust anchors: not locked (provisioning not finished)" ]]
	run -0 sk --json stp status
	[[ "$output" == *'"locked":false,"locked_since":null}' ]]
	run -0 sk --json key info oem-command
	[[ "$output" == *'"provisioned":true,"locked":false'* ]]
	# Not locked: a provisioned key is still refused by key commands (7,
	# 9), and a later pass may replace what it says it replaces.
	sk_fails 7 "key delete: key 'oem-command' is provisioned" key delete oem-command
	sk_fails 9 "key import: key 'oem-command' already exists and is provisioned" key import oem-command --in pay2.pub
	printf 'version: 1\nlock: false\npublic-keys:\n  - name: oem-payload\n    file: oem/payload.pub\n' > p2.yaml
	run -0 sk provision p2.yaml
	printf 'version: 1\nlock: false\npublic-keys:\n  - name: oem-payload\n    file: pay2.pub\n    replace: true\n' > p3.yaml
	run -0 sk provision p3.yaml
	piped piped.out sk key export oem-payload --out -
	cmp piped.out pay2.pub
	run -0 sk --json stp status
	[[ "$output" == *'"locked":false'* ]]
	# The final pass (no lock: line) locks, in the commit of its changes.
	cp m.yaml final.yaml
	sed -i 's|file: oem/payload.pub|file: pay2.pub|' final.yaml
	run -0 --separate-stderr sk -v provision final.yaml
	[[ "$output" == *"create   lock             trust anchors (only STPs change them from now on)"* ]]
	run -0 sk stp status
	[[ "${lines[-1]}" == "trust anchors: locked since "*" (only STPs change them)" ]]
	run -0 sk --json stp status
	[[ "$output" == *'"locked":true,"locked_since":"'*'Z"}' ]]
	run -0 sk key info oem-command
	[[ "$output" == *"locked:          yes (a trust anchor: only an STP changes it)"* ]]
	# lock: false later does not unlock.
	sed -i 's|pay2.pub|oem/payload.pub|' p3.yaml
	sk_fails 7 "provision: p3.yaml:4:5: key 'oem-payload' exists and differs, and it is a trust anchor of a locked store" \
		provision p3.yaml
	run -0 sk provision p1.yaml
	run -0 sk --json stp status
	[[ "$output" == *'"locked":true'* ]]
}

@test "key delete, import and create over a locked anchor: 7 (use an STP); other keys as usual" {
	run -0 sk provision m.yaml
	mk_key other
	for k in oem-command oem-root oem-payload device; do
		sk_fails 7 "key delete: key '$k' is a trust anchor of a locked store: it cannot be deleted (use an STP)" \
			key delete "$k"
		sk_fails 7 "key import: key '$k' is a trust anchor of a locked store: it cannot be replaced (use an STP)" \
			key import "$k" --in other.pub
	done
	sk_fails 7 "key create: key 'device' is a trust anchor of a locked store: it cannot be replaced (use an STP)" \
		key create device --type ec-p256
	piped piped.out sk key export oem-command --out -
	cmp piped.out <(openssl x509 -in oem/command.pem -noout -pubkey)
	# Keys that are not anchors, and anchors that are missing.
	run -0 sk key create mine --type ec-p256
	run -0 sk key delete mine
	run -0 sk key import vendor-x --in other.pub --provisioned
	sk_fails 7 "key delete: key 'vendor-x' is a trust anchor of a locked store" key delete vendor-x
}

@test "outputs are prepared before the commit: a path that cannot be created fails the run, and nothing is written" {
	rmdir out
	# A new store: not even the store is created.
	sk_fails 1 "provision: device public key: creating '" provision m.yaml
	assert_absent "$SECKIT_STORE"
	# An existing store (an earlier pass): it reads back unchanged.
	printf 'version: 1\nlock: false\ncommand-key:\n  file: oem/command.pem\n' > p1.yaml
	run -0 sk provision p1.yaml
	run -0 sk key list
	keys_before=$output
	run -0 sk stp status
	status_before=$(grep -v '^trust time:' <<< "$output")
	store_snapshot > before
	sk_fails 1 "provision: device public key: creating 'out/device.pub': No such file or directory" provision m.yaml
	store_snapshot > after
	diff before after
	run -0 sk key list
	[ "$output" = "$keys_before" ]
	run -0 sk stp status
	[ "$(grep -v '^trust time:' <<< "$output")" = "$status_before" ]
	run -8 sk key info device
	# One output can be made, the other cannot: neither is left behind.
	mkdir out
	sed -i 's|out: out/device.csr|out: nosuch/device.csr|' m.yaml
	sk_fails 1 "provision: device CSR: creating 'nosuch/device.csr'" provision m.yaml
	assert_absent out/device.pub
	assert_no_debris out
	store_snapshot > after
	diff before after
	sed -i 's|out: nosuch/device.csr|out: out/device.csr|' m.yaml
	run -0 sk provision m.yaml
	piped piped.out sk key export device --out -
	cmp piped.out out/device.pub
	run -0 openssl req -in out/device.csr -noout -verify
	assert_no_debris out
}

@test "an unset env: secret is exit 3 and leaves no store directory behind" {
	unset WIFI_PASSPHRASE
	sk_fails 3 "provision: m.yaml:" provision m.yaml
	[[ "$stderr" == *"password object 'wifi': "*"WIFI_PASSPHRASE"* ]]
	assert_absent "$SECKIT_STORE"
	assert_absent out/device.pub
	assert_absent out/device.csr
}

@test "the lock holds below the commands: the library refuses a local change of an anchor, lets an STP through" {
	run -0 sk provision m.yaml
	(cd oem && mk_root root2)
	mk_key new
	store_snapshot > before
	run -0 "$SECKIT_SRC/build/unit/trust-lock" oem/root2.pem new.pub
	[[ "$output" == *"ok 20 - a command key by an STP" ]]
	store_snapshot > after
	diff before after
}

@test "a key file whose public half belongs to another private key is refused (3, at its line), nothing written" {
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out a.pem 2>/dev/null
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out b.pem 2>/dev/null
	openssl ec -in a.pem -outform DER -out a.der 2>/dev/null
	openssl pkey -in b.pem -pubout -outform DER -out b.der
	{ head -c -65 a.der; tail -c 65 b.der; } > mixed.der
	printf 'version: 1\npublic-keys:\n  - name: k\n    file: mixed.der\n' > k.yaml
	run -3 --separate-stderr sk provision k.yaml
	assert_one_error_line "seckit provision: k.yaml:4:"
	[[ "$stderr" == *"does not belong to its private key"* ]]
	assert_absent "$SECKIT_STORE"
}
