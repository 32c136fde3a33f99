#!/usr/bin/env bats
# Secrets in memory: a process that holds a private key, the store's master
# key or a password writes no core file, cannot be read by another process
# of the same user, and keeps them where even root's gcore leaves them out
# (OpenSSL's secure heap: mlock'ed, MADV_DONTDUMP); a password is cleansed
# once used.  The process is stopped mid-operation deterministically: its
# input is a FIFO this shell holds open, so it sleeps in read(2) after it
# has loaded the key or checked the password.

load helper

MEMSCAN="$SECKIT_SRC/build/unit/memscan"

teardown() {
	if [ -n "${pid:-}" ]; then
		kill -KILL "$pid" 2>/dev/null || true
	fi
	if [ -n "${nobody_dir:-}" ]; then
		rm -rf "$nobody_dir"
	fi
}

# Hex of a file's bytes [skip, skip+count).
hex_of() {
	od -An -tx1 -v -j "$2" -N "$3" "$1" | tr -d ' \n'
}

# The raw private scalar of an openssl P-256 key file (SEC1 DER: 30 77 02
# 01 01 04 20, then the 32 bytes).
p256_scalar() {
	openssl ec -in "$1" -outform DER 2>/dev/null > "$1.sec1"
	hex_of "$1.sec1" 7 32
}

# The soft store's master key (docs/formats/store.md: bytes 8..39).
master_key() {
	hex_of "$SECKIT_STORE/master.key" 8 32
}

# Wait until process $1 sleeps in a system call on the FIFO $2 (the first
# argument in /proc/PID/syscall is read(2)'s descriptor).
wait_blocked() {
	local p=$1 fifo n nr fd rest
	fifo=$(realpath "$2")
	[ -r "/proc/$p/syscall" ] || skip "no /proc/PID/syscall on this kernel"
	for n in $(seq 200); do
		kill -0 "$p" 2>/dev/null || { echo "process $p ended early" >&2; return 1; }
		if read -r nr fd rest < "/proc/$p/syscall" 2>/dev/null && [ "$nr" != running ] &&
			[ "$(readlink "/proc/$p/fd/$((fd))" 2>/dev/null)" = "$fifo" ]; then
			return 0
		fi
		sleep 0.05
	done
	echo "process $p never blocked on $fifo ($n tries)" >&2
	return 1
}

# Start seckit ARGS... in the background with core files allowed; it reads
# the FIFO $1, which this shell holds open on descriptor 9 until
# release_input.  Sets $pid once the process is blocked on the FIFO.
start_blocked() {
	local fifo=$1
	shift
	mkfifo "$fifo"
	exec 9<> "$fifo"
	(ulimit -c unlimited 2>/dev/null; exec "$SECKIT" "$@" 3>&- 9>&-) &
	pid=$!
	wait_blocked "$pid" "$fifo"
}

# Close the FIFO (the blocked process sees the end of its input) and
# collect its exit status in $st.
release_input() {
	exec 9>&-
	st=0
	wait "$pid" || st=$?
	pid=
}

as_nobody() {
	setpriv --reuid=65534 --regid=65534 --clear-groups -- "$@"
}

import_p256() {
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.pem" 2>/dev/null
	run -0 sk key import "$1" --in "$1.pem"
}

@test "a process killed mid-operation (SIGABRT) writes no core file" {
	local pattern
	pattern=$(cat /proc/sys/kernel/core_pattern)
	case "$pattern" in
	"|"* | */*) skip "core_pattern '$pattern' does not write core files into the working directory" ;;
	esac
	import_p256 k
	mkdir cores
	cd cores
	# The same conditions make a core file of an ordinary process: the
	# check below is not vacuous.
	(ulimit -c unlimited 2>/dev/null; exec sleep 60) &
	pid=$!
	while [ "$(cat "/proc/$pid/comm")" != sleep ]; do sleep 0.05; done
	kill -ABRT "$pid"
	st=0
	wait "$pid" || st=$?
	pid=
	[ "$st" -eq 134 ]
	if [ -z "$(find . -name 'core*')" ]; then
		skip "this system writes no core file here (ulimit -c, core_pattern)"
	fi
	rm -f core*
	start_blocked ../in key sign k --in ../in --out ../sig
	kill -ABRT "$pid"
	release_input
	[ "$st" -eq 134 ]
	run -0 find . -name 'core*'
	[ -z "$output" ]
}

@test "another process of the same user cannot read seckit's memory" {
	require setpriv
	if [ "$(cat /proc/sys/kernel/yama/ptrace_scope 2>/dev/null || echo 0)" != 0 ]; then
		skip "Yama ptrace_scope forbids this read for any process already"
	fi
	[ "$(id -u)" -eq 0 ] || skip "needs root to run the test as another user"
	nobody_dir=$(mktemp -d /tmp/seckit-08.XXXXXX)
	chmod 755 "$nobody_dir"
	chown 65534:65534 "$nobody_dir"
	export SECKIT_STORE="$nobody_dir/store" HOME="$nobody_dir"
	run -0 as_nobody env -u SECKIT_CONFIG "$SECKIT" key create k --type ec-p256
	mkfifo in
	exec 9<> in
	# The FIFO is its standard input: the user needs no access to it.
	setpriv --reuid=65534 --regid=65534 --clear-groups -- env -u SECKIT_CONFIG "$SECKIT" key sign k --in - --out "$nobody_dir/sig" < in 3>&- 9>&- &
	pid=$!
	wait_blocked "$pid" in
	run -1 --separate-stderr as_nobody "$MEMSCAN" --pid "$pid" 00
	[[ "$stderr" == *"Permission denied"* ]]
	release_input
	[ "$st" -eq 0 ]
}

@test "key sign: a gcore of the process holding the key has no copy of the private scalar or the master key" {
	require gdb
	sanitizer_build && skip "the secure heap is off under AddressSanitizer"
	import_p256 k
	start_blocked in key sign k --in in --out sig
	run -0 gdb -p "$pid" -batch -ex "gcore $BATS_TEST_TMPDIR/core"
	# The core holds the process's heap (the public key is there) ...
	run -0 --separate-stderr "$MEMSCAN" --file core "$(openssl pkey -in k.pem -pubout -outform DER | od -An -tx1 -v | tr -d ' \n' | tail -c 64)"
	[ "$output" -ge 1 ]
	# ... but neither the private scalar nor the store's master key.
	run -0 --separate-stderr "$MEMSCAN" --file core "$(p256_scalar k.pem)" "$(master_key)"
	echo "$stderr"
	[ "$output" = "$(printf '0\n0')" ]
	echo data > in
	release_input
	[ "$st" -eq 0 ]
	run -0 openssl dgst -sha256 -verify <(openssl pkey -in k.pem -pubout) -signature sig <(echo data)
}

@test "store write --pass file: a gcore taken while it streams its input has no copy of the password" {
	require gdb
	sanitizer_build && skip "the secure heap is off under AddressSanitizer"
	printf 'Pw-%s\n' "$(openssl rand -hex 16)" > pw
	start_blocked in store write d --pass file:pw --in in
	run -0 gdb -p "$pid" -batch -ex "gcore $BATS_TEST_TMPDIR/core"
	run -0 --separate-stderr "$MEMSCAN" --file core "$(hex_of pw 0 35)" "$(master_key)"
	echo "$stderr"
	[ "$output" = "$(printf '0\n0')" ]
	echo secret-data > in
	release_input
	[ "$st" -eq 0 ]
	run -0 sk store read d --pass file:pw
	[ "$output" = secret-data ]
}

@test "a password is cleansed once used: none left anywhere in the memory of the process" {
	sanitizer_build && skip "the secure heap is off under AddressSanitizer"
	printf 'Pw-%s\n' "$(openssl rand -hex 16)" > pw
	run -0 sk key password create p1 --pass file:pw
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out k.pem 2>/dev/null
	run -0 sk key import k --in k.pem --password-object p1 --pass file:pw
	start_blocked in key sign k --pass file:pw --in in --out sig
	# All of it, the secure heap included (root reads /proc/PID/mem): the
	# key in use is there, the password that unlocked it is not.
	run -0 --separate-stderr "$MEMSCAN" --pid "$pid" "$(p256_scalar k.pem)" "$(hex_of pw 0 35)"
	echo "$stderr"
	[ "${lines[0]}" -ge 1 ]
	[ "${lines[1]}" -eq 0 ]
	release_input
	[ "$st" -eq 0 ]
}

# Bytes waiting in FIFO $1 (held open by this shell, so nothing is lost),
# read without blocking.
fifo_bytes() {
	timeout 5 dd if="$1" bs=1M count=1 iflag=nonblock status=none 2>/dev/null | wc -c
}

@test "secret outputs never go through a symbolic link to a FIFO or a device" {
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out k.pem 2>/dev/null
	run -0 sk key import k --in k.pem --exportable
	run -0 sk key create aes --type aes-256
	echo secret-data > data
	run -0 sk store write d --in data
	run -0 sk key encrypt aes --in data --out ct
	mkfifo fifo
	exec 9<> fifo
	ln -s fifo o
	sk_fails 1 "key export: writing 'o': a symbolic link to a FIFO" \
		key export k --private --no-encrypt --out o
	sk_fails 1 "store read: writing 'o': a symbolic link to a FIFO" store read d --out o
	sk_fails 1 "key random: writing 'o': a symbolic link to a FIFO" key random 32 --out o
	sk_fails 1 "key decrypt: writing 'o': a symbolic link to a FIFO" key decrypt aes --in ct --out o
	[ "$(fifo_bytes fifo)" -eq 0 ]
	[ -L o ]
	ln -s /dev/null dev
	sk_fails 1 "key export: writing 'dev': a symbolic link to a device" \
		key export k --private --no-encrypt --out dev
	[ -L dev ]
	# Public data still follows the link.
	run -0 sk key export k --out o
	[ "$(fifo_bytes fifo)" -eq "$(openssl pkey -in k.pem -pubout | wc -c)" ]
}

@test "secret outputs: a FIFO named directly gets them, one planted by another user does not; a link to a file is replaced" {
	run -0 sk key create k --type ec-p256 --exportable
	mkfifo fifo
	exec 9<> fifo
	run -0 sk key export k --private --no-encrypt --out fifo
	[ "$(fifo_bytes fifo)" -gt 100 ]
	if [ "$(id -u)" -eq 0 ]; then
		chown 65534 fifo
		sk_fails 1 "key export: writing 'fifo': a FIFO owned by uid 65534" \
			key export k --private --no-encrypt --out fifo
		[ "$(fifo_bytes fifo)" -eq 0 ]
	fi
	echo "keep me" > victim
	ln -s victim o
	run -0 sk key export k --private --no-encrypt --out o
	[ "$(cat victim)" = "keep me" ]
	[ ! -L o ]
	[ "$(file_mode o)" = 600 ]
	run -0 openssl pkey -in o -noout
	assert_no_debris .
}
