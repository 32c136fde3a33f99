#!/usr/bin/env bats
# seckit store: write, read, list, info, delete, passwords, permissions.

load helper
load store

@test "write from stdin, read to stdout: binary-safe, every byte value" {
	printf 'hello\n' | sk store write greeting
	run -0 --separate-stderr sk store read greeting
	[ "$output" = "hello" ]
	[ -z "$stderr" ]
	# all 256 byte values, NULs and a missing final newline included
	for i in $(seq 0 255); do printf "\\$(printf %03o "$i")"; done > bytes
	run -0 sk store write bytes --in bytes
	sk store read bytes > back
	cmp bytes back
	sk store read bytes --out back2
	cmp bytes back2
	[ "$(file_mode back2)" = 600 ]
}

@test "empty objects and objects on chunk boundaries round-trip" {
	: > empty
	sk store write e < empty
	sk store read e > back
	[ ! -s back ]
	run -0 sk store info e --json
	[[ "$output" == *'"size":0'* ]]
	for n in 65535 65536 65537 131072; do
		head -c "$n" /dev/urandom > "d$n"
		sk store write "o$n" --in "d$n"
		piped got sk store read "o$n"
		cmp got "d$n"
	done
}

@test "a 64 MiB object streams in and out in constant memory" {
	require python3
	head -c $((64 << 20)) /dev/urandom > big
	# Peak memory of the child, in KiB (getrusage of the waited-for child).
	maxrss() {
		python3 -c 'import resource, subprocess, sys
r = subprocess.run(sys.argv[1:], stdin=open(sys.argv[-1]) if False else None)
sys.exit(r.returncode or print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))' "$@"
	}
	echo small > small
	# What a process of this build needs anyway (a sanitizer build needs
	# more): the baseline the big object is measured against.
	base=$(maxrss "$SECKIT" store write small --in small)
	w=$(maxrss "$SECKIT" store write big --in big)
	r=$(maxrss "$SECKIT" store read big --out back)
	cmp big back
	piped got sk store read big
	cmp got big
	echo "peak RSS: small write ${base} KiB, write ${w} KiB, read ${r} KiB" >&3
	# 64 MiB through a process that stays far below the data's size.
	[ "$w" -lt $((base + 16384)) ]
	[ "$r" -lt $((base + 16384)) ]
}

@test "overwrite replaces the value; list shows names, sizes, protection, time" {
	echo one | sk store write a
	echo "two, longer" | sk store write a
	run -0 sk store read a
	[ "$output" = "two, longer" ]
	echo s | sk store write b --pass pass:pw
	run -0 sk store list
	[ "${#lines[@]}" -eq 2 ]
	[[ "${lines[0]}" =~ ^a\ +12\ +-\ +20[0-9-]+T[0-9:]+Z$ ]]
	[[ "${lines[1]}" =~ ^b\ +2\ +password\ +20 ]]
	run -0 sk store list --names
	[ "$output" = "$(printf 'a\nb')" ]
	run -0 sk --json store list
	[[ "$output" == '{"ok":true,"objects":[{"name":"a","size":12,"password":false,"modified":"20'* ]]
	[[ "$output" == *'{"name":"b","size":2,"password":true,"modified":"'* ]]
	# keys and password objects are other namespaces: not listed here
	sk key create k1 --type aes-256
	run -0 sk store list --names
	[ "$output" = "$(printf 'a\nb')" ]
}

@test "info: text and JSON; the file it names exists in the store" {
	echo data | sk store write cfg
	run -0 sk store info cfg
	[ "${lines[0]}" = "name:      cfg" ]
	[ "${lines[1]}" = "size:      5" ]
	[ "${lines[2]}" = "password:  no" ]
	[[ "${lines[4]}" =~ ^file:\ +[0-9a-f]{64}$ ]]
	[ -f "$SECKIT_STORE/$(obj_file cfg)" ]
	run -0 sk store info cfg --json
	[[ "$output" =~ ^\{\"ok\":true,\"name\":\"cfg\",\"size\":5,\"password\":false,\"modified\":\"[0-9TZ:-]+\",\"file\":\"[0-9a-f]{64}\"\}$ ]]
}

@test "names are hidden on disk and contents encrypted" {
	printf 'wifi-psk=SuperSecretValue' | sk store write home-wifi
	run -1 grep -rq home-wifi "$SECKIT_STORE"
	run -1 grep -rq SuperSecretValue "$SECKIT_STORE"
	run -0 sk store read home-wifi
	[ "$output" = "wifi-psk=SuperSecretValue" ]
}

@test "delete; missing objects are 8 with one error line" {
	echo x | sk store write gone
	run -0 sk store delete gone
	run -8 --separate-stderr sk store read gone
	assert_one_error_line "seckit store read: object 'gone': not found"
	[ -z "$output" ]
	run -8 --separate-stderr sk store delete gone
	assert_one_error_line "seckit store delete: "
	run -8 --separate-stderr sk store info gone
	assert_one_error_line "seckit store info: "
	run -8 --separate-stderr sk store read gone --out out
	assert_absent out
}

@test "bad names and bad command lines are usage errors (2)" {
	run -2 --separate-stderr sk store write ../etc < /dev/null
	assert_one_error_line "seckit store write: "
	run -2 sk store write .hidden < /dev/null
	run -2 sk store write "$(printf 'x%.0s' $(seq 256))" < /dev/null
	run -2 sk store read
	run -2 sk store read a b
	run -2 sk store list extra
	run -2 sk store frobnicate
	run -0 sk store --help
	[[ "$output" == *"write"*"read"*"list"*"info"*"delete"* ]]
	assert_absent "$SECKIT_STORE/master.key"
}

@test "input that cannot be read: exit 1, nothing stored" {
	echo old | sk store write a
	run -1 --separate-stderr sk store write a --in nonexistent
	assert_one_error_line "seckit store write: "
	run -1 sk store write a --in "$BATS_TEST_TMPDIR"
	run -0 sk store read a
	[ "$output" = old ]
	run -8 sk store read b
}

@test "stdout that cannot be written is an error (1)" {
	[ -w /dev/full ] || skip "no /dev/full"
	echo x | sk store write a
	run -1 --separate-stderr sh -c '"$SECKIT" store read a > /dev/full'
	assert_one_error_line "seckit store read: "
	run -1 --separate-stderr sh -c '"$SECKIT" store list > /dev/full'
	assert_one_error_line "seckit store list: "
}

@test "password: read, overwrite and delete need it (5); a failed overwrite changes nothing" {
	echo "the secret" | sk store write s --pass pass:right
	run -0 sk store read s --pass pass:right
	[ "$output" = "the secret" ]
	run -5 --separate-stderr sk store read s
	assert_one_error_line "seckit store read: "
	[ -z "$output" ]
	run -5 --separate-stderr sk store read s --pass pass:wrong
	assert_one_error_line "seckit store read: wrong password for object 's'"
	[ -z "$output" ]
	run -5 sk store read s --pass pass:wrong --out out
	assert_absent out
	before=$(obj_file s)
	cp "$SECKIT_STORE/$before" before.bin
	run -5 sh -c 'echo intruder | "$SECKIT" store write s'
	run -5 sh -c 'echo intruder | "$SECKIT" store write s --pass pass:wrong'
	cmp before.bin "$SECKIT_STORE/$before"
	run -0 sk store read s --pass pass:right
	[ "$output" = "the secret" ]
	run -5 sk store delete s
	run -5 sk store delete s --pass pass:wrong
	run -5 sk store delete s --pass pass:wrong --force
	run -0 sk store read s --pass env:NOPE_UNSET --pass pass:right
	# overwrite with the password keeps it protected
	echo v2 | sk store write s --pass pass:right
	run -5 sk store read s
	run -0 sk store read s --pass pass:right
	[ "$output" = v2 ]
	run -0 sk store delete s --pass pass:right
	run -8 sk store read s --pass pass:right
}

@test "password specs: env:, file:, fd:; a wrong one never reveals data" {
	export PW=hunter2
	echo pw-data | sk store write p --pass env:PW
	printf 'hunter2\n' > pwfile
	run -0 sk store read p --pass file:pwfile
	[ "$output" = pw-data ]
	run -0 sh -c '"$SECKIT" store read p --pass fd:3 3< pwfile'
	[ "$output" = pw-data ]
	run -5 sk store read p --pass pass:hunter3
	# the password is not stored in clear, and the data key differs per write
	run -1 grep -rq hunter2 "$SECKIT_STORE"
}

@test "password-protected bodies need the password, not only the check" {
	# The body key mixes the password's data key: swapping in the metadata
	# of another password-protected object does not open it.
	head -c 100000 /dev/urandom > d1
	sk store write p1 --in d1 --pass pass:one
	piped got sk store read p1 --pass pass:one
	cmp got d1
	run -0 sk store info p1 --json
	[[ "$output" == *'"password":true'* ]]
	# an unprotected object can be made protected by writing with --pass
	echo plain | sk store write q
	echo now-protected | sk store write q --pass pass:two
	run -5 sk store read q
	run -0 sk store read q --pass pass:two
	[ "$output" = now-protected ]
}

@test "the store directory is created 0700 and files 0600 whatever the umask" {
	umask 000
	echo x | sk store write a
	echo y | sk store write b --pass pass:p
	sk key create k --type ec-p256
	[ "$(file_mode "$SECKIT_STORE")" = 700 ]
	[ "$(file_mode "$SECKIT_STORE/tmp")" = 700 ]
	for f in "$SECKIT_STORE"/* "$SECKIT_STORE"/tmp/*; do
		[ -e "$f" ] || continue
		[ -d "$f" ] && continue
		[ "$(file_mode "$f")" = 600 ] || { ls -la "$f"; false; }
	done
	# nested, not yet existing parents are created 0700 too
	run -0 sk --store "$BATS_TEST_TMPDIR/deep/er/store" store write z < /dev/null
	[ "$(file_mode "$BATS_TEST_TMPDIR/deep")" = 700 ]
	[ "$(file_mode "$BATS_TEST_TMPDIR/deep/er/store")" = 700 ]
}

@test "an insecure store is refused (4)" {
	echo x | sk store write a
	chmod 0777 "$SECKIT_STORE"
	run -4 --separate-stderr sk store read a
	assert_one_error_line "seckit store read: store '$SECKIT_STORE' is insecure"
	run -4 sh -c 'echo y | "$SECKIT" store write a'
	chmod 0720 "$SECKIT_STORE"
	run -4 sk store list
	chmod 0700 "$SECKIT_STORE"
	chmod 0644 "$SECKIT_STORE/master.key"
	run -4 --separate-stderr sk store read a
	assert_one_error_line "seckit store read: store '$SECKIT_STORE': master.key is insecure"
	chmod 0600 "$SECKIT_STORE/master.key"
	chmod 0777 "$SECKIT_STORE/tmp"
	run -4 sh -c 'echo y | "$SECKIT" store write a'
	chmod 0700 "$SECKIT_STORE/tmp"
	run -0 sk store read a
	[ "$output" = x ]
}

@test "a directory that is not a store is not adopted (4); no store yet is 4 for readers" {
	run -4 sk store list
	assert_absent "$SECKIT_STORE"
	mkdir -p notstore && echo precious > notstore/file
	run -4 --separate-stderr sk --store "$PWD/notstore" store write a < /dev/null
	assert_one_error_line "seckit store write: store '$PWD/notstore': not a seckit store"
	[ "$(ls notstore)" = file ]
	echo notadir > plainfile
	run -4 sk --store "$PWD/plainfile" store list
}

@test "check: a healthy store verifies, every object read in full" {
	echo a | sk store write a
	head -c 200000 /dev/urandom | sk store write big
	echo p | sk store write p --pass pass:x
	sk key create k --type ec-p256
	run -0 sk store check
	[ "$output" = "4 objects verified, no problems" ]
	run -0 sk --json store check
	[ "$output" = '{"ok":true,"problems":[],"objects":4,"repaired":false}' ]
}

@test "a listing reads the index buckets that exist and each object once: no failed opens (strace)" {
	require strace
	export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
	for n in a b c d e; do printf '%s' "$n" | sk store write "obj-$n"; done
	buckets=$(find "$SECKIT_STORE" -maxdepth 1 -name 'idx.*' | wc -l)
	objects=$(find "$SECKIT_STORE" -maxdepth 1 -regextype posix-extended -regex '.*/[0-9a-f]{64}' | wc -l)
	[ "$objects" -eq 5 ]
	strace -f -qq -e trace=openat -o trace "$SECKIT" __complete object > names
	run -0 cat names
	[ "${#lines[@]}" -eq 5 ]
	# Every open below the store succeeds: the 251 or so buckets that do not
	# exist are not tried one by one (the directory is read once instead).
	run ! grep -E 'idx\.[0-9a-f]{2}".*ENOENT' trace
	run -0 grep -cE '"idx\.[0-9a-f]{2}"' trace
	[ "$output" -eq "$buckets" ]
	run -0 grep -cE '"[0-9a-f]{64}"' trace
	[ "$output" -eq "$objects" ]
	# The same listing through store list, key list: unchanged answers.
	run -0 sk store list --names
	[ "${#lines[@]}" -eq 5 ]
}
