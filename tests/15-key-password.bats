#!/usr/bin/env bats
# seckit key password: password objects, keys bound to them, and every way
# of giving (or not giving) a secret.

load helper

setup() {
	common_setup
	echo "some data" > data
	sk key password create vault --pass pass:right
	sk key create k --type ec-p256 --exportable --password-object vault --pass pass:right
	sk key create sym --type aes-256 --password-object vault --pass pass:right
}

@test "password create, list, users; info names the object" {
	run -0 sk key password list
	[ "$output" = vault ]
	run -0 sk key password create other --pass pass:x
	run -0 sk key password list
	[ "$output" = "$(printf 'other\nvault')" ]
	run -0 sk key password users vault
	[ "$output" = "$(printf 'k\nsym')" ]
	run -0 sk key password users other
	[ -z "$output" ]
	run -0 sk --json key password users vault
	echo "$output" | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["keys"] == ["k", "sym"], d'
	run -0 sk --json key password list
	echo "$output" | python3 -c 'import json,sys; d=json.load(sys.stdin); assert [o["name"] for o in d["password_objects"]] == ["other", "vault"], d'
	# the soft backend's objects are checked in software
	echo "$output" | python3 -c 'import json,sys; d=json.load(sys.stdin); assert [o["checked_by"] for o in d["password_objects"]] == ["software", "software"], d'
	run -0 sk key info k
	[[ "$output" == *"password object: vault"* ]]
	[[ "$output" == *"password check:  software"* ]]
	run -0 sk key list
	[[ "$output" == *"password=vault"* ]]
	sk_fails 9 "key password create: " key password create vault --pass pass:y
	sk_fails 2 "key password create: " key password create empty --pass pass:
	sk_fails 2 "key password create: " key password create "no/slash" --pass pass:x
	sk_fails 8 "key password users: " key password users nosuch
}

@test "a bound key needs the right password for every private use; public use needs none" {
	for v in "sign k --in data --out sig" "mac sym --in data" "encrypt sym --in data --out ct" \
		"export k --private --no-encrypt --out p.pem"; do
		# shellcheck disable=SC2086
		sk_fails 5 "key ${v%% *}: " key $v --pass pass:wrong < /dev/null
		[[ "$stderr" == *"wrong password for password object 'vault'"* ]]
		# shellcheck disable=SC2086
		sk_fails 5 "key ${v%% *}: " key $v < /dev/null
		[[ "$stderr" == *"give --pass"* ]]
	done
	assert_absent sig
	assert_absent ct
	assert_absent p.pem
	run -0 sk key sign k --in data --out sig --pass pass:right
	run -0 sk key export k --out k.pub
	run -0 sk key verify k --in data --sig sig
	run -0 openssl dgst -sha256 -verify k.pub -signature sig data
	run -0 sk key info k
	run -0 sk key encrypt sym --in data --out ct --pass pass:right
	run -0 sk key decrypt sym --in ct --out pt --pass pass:right
	cmp data pt
	run -0 sk key export k --private --no-encrypt --out p.pem --pass pass:right
	[ "$(openssl pkey -in p.pem -pubout)" = "$(cat k.pub)" ]
}

@test "secret specs: env:, file:, fd:; a missing or unreadable source is a usage error" {
	export GOOD=right EMPTY=
	run -0 sk key sign k --in data --out s1 --pass env:GOOD
	printf 'right\nsecond line ignored\n' > pwfile
	run -0 sk key sign k --in data --out s2 --pass file:pwfile
	printf 'right\r\n' > crlf
	run -0 sk key sign k --in data --out s3 --pass file:crlf
	run -0 sk key sign k --in data --out s4 --pass fd:3 3< pwfile
	run -0 bash -c "echo right | '$SECKIT' key sign k --in data --out s5 --pass fd:0"
	sk_fails 5 "key sign: " key sign k --in data --out x --pass env:EMPTY
	sk_fails 2 "key sign: " key sign k --in data --out x --pass env:UNSET_VARIABLE
	sk_fails 2 "key sign: " key sign k --in data --out x --pass env:
	sk_fails 2 "key sign: " key sign k --in data --out x --pass file:nosuch
	sk_fails 2 "key sign: " key sign k --in data --out x --pass fd:9
	sk_fails 2 "key sign: " key sign k --in data --out x --pass fd:x
	sk_fails 2 "key sign: " key sign k --in data --out x --pass right
	head -c 2000 /dev/zero | tr '\0' a > long
	sk_fails 2 "key sign: " key sign k --in data --out x --pass file:long
	assert_absent x
}

@test "prompt: without a terminal a needed password fails with 5, never waits" {
	require setsid timeout
	run -5 --separate-stderr timeout 10 setsid -w "$SECKIT" key sign k --in data --out x < /dev/null
	assert_one_error_line "seckit key sign: "
	run -2 --separate-stderr timeout 10 setsid -w "$SECKIT" key sign k --in data --out x --pass prompt < /dev/null
	assert_one_error_line "seckit key sign: "
	[[ "$stderr" == *"no terminal"* ]]
	run -5 --separate-stderr timeout 10 setsid -w "$SECKIT" key password create p2 < /dev/null
	assert_one_error_line "seckit key password create: "
	assert_absent x
}

@test "delete: needs the password; a password object in use cannot be deleted (7, refused by policy)" {
	sk_fails 5 "key delete: " key delete k --pass pass:wrong
	sk_fails 5 "key delete: " key delete k < /dev/null
	run -0 sk key info k
	sk_fails 7 "key password delete: " key password delete vault --pass pass:right
	[[ "$stderr" == *"used by 2 keys"* ]]
	run -0 sk key delete k --pass pass:right
	sk_fails 8 "key info: " key info k
	sk_fails 7 "key password delete: " key password delete vault --pass pass:right
	[[ "$stderr" == *"used by 1 key ('sym')"* ]]
	run -0 sk key delete sym --pass pass:right
	sk_fails 5 "key password delete: " key password delete vault --pass pass:wrong
	sk_fails 8 "key password delete: " key password delete nosuch --pass pass:x
	run -0 sk key password delete vault --pass pass:right
	run -0 sk key password list
	[ -z "$output" ]
	# A new object of the same name is a different secret: nothing old unlocks.
	run -0 sk key password create vault --pass pass:new
}

@test "binding: unknown object is 8, wrong password is 5, nothing is created" {
	sk_fails 8 "key create: " key create x --type ec-p256 --password-object nosuch --pass pass:x
	sk_fails 5 "key create: " key create x --type ec-p256 --password-object vault --pass pass:wrong
	sk_fails 5 "key create: " key create x --type ec-p256 --password-object vault < /dev/null
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ec.pem
	sk_fails 5 "key import: " key import x --in ec.pem --password-object vault --pass pass:wrong
	sk_fails 8 "key info: " key info x
	run -0 sk key import x --in ec.pem --password-object vault --pass pass:right
	run -0 sk key sign x --in data --out sig --pass pass:right
	openssl pkey -in ec.pem -pubout -out ec.pub
	run -0 openssl dgst -sha256 -verify ec.pub -signature sig data
}

@test "scrypt parameters are kept in the object: a config change does not lock anyone out" {
	cat > strong.yaml <<-YAML
	password-kdf:
	  n: 2048
	  r: 4
	  p: 2
	YAML
	run -0 sk --config strong.yaml key sign k --in data --out sig --pass pass:right
	run -0 sk --config strong.yaml key password create p2 --pass pass:two
	run -0 sk key create y --type aes-128 --password-object p2 --pass pass:two
	run -0 sk key mac y --in data --pass pass:two
	sk_fails 5 "key mac: " key mac y --in data --pass pass:right
}

@test "the password is not stored in clear anywhere in the store" {
	run -0 sk key password create marker --pass pass:UniqueSecretMarker42
	run ! grep -rqa UniqueSecretMarker42 "$SECKIT_STORE"
	run ! grep -rqa vault "$SECKIT_STORE"
}
