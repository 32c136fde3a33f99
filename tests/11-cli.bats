#!/usr/bin/env bats
# The command line: dispatch, help, suggestions, global options, argv[0]
# dispatch, --version, and stdout write errors.

load helper

@test "unknown command or verb: exit 2 with the closest name suggested" {
	sk_fails 2 "" kye list
	[[ "$stderr" == "seckit: unknown command 'kye'; did you mean 'key'?"* ]]
	sk_fails 2 "" frobnicate
	[[ "$stderr" != *"did you mean"* ]]
	sk_fails 2 "key: " key lst
	[[ "$stderr" == "seckit key: unknown verb 'lst'; did you mean 'list'?"* ]]
	[[ "$stderr" == *'(see "seckit key --help")' ]]
	sk_fails 2 "key password: " key password craete
	[[ "$stderr" == *"did you mean 'create'?"* ]]
	sk_fails 2 "key: " key zzzzzz
	[[ "$stderr" != *"did you mean"* ]]
	sk_fails 2 "" help kye
}

@test "unknown option: exit 2, one line with the closest option of the verb or the global ones" {
	sk_fails 2 "stp make: " stp make --sign-kye oem.pem
	[ "$stderr" = "seckit stp make: unknown option '--sign-kye'; did you mean '--sign-key'? (see \"seckit stp make --help\")" ]
	sk_fails 2 "key sign: " key sign k --ni=data
	[[ "$stderr" == *"unknown option '--ni=data'; did you mean '--in'?"* ]]
	# A global option, after the verb and before the command.
	sk_fails 2 "key list: " key list --stroe /tmp
	[[ "$stderr" == *"did you mean '--store'?"* ]]
	sk_fails 2 "" --jsno key list
	[[ "$stderr" == "seckit: unknown option '--jsno'; did you mean '--json'?"* ]]
	# Only the verb's own options: --sign-key is stp make's, not key sign's.
	sk_fails 2 "key sign: " key sign k --sign-kye x
	[[ "$stderr" != *"did you mean"* ]]
	sk_fails 2 "key sign: " key sign k --frobnicate
	[ "$stderr" = "seckit key sign: unknown option '--frobnicate' (see \"seckit key sign --help\")" ]
}

@test "no command or no verb: usage on stderr, exit 2" {
	run -2 --separate-stderr sk
	[ -z "$output" ]
	[[ "$stderr" == usage:* ]]
	run -2 --separate-stderr sk key
	[ -z "$output" ]
	[[ "$stderr" == "usage: seckit key"* ]]
	run -2 --separate-stderr sk key password
	[[ "$stderr" == "usage: seckit key password"* ]]
}

@test "-h/--help/help work with no config, no store and an unreadable SECKIT_CONFIG" {
	export SECKIT_CONFIG="$BATS_TEST_TMPDIR/nosuch.yaml" SECKIT_STORE=/nonexistent/store
	mkdir cfgdir
	for args in "--help" "-h" "help" "key --help" "key -h" "help key" "key sign --help" \
		"key sign -h" "help key sign" "key password --help" "key password create -h" \
		"help key password create" "--config cfgdir --help" "key --config cfgdir sign -h" \
		"--backend nosuch key list -h"; do
		# shellcheck disable=SC2086
		run -0 --separate-stderr sk $args
		[ -n "$output" ]
		[ -z "$stderr" ]
	done
	run -0 sk help key sign
	[[ "${lines[0]}" == "usage: seckit key sign NAME [options]" ]]
	[[ "$output" == *"--digest ALG"* ]]
	[[ "$output" == *"--pss"* ]]
	run -0 sk --help
	[[ "$output" == *"key "*"named keys"* ]]
	[[ "$output" == *"--store DIR"* ]]
	# The options of a verb's help are the ones it accepts.
	run -0 sk key sign --help
	help=$output
	"$SECKIT" --dump-spec > spec
	awk -F '\t' '$1 == "option" && $2 == "seckit key sign" { print $3 }' spec > opts
	while read -r o; do
		[[ "$help" == *"$o"* ]]
	done < opts
	# And the config really was not readable for commands that need it.
	sk_fails 3 "key list: " key list
}

@test "--help, --version and --dump-spec read no config and open no store (strace)" {
	require strace
	no_leak_check
	for args in "--version" "--help" "key sign --help" "--dump-spec" "help key"; do
		# shellcheck disable=SC2086
		SECKIT_CONFIG="$BATS_TEST_TMPDIR/c.yaml" SECKIT_STORE="$BATS_TEST_TMPDIR/st" \
			strace -f -qq -e trace=open,openat,stat,newfstatat,access,faccessat2 -o trace "$SECKIT" $args > /dev/null
		run ! grep -E 'c\.yaml|/st"|/st/|/etc/seckit|openssl\.cnf|/dev/tpm|libtss2' trace
	done
	# Only the C library is loaded dynamically (libcrypto and libyaml are
	# linked in, tpm2-tss is loaded when the tpm2 backend is used) -- in the
	# default static build; STATIC=0 and SANITIZE=1 builds link them.
	ldd "$SECKIT" | grep -q libcrypto && return 0
	SECKIT_STORE="$BATS_TEST_TMPDIR/st" strace -f -qq -e trace=openat -o trace "$SECKIT" key list > /dev/null 2>&1 || true
	run ! grep -E '\.so' <(grep -v -E 'libc\.so|ld\.so\.cache|libdl|libpthread' trace)
}

@test "seckit help key sign equals seckit key sign --help" {
	run -0 sk help key sign
	a=$output
	run -0 sk key sign --help
	[ "$a" = "$output" ]
	run -0 sk help key
	a=$output
	run -0 sk key --help
	[ "$a" = "$output" ]
}

@test "argv[0] dispatch: a seckit-key link behaves as seckit key" {
	ln -s "$SECKIT" seckit-key
	ln -s "$SECKIT" seckit-nosuch
	run -0 ./seckit-key create dev --type ec-p256
	run -0 ./seckit-key list --names
	[ "$output" = dev ]
	run -0 ./seckit-key --help
	[[ "$output" == "usage: seckit key"* ]]
	run -0 ./seckit-key --store "$SECKIT_STORE" info dev
	run -0 ./seckit-key info dev --json
	[[ "$output" == "{"* ]]
	run -2 --separate-stderr ./seckit-key lst
	[[ "$stderr" == *"did you mean 'list'"* ]]
	run -2 --separate-stderr ./seckit-nosuch
	[[ "$stderr" == "seckit: unknown command 'nosuch'"* ]]
	# Through PATH, as an installed link is found.
	mkdir bin
	ln -s "$SECKIT" bin/seckit-key
	PATH="$BATS_TEST_TMPDIR/bin:$PATH" run -0 seckit-key list --names
	[ "$output" = dev ]
}

@test "global options before the command, between command and verb, and after the verb" {
	mkdir other
	chmod 700 other
	run -0 sk --store other key create a --type ec-p256
	run -0 sk key --store other create b --type ec-p256
	run -0 sk key create c --type ec-p256 --store other
	run -0 sk key create d --store=other --type ec-p256
	run -0 sk key list --names --store other
	[ "$output" = "$(printf 'a\nb\nc\nd')" ]
	run -0 sk --json key info a --store other
	[[ "$output" == "{"* ]]
	run -0 sk key --json info a --store other
	[[ "$output" == "{"* ]]
	run -0 sk key info a --store other --json
	[[ "$output" == "{"* ]]
	run -0 --separate-stderr sk key -q digest --alg sha1 --in /dev/null
	[ -z "$stderr" ]
	run -0 --separate-stderr sk -q key digest --alg sha1 --in /dev/null
	[ -z "$stderr" ]
	run -0 --separate-stderr sk key digest --alg sha1 --in /dev/null --quiet
	[ -z "$stderr" ]
	run -0 --separate-stderr sk -v key create e --type ec-p256 --store other
	[[ "$stderr" == "created key 'e'"* ]]
	sk_fails 2 "" --store
	sk_fails 2 "key: " key --store
	sk_fails 2 "key list: " key list --store
	sk_fails 2 "" --frob key list
	sk_fails 2 "key: " key --frob list
	sk_fails 2 "key list: " key list --frob
	sk_fails 2 "key list: " key list -x
	# "--" ends the options: what follows is an argument.
	sk_fails 8 "key info: " --store other key info -- --json
	[[ "$stderr" == *"'--json'"* ]]
}

@test "--version names the version, the libraries and each backend" {
	run -0 --separate-stderr sk --version
	[ -z "$stderr" ]
	[[ "${lines[0]}" =~ ^seckit\ [0-9]+\.[0-9]+\.[0-9]+ ]]
	[[ "$output" == *"openssl: 3."* ]]
	[[ "$output" == *"libyaml: "* ]]
	[[ "$output" == *"backend soft: yes"* ]]
	[[ "$output" == *"backend tpm2: "* ]]
	[[ "$output" == *"backend pkcs11: "* ]]
}

@test "stdout write errors are errors: exit 1 and one error line" {
	[ -w /dev/full ] || skip "no /dev/full"
	run -0 sk key create a --type ec-p256
	for args in "key list" "key info a" "--version" "--help" "key random 16" "key export a --out -" \
		"key digest --in /dev/null" "--json key list"; do
		run -1 --separate-stderr bash -c "'$SECKIT' $args > /dev/full"
		assert_one_error_line "seckit"
		[[ "$stderr" == *"No space left on device"* ]]
	done
	# A closed pipe is not worth a message, but it is not success either.
	run -0 bash -c "'$SECKIT' key random 1000000 | head -c 1 > /dev/null; echo \${PIPESTATUS[0]}"
	[ "$output" -ne 0 ]
}

@test "the exit status of every failing class is distinct and as documented" {
	# 2 usage, 3 config, 4 backend/store, 5 auth, 6 unsupported, 7 verify,
	# 8 not found, 9 exists (1 is I/O: see the other files).
	run -0 sk key create a --type aes-128
	run -0 sk key password create p --pass pass:x
	run -0 sk key create b --type ec-p256 --password-object p --pass pass:x
	echo "x" > data
	sk_fails 2 "key sign: --in is required" key sign b --out s
	echo "bad: [" > bad.yaml
	sk_fails 3 "key list: " --config bad.yaml key list
	sk_fails 4 "key list: " --store "$BATS_TEST_TMPDIR/none" key list
	sk_fails 4 "key create: " --backend pkcs11 key create z --type ec-p256
	sk_fails 2 "key create: " --backend nosuch key create z --type ec-p256
	sk_fails 5 "key sign: " key sign b --in data --out s --pass pass:y
	sk_fails 6 "key sign: " key sign a --in data --out s
	run -0 sk key sign b --in data --out s --pass pass:x
	echo "y" > data
	sk_fails 7 "key verify: " key verify b --in data --sig s
	sk_fails 8 "key info: " key info nosuch
	sk_fails 9 "key create: " key create a --type aes-128
}

@test "option values are checked before the verb runs: one message per kind, with a suggestion" {
	run -0 sk key create k --type ec-p256
	echo data > d
	# One spelling per option: -i, -o and -d wherever --in, --out and --digest are taken.
	run -0 sk key sign k -i d -o s -d sha384
	run -0 sk key verify k -i d --sig s -d sha384
	sk_fails 2 "key encrypt: " key encrypt k -i d -o e --mode gmc
	[[ "$stderr" == *"unknown mode 'gmc'; did you mean 'gcm'? (expected one of: gcm, cbc, ctr, oaep)"* ]]
	sk_fails 2 "key create: " key create x --type ec-p265
	[[ "$stderr" == *"unknown key type 'ec-p265'; did you mean 'ec-p256'?"* ]]
	sk_fails 2 "key create: " key create x
	[[ "$stderr" == *"--type is required (one of: ec-p256 "* ]]
	sk_fails 2 "key sign: " key sign k -i d -o s2 -d sha265
	[[ "$stderr" == *"unknown digest 'sha265'; did you mean 'sha256'?"* ]]
	sk_fails 6 "key sign: " key sign k -i d -o s2 -d md5
	sk_fails 2 "cert issue: " cert issue --csr x --ca-cert y --ca-key z --out o --days 36526
	[[ "$stderr" == *"--days '36526': expected a number from 1 to 36525"* ]]
	sk_fails 2 "oo id: " oo id --info x --sign-key y --devices f --out-dir o --jobs 0
	[[ "$stderr" == *"--jobs '0': expected a number from 1 to 1024"* ]]
	sk_fails 2 "cert verify: " cert verify x --at yesterday
	[[ "$stderr" == *"--at: 'yesterday' is not a time"* ]]
	assert_absent s2
	assert_absent e
	assert_absent o
}

@test "global options come from one table: --help shows it, --version and --dump-spec only before the command" {
	run -0 sk --help
	for o in --config --store --backend --tcti --json --quiet --verbose --help --version --dump-spec; do
		[[ "$output" == *"$o"* ]]
	done
	sk_fails 2 "key: " key --version
	sk_fails 2 "key list: " key list --dump-spec
	# Short global options bundle anywhere, as getopt allows.
	run -0 sk key create a --type ec-p256
	run -0 --separate-stderr sk key -qv list --names
	[ "$output" = a ]
}

@test "__complete (for the completion scripts): the names of a kind, by prefix, from the store the global options name" {
	sk key create dev1 --type ec-p256
	sk key create dev2 --type ec-p256
	sk key create backup --type aes-256
	sk store write note --in /dev/null
	SECKIT_STORE="$PWD/other" sk key create other --type ec-p256
	run -0 --separate-stderr sk __complete key
	[ "$output" = "$(printf 'backup\ndev1\ndev2')" ]
	run -0 sk __complete key dev
	[ "$output" = "$(printf 'dev1\ndev2')" ]
	run -0 sk __complete object
	[ "$output" = note ]
	run -0 sk __complete pwobj
	[ -z "$output" ]
	run -0 sk --store "$PWD/other" __complete key
	[ "$output" = other ]
	sk_fails 2 "__complete: " __complete nosuch
	sk_fails 4 "__complete: " --store "$PWD/absent" __complete key
}

# Verbs that never open the backend, and one that does: each checks the
# backend's name before it runs.
BACKEND_VERBS=("key list" "key info k" "key random 4" "store list" "store read s"
	"payload show pkg" "oo show x.oid" "key create z --type ec-p256")

@test "backend names: an unknown one from --backend is exit 2 for every verb, naming the known ones" {
	run -0 sk key create k --type aes-128
	for v in "${BACKEND_VERBS[@]}"; do
		# shellcheck disable=SC2086
		sk_fails 2 "${v%% *} " --backend foo $v
		[[ "$stderr" == *"unknown backend 'foo' (expected one of: soft, tpm2, pkcs11)"* ]]
	done
	sk_fails 8 "key info: " key info z
}

@test "backend names: an unknown one from SECKIT_BACKEND or the config is exit 3 for every verb" {
	run -0 sk key create k --type aes-128
	printf 'backend: tmp2\n' > bad.yaml
	for v in "${BACKEND_VERBS[@]}"; do
		# shellcheck disable=SC2086
		SECKIT_BACKEND=tmp2 sk_fails 3 "${v%% *} " $v
		[[ "$stderr" == *"SECKIT_BACKEND: unknown backend 'tmp2' (expected one of: soft, tpm2, pkcs11)"* ]]
		# shellcheck disable=SC2086
		sk_fails 3 "${v%% *} " --config bad.yaml $v
		[[ "$stderr" == *"bad.yaml:1:10: expected one of soft, tpm2, pkcs11, found 'tmp2'"* ]]
	done
	# The option wins over a bad environment; an empty one is unset.
	SECKIT_BACKEND=tmp2 run -0 sk --backend soft key list --names
	SECKIT_BACKEND= run -0 sk key list --names
	[ "$output" = k ]
}

@test "backend names: a known backend this build lacks is exit 4 for every verb, from every source" {
	run -0 sk key create k --type aes-128
	run -0 sk --version
	[[ "$output" == *"backend pkcs11: no"* ]] || skip "this build has pkcs11"
	printf 'backend: pkcs11\n' > p11.yaml
	for v in "${BACKEND_VERBS[@]}"; do
		# shellcheck disable=SC2086
		sk_fails 4 "${v%% *} " --backend pkcs11 $v
		[[ "$stderr" == *"backend 'pkcs11' is not available in this build (it has: soft"* ]]
		# shellcheck disable=SC2086
		SECKIT_BACKEND=pkcs11 sk_fails 4 "${v%% *} " $v
		# shellcheck disable=SC2086
		sk_fails 4 "${v%% *} " --config p11.yaml $v
	done
	run -0 sk key list --names
	[ "$output" = k ]
}

@test "backend pkcs11 built in, no module configured: exit 4 naming the missing module, from every source" {
	run -0 sk key create k --type aes-128
	run -0 sk --version
	[[ "$output" == *"backend pkcs11: yes"* ]] || skip "this build lacks pkcs11"
	printf 'backend: pkcs11\n' > p11.yaml
	for v in "key list" "key info k" "key random 4" "key create z --type ec-p256"; do
		# shellcheck disable=SC2086
		sk_fails 4 "${v%% *} " --backend pkcs11 $v
		[[ "$stderr" == *": backend 'pkcs11': no PKCS#11 module configured"* ]]
		# shellcheck disable=SC2086
		SECKIT_BACKEND=pkcs11 sk_fails 4 "${v%% *} " $v
		# shellcheck disable=SC2086
		sk_fails 4 "${v%% *} " --config p11.yaml $v
		# shellcheck disable=SC2086
		SECKIT_PKCS11_MODULE= sk_fails 4 "${v%% *} " --backend pkcs11 $v
	done
	run -0 sk key list --names
	[ "$output" = k ]
}
