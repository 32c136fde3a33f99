#!/usr/bin/env bats
# seckit provision with the device key on a PKCS#11 token (SoftHSM2), as
# the OP-TEE enrollment flow does it: the key is generated on the token
# (sensitive, never extractable), the store records it as a provisioned
# trust anchor (its public key and the mark), and STPs and CSRs use it.
# A key another tool made on the token is adopted; a token key that is no
# longer the recorded one is refused.

load helper
load pkcs11
load trust

setup() {
	pkcs11_setup
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
	EOF
}

# privkeys LABEL: how many private keys labelled LABEL the token has.
privkeys() {
	p11tool --list-objects --type privkey 2> /dev/null | grep -c "^  label: *$1\$" || true
}

# json_field NAME: field NAME of the JSON object on stdin (true/false/null
# as JSON writes them).
json_field() {
	python3 -c 'import json,sys; v=json.load(sys.stdin)[sys.argv[1]]; print("null" if v is None else str(v).lower() if isinstance(v, bool) else v)' "$1"
}

# same_pub PEM: whether the public key PEM is the token's key "device".
same_pub() {
	p11tool --read-object --type pubkey --label device --output-file tok.der 2> /dev/null
	openssl pkey -pubin -inform DER -in tok.der -outform DER -out tok.spki
	openssl pkey -pubin -in "$1" -outform DER -out want.spki
	cmp tok.spki want.spki
}

@test "provision --backend pkcs11 generates the device key on the token: sensitive, never extractable, provisioned" {
	unset SECKIT_BACKEND
	run -0 sk --backend pkcs11 provision --dry-run m.yaml
	[[ "${lines[0]}" == "create   key              device (ec-p256)" ]]
	[ "$(privkeys device)" -eq 0 ]
	assert_absent "$SECKIT_STORE"
	run -0 sk --backend pkcs11 provision m.yaml
	run -0 p11tool --list-objects --type privkey --label device
	[[ "$output" == *"sensitive"* ]]
	[[ "$output" == *"never extractable"* ]]
	[[ "$output" != *" extractable"*"never extractable"* ]]
	[ "$(privkeys device)" -eq 1 ]
	same_pub out/device.pub
	run -0 openssl req -in out/device.csr -verify -noout
	openssl req -in out/device.csr -pubkey -noout > csr.pub
	same_pub csr.pub
	run -0 sk --backend pkcs11 --json key info device
	[ "$(echo "$output" | json_field provisioned)" = true ]
	[ "$(echo "$output" | json_field origin)" = device ]
	[ "$(echo "$output" | json_field exportable)" = false ]
	[ "$(echo "$output" | json_field locked)" = true ]
	# The trust anchor stays: no delete, no second key, no export.
	sk_fails 7 "key delete: " --backend pkcs11 key delete device
	# (A trust anchor of a locked store: only an STP replaces it.)
	sk_fails 7 "key create: " --backend pkcs11 key create device --type ec-p256
	[[ "$stderr" == *"use an STP"* ]]
	sk_fails 6 "key export: " --backend pkcs11 key export device --private --no-encrypt --out priv.pem
	assert_absent priv.pem
	[ "$(privkeys device)" -eq 1 ]
	# A second run finds everything in place.
	run -0 sk --backend pkcs11 provision --dry-run m.yaml
	[[ "${lines[0]}" == "keep     key              device (ec-p256)" ]]
	run -0 sk --backend pkcs11 provision m.yaml
	[ "$(privkeys device)" -eq 1 ]
}

@test "the device key on the token signs: CSR, key sign verified by openssl, an STP bound to it" {
	run -0 sk provision m.yaml
	run -0 sk key sign device --in data --out data.sig
	run -0 openssl dgst -sha256 -verify out/device.pub -signature data.sig data
	# The CA issues the device certificate; an STP for this device
	# installs it.
	run -0 sk cert issue --csr out/device.csr --ca-cert oem/root.pem --ca-key oem/root.key \
		--days 30 --out dev.pem
	run -0 sk stp make --sign-key oem/command.key --seq 1 --command set-cert --name device \
		--cert dev.pem --device out/device.pub --out p.stp
	run -0 sk stp apply p.stp
	run -0 sk cert get device --out got.pem
	cmp <(openssl x509 -in got.pem -outform DER) <(openssl x509 -in dev.pem -outform DER)
	run -0 sk cert verify device
}

@test "a device key made on the token by pkcs11-tool is adopted: recorded and provisioned, not made again" {
	run -0 p11tool --keypairgen --key-type EC:prime256v1 --label device --id 42
	p11tool --read-object --type pubkey --label device --output-file made.der 2> /dev/null
	openssl pkey -pubin -inform DER -in made.der -out made.pem
	run -0 sk key info device
	[[ "$output" == *"provisioned:     no"* ]]
	run -0 sk provision --dry-run m.yaml
	[[ "${lines[0]}" == "create   key              device (ec-p256)" ]]
	run -0 sk provision m.yaml
	[ "$(privkeys device)" -eq 1 ]
	cmp <(openssl pkey -pubin -in made.pem -outform DER) <(openssl pkey -pubin -in out/device.pub -outform DER)
	run -0 sk key info device
	[[ "$output" == *"provisioned:     yes"* ]]
	sk_fails 7 "key delete: " key delete device
	# A token key of another type than the manifest's is no device key.
	run -0 p11tool --keypairgen --key-type rsa:2048 --label dev-rsa --id 43
	sed 's/^device-key:$/device-key:\n  name: dev-rsa/' m.yaml > rsa.yaml
	sk_fails 9 "provision: " provision rsa.yaml
	[[ "$stderr" == *"key 'dev-rsa' exists as a rsa-2048 key, not the ec-p256 device key"* ]]
}

@test "a token key that can be extracted is not adopted as the device key: 7, nothing written" {
	# SoftHSM2 makes pkcs11-tool's keys sensitive; --extractable lets the
	# token wrap the key out.
	run -0 p11tool --keypairgen --key-type EC:prime256v1 --label device --id 45 --sensitive --extractable
	sk_fails 7 "provision: " provision m.yaml
	[[ "$stderr" == *"key 'device' on the device can be extracted (not sensitive, or extractable): it cannot become the device key"* ]]
	assert_absent out/device.pub
	assert_absent out/device.csr
	run -0 sk key info device
	[[ "$output" == *"provisioned:     no"* ]]
	[[ "$output" == *"exportable:      yes"* ]]
}

@test "the token's key is not the one the store records: refused (7); gone: not found (8)" {
	run -0 sk provision m.yaml
	run -0 p11tool --delete-object --type privkey --label device
	run -0 p11tool --delete-object --type pubkey --label device
	sk_fails 8 "key sign: key 'device': the store records it as a key of the device (backend pkcs11), which has no key of that name" \
		key sign device --in data --out s.sig
	assert_absent s.sig
	run -0 p11tool --keypairgen --key-type EC:prime256v1 --label device --id 44
	sk_fails 7 "key sign: key 'device': the device's key of that name is not the one the store records (another public key)" \
		key sign device --in data --out s.sig
	assert_absent s.sig
	sk_fails 7 "cert csr: " cert csr --key device --subject /CN=x --out x.csr
	assert_absent x.csr
}

@test "key create and import --provisioned on the token: recorded in the store, refused when the store holds the name" {
	run -0 sk key create anchor --type ec-p256 --provisioned
	run -0 sk key info anchor
	[[ "$output" == *"provisioned:     yes"* ]]
	[ -d "$SECKIT_STORE" ]
	[ "$(privkeys anchor)" -eq 1 ]
	run -0 openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out imp.pem
	run -0 sk key import imported --in imp.pem --provisioned
	run -0 sk key info imported
	[[ "$output" == *"provisioned:     yes"* ]]
	sk_fails 7 "key delete: " key delete imported
	# The store's name wins: nothing is made on the token.
	run -0 sk key import pub --in oem/payload.pub
	sk_fails 9 "key create: key 'pub' already exists" key create pub --type ec-p256 --provisioned
	[ "$(privkeys pub)" -eq 0 ]
}
