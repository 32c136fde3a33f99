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
	run -6 sk key delete oem-root
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
	sk cert get device-csr | cmp - out/device.csr
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
	assert_absent "$SECKIT_STORE"
	assert_absent out/device.csr
	run -0 sk provision m.yaml
	run -0 sk provision -n m.yaml
	[[ "$output" != *create* && "$output" != *replace* ]]
	[[ "$output" == *"keep     certificate      oem-root"* ]]
	# A change the manifest does not allow: the dry run says so too.
	sed -i 's|oem/root.pem|oem/cloud-root.pem|' m.yaml
	run -9 --separate-stderr sk provision --dry-run m.yaml
	assert_one_error_line "seckit provision: m.yaml:"
}

@test "a run that would change a provisioned item refuses (9, file:line:column, nothing written) unless replace: true" {
	write_manifest() { # ROOT PAYLOAD ROOT-REPLACE PAYLOAD-REPLACE
		cat > r.yaml <<-EOF
		version: 1
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
	assert_one_error_line "seckit provision: r.yaml:9:5: certificate 'oem-root' exists and differs (set replace: true to replace it)"
	write_manifest oem/root.pem pay2.pub false false
	run -9 --separate-stderr sk provision r.yaml
	assert_one_error_line "seckit provision: r.yaml:5:5: key 'oem-payload' exists with another public key (set replace: true to replace it)"
	write_manifest oem/newroot.pem pay2.pub true false
	run -9 sk provision r.yaml
	store_snapshot > after
	diff before after
	# Allowed per item ...
	write_manifest oem/newroot.pem pay2.pub true true
	run -0 sk provision r.yaml
	sk cert get oem-root | cmp - oem/newroot.pem
	sk key export oem-root --out root.pub
	openssl x509 -in oem/newroot.pem -noout -pubkey | cmp - root.pub
	sk key export oem-payload --out - | cmp - pay2.pub
	# ... or for the whole manifest.
	write_manifest oem/root.pem oem/payload.pub false false
	sed -i '/^    replace:/d' r.yaml
	printf 'replace: true\n' >> r.yaml
	run -0 sk provision r.yaml
	sk cert get oem-root | cmp - oem/root.pem
	# The device key was never touched.
	sk key export device --out - | cmp - dev.pub
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
