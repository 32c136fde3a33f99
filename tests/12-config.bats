#!/usr/bin/env bats
# The configuration file: every key of config.example.yaml loads; bad YAML,
# unknown keys, wrong types and bad values are exit 3 with file:line:column;
# precedence is option > environment > config file > default.

load helper

# Run `key list` with the config text $2 (printf %b escapes) written to
# c.yaml; it must fail with exit 3 and a message naming c.yaml:$1.
bad_config() {
	local where=$1
	printf '%b' "$2" > c.yaml
	sk_fails 3 "key list: " --config c.yaml key list
	[[ "$stderr" == "seckit key list: c.yaml:$where: "* ]] || {
		echo "expected c.yaml:$where in: $stderr" >&2
		return 1
	}
}

@test "config.example.yaml documents every key and loads" {
	run -0 sk --config "$SECKIT_SRC/config.example.yaml" key create dev --type ec-p256
	run -0 sk --config "$SECKIT_SRC/config.example.yaml" key info dev
	# Every top-level key the parser knows is in the example (the parser
	# lists them when it meets an unknown one).
	echo "no-such-key: 1" > probe.yaml
	run -3 --separate-stderr sk --config probe.yaml key list
	keys=$(echo "$stderr" | sed 's/.*expected one of: \(.*\))$/\1/' | tr -d ,)
	[ -n "$keys" ]
	for k in $keys; do
		grep -q "^$k:" "$SECKIT_SRC/config.example.yaml" || { echo "config.example.yaml lacks '$k'" >&2; return 1; }
	done
	for sub in roles defaults password-kdf pkcs11; do
		printf '%s:\n  no-such-key: 1\n' "$sub" > probe.yaml
		run -3 --separate-stderr sk --config probe.yaml key list
		keys=$(echo "$stderr" | sed 's/.*expected one of: \(.*\))$/\1/' | tr -d ,)
		for k in $keys; do
			grep -q "^  $k:" "$SECKIT_SRC/config.example.yaml" || { echo "config.example.yaml lacks $sub.$k" >&2; return 1; }
		done
	done
}

@test "an empty config file and a comments-only file are fine" {
	: > empty.yaml
	run -0 sk --config empty.yaml key create a --type aes-128
	printf '# nothing here\n---\n' > comments.yaml
	run -0 sk --config comments.yaml key info a
}

@test "bad YAML: exit 3 with file:line:column" {
	bad_config 3:1 'backend: soft\nstore: [unclosed\n'
	bad_config 2:1 'backend: soft\n\tstore: /x\n'
	bad_config 2:4 'a: 1\nb: *nope\n'
	bad_config 2:4 'x: &a [1]\ny: *a\n'
	bad_config 2:1 'backend: soft\n---\nbackend: soft\n'
	bad_config 2:1 'backend: soft\nbackend: tpm2\n'
	[[ "$stderr" == *"duplicate key 'backend' (first at line 1)"* ]]
	bad_config 1:11 'backend: "\xff\xfe"\n'
	# Nesting bombs are cut off.
	bad_config 1:72 "roles: $(printf '[%.0s' $(seq 100))\n"
	head -c 3000 /dev/urandom | tr -d '\0' | sed 's/^/x/' > noise.yaml
	run -3 --separate-stderr sk --config noise.yaml key list
	assert_one_error_line "seckit key list: noise.yaml:"
}

@test "duplicate keys in a large mapping are found, at their place, first and last" {
	# Beyond 16 keys the check goes through a hash set (src/base/yaml.c).
	awk 'BEGIN { for (i = 0; i < 100; i++) printf "k%03d: %d\n", i, i; print "k042: again" }' > c.yaml
	sk_fails 3 "key list: c.yaml:101:1: duplicate key 'k042' (first at line 43)" --config c.yaml key list
	awk 'BEGIN { for (i = 0; i < 100; i++) printf "k%03d: %d\n", i, i; print "k000: again" }' > c.yaml
	sk_fails 3 "key list: c.yaml:101:1: duplicate key 'k000' (first at line 1)" --config c.yaml key list
	awk 'BEGIN { for (i = 0; i < 100; i++) printf "k%03d: %d\n", i, i; print "k099: again" }' > c.yaml
	sk_fails 3 "key list: c.yaml:101:1: duplicate key 'k099' (first at line 100)" --config c.yaml key list
	# Nested, and a duplicate within the first 16 keys of a large mapping.
	awk 'BEGIN { print "roles:"; for (i = 0; i < 50; i++) printf "  r%02d: x\n", i; print "  r03: y" }' > c.yaml
	sk_fails 3 "key list: c.yaml:52:3: duplicate key 'r03' (first at line 5)" --config c.yaml key list
}

@test "the set under the duplicate checks (src/base/strset.c): SipHash vectors, every duplicate, no needless comparison" {
	run -0 "$SECKIT_SRC/build/unit/strset-test"
	[[ "$output" == *"1..10"* ]]
	run ! grep -q "not ok" <<< "$output"
}

@test "the duplicate-key check is linear: twice the keys cost about twice the instructions" {
	require valgrind
	! sanitizer_build || skip "instruction counts of a sanitizer build mean nothing"
	# Quadratic (a scan of the keys so far for each key), 10,000 keys cost
	# 3.8 times what 5,000 do; linear, 2.0 (the YAML parser dominates).
	for n in 5000 10000; do
		awk -v n="$n" 'BEGIN { for (i = 0; i < n; i++) printf "k%07d: %d\n", i, i }' > "c$n.yaml"
		run -3 valgrind --tool=callgrind --callgrind-out-file="cg.$n" "$SECKIT" --config "c$n.yaml" key list
	done
	a=$(sed -n 's/^summary: //p' cg.5000)
	b=$(sed -n 's/^summary: //p' cg.10000)
	echo "instructions: 5,000 keys $a, 10,000 keys $b"
	[ $((b * 10)) -lt $((a * 25)) ]
}

@test "unknown keys, wrong types and bad values: exit 3 with file:line:column and what was expected" {
	bad_config 2:1 'backend: soft\nbogus: 1\n'
	[[ "$stderr" == *"unknown key 'bogus' in the config (expected one of: backend, store"* ]]
	bad_config 3:3 'roles:\n  device-key: dev\n  oem-rot: x\n'
	[[ "$stderr" == *"unknown key 'oem-rot' in roles"* ]]
	bad_config 1:10 'backend: tpm3\n'
	[[ "$stderr" == *"expected one of soft, tpm2, pkcs11, found 'tpm3'"* ]]
	bad_config 1:10 'backend: [soft]\n'
	bad_config 1:8 'store: {a: b}\n'
	bad_config 1:8 'store: ""\n'
	bad_config 1:15 'lock-timeout: soon\n'
	[[ "$stderr" == *"expected an integer from 0 to 3600"* ]]
	bad_config 1:15 'lock-timeout: 3601\n'
	bad_config 1:15 'lock-timeout: "30"\n'
	[[ "$stderr" == *"expected an integer from 0 to 3600, found the string \"30\" (a quoted value is a string; write it without quotes)" ]]
	bad_config 1:8 'roles: device\n'
	[[ "$stderr" == *"expected a mapping"* ]]
	bad_config 2:15 'roles:\n  device-key: "two words"\n'
	bad_config 2:11 'defaults:\n  digest: md5\n'
	bad_config 2:11 'defaults:\n  cipher: des\n'
	bad_config 2:6 'password-kdf:\n  n: 3000\n'
	[[ "$stderr" == *"power of two"* ]]
	bad_config 2:6 'password-kdf:\n  n: 512\n'
	bad_config 2:6 'password-kdf:\n  r: 0\n'
	bad_config 2:6 'password-kdf:\n  p: 17\n'
	bad_config 1:14 'tpm2-parent: 0x1234\n'
	bad_config 1:1 '- backend: soft\n'
	bad_config 1:1 'just a string\n'
}

@test "a config file that cannot be read is exit 3, from --config or SECKIT_CONFIG" {
	sk_fails 3 "key list: " --config nosuch.yaml key list
	[[ "$stderr" == *"nosuch.yaml"* ]]
	mkdir dir.yaml
	sk_fails 3 "key list: " --config dir.yaml key list
	SECKIT_CONFIG="$BATS_TEST_TMPDIR/nosuch.yaml" run -3 --separate-stderr sk key list
	assert_one_error_line "seckit key list: "
	# --config wins over SECKIT_CONFIG.
	: > good.yaml
	SECKIT_CONFIG="$BATS_TEST_TMPDIR/nosuch.yaml" run -0 sk --config good.yaml key create a --type aes-128
	# An empty SECKIT_CONFIG counts as unset.
	SECKIT_CONFIG= run -0 sk key info a
}

@test "store: --store > SECKIT_STORE > config store > /var/lib/seckit" {
	mkdir -m 700 opt env cfg
	printf 'store: %s/cfg\n' "$BATS_TEST_TMPDIR" > c.yaml
	export SECKIT_CONFIG="$BATS_TEST_TMPDIR/c.yaml"
	unset SECKIT_STORE
	run -0 sk key create in-cfg --type aes-128
	[ -f cfg/master.key ]
	SECKIT_STORE="$BATS_TEST_TMPDIR/env" run -0 sk key create in-env --type aes-128
	[ -f env/master.key ]
	SECKIT_STORE="$BATS_TEST_TMPDIR/env" run -0 sk --store opt key create in-opt --type aes-128
	[ -f opt/master.key ]
	run -0 sk key list --names
	[ "$output" = in-cfg ]
	SECKIT_STORE="$BATS_TEST_TMPDIR/env" run -0 sk key list --names
	[ "$output" = in-env ]
	SECKIT_STORE="$BATS_TEST_TMPDIR/env" run -0 sk key list --names --store opt
	[ "$output" = in-opt ]
	# An empty variable counts as unset.
	SECKIT_STORE= run -0 sk key list --names
	[ "$output" = in-cfg ]
	# With nothing set, the built-in default.
	: > empty.yaml
	if [ ! -e /var/lib/seckit ]; then
		SECKIT_CONFIG="$BATS_TEST_TMPDIR/empty.yaml" run -4 --separate-stderr sk key list
		[[ "$stderr" == *"'/var/lib/seckit'"* ]]
	fi
}

@test "backend: --backend > SECKIT_BACKEND > config backend > soft" {
	# pkcs11 fails here (not in this build, or no module configured):
	# choosing it shows which setting won.
	printf 'backend: pkcs11\n' > c.yaml
	export SECKIT_CONFIG="$BATS_TEST_TMPDIR/c.yaml"
	sk_fails 4 "key create: " key create a --type aes-128
	[[ "$stderr" == *"'pkcs11'"* ]]
	# the failed command did not create the store for it
	assert_absent "$SECKIT_STORE"
	# an unknown name from the environment is a configuration error (3)
	SECKIT_BACKEND=nosuch run -3 sk key create a --type aes-128
	assert_absent "$SECKIT_STORE"
	SECKIT_BACKEND=soft run -0 sk key create a --type aes-128
	SECKIT_BACKEND=soft run -4 sk --backend pkcs11 key create b --type aes-128
	SECKIT_BACKEND=pkcs11 run -0 sk --backend soft key create b --type aes-128
	SECKIT_BACKEND= run -4 sk key create c --type aes-128
	: > empty.yaml
	SECKIT_CONFIG="$BATS_TEST_TMPDIR/empty.yaml" run -0 sk key create c --type aes-128
	run -0 sk --config empty.yaml key info c
	[[ "$output" == *"backend:         soft"* ]]
	SECKIT_BACKEND=nosuch run -3 --separate-stderr sk --config empty.yaml key create d --type aes-128
	assert_one_error_line "seckit key create: SECKIT_BACKEND: "
	[[ "$stderr" == *"unknown backend 'nosuch'"* ]]
}

@test "defaults.digest is the signing digest when --digest is not given" {
	printf 'defaults:\n  digest: sha384\n' > c.yaml
	run -0 sk key create k --type ec-p256
	sk key export k --out k.pub
	echo data > data
	run -0 sk --config c.yaml key sign k --in data --out sig
	run -0 openssl dgst -sha384 -verify k.pub -signature sig data
	run -0 sk --config c.yaml key verify k --in data --sig sig
	sk_fails 7 "key verify: " key verify k --in data --sig sig
	run -0 sk --config c.yaml key sign k --in data --out sig2 --digest sha256
	run -0 openssl dgst -sha256 -verify k.pub -signature sig2 data
}
