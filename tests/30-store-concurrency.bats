#!/usr/bin/env bats
# Concurrency: many processes writing, reading and deleting distinct and
# shared names at once; read-modify-write through the library without a
# lost update; bounded lock waits; a lock held by a dead process; a slow
# writer that does not hold the lock while it streams.

load helper
load store

# A value that proves its own integrity without spawning anything:
# "proc:seq;" repeated 1 + (seq * 37 mod 300) times (up to ~3 KiB).
value() {
	local unit="$1:$2;" pad
	printf -v pad '%*s' $((1 + ($2 * 37) % 300)) ''
	printf %s "${pad// /$unit}"
}

valid() {
	local unit=${1%%;*} seq
	seq=${unit#*:}
	[[ "$unit" =~ ^[0-9]+:[0-9]+$ ]] && [ "$1" = "$(value "${unit%%:*}" "$seq")" ]
}

# One worker: $1 = id, $2 = operations.  Writes its own names (and checks
# that it reads back what it wrote last: no lost update), writes and reads
# shared names (every value read must be whole), deletes, lists.
worker() {
	local id=$1 ops=$2 k v got errs=0
	set +e # failures are counted, not fatal
	for k in $(seq "$ops"); do
		case $((k % 8)) in
		0)
			v=$(value "$id" "$k")
			printf %s "$v" | "$SECKIT" store write "own-$id" || { echo "w$id/$k: write own failed" >&2; errs=$((errs + 1)); } ;;
		1|5)
			got=$("$SECKIT" store read "own-$id" 2> "err.$id")
			[ "$got" = "$v" ] || { echo "w$id/$k: own value lost: $(cat "err.$id")" >&2; errs=$((errs + 1)); } ;;
		2)
			printf %s "$(value "$id" "$k")" | "$SECKIT" store write "shared-$(( (k / 8) % 3 ))" ||
				{ echo "w$id/$k: write shared failed" >&2; errs=$((errs + 1)); } ;;
		3|6)
			got=$("$SECKIT" store read "shared-$(( k % 3 ))" 2> "err.$id")
			case $? in
			0) valid "$got" || { echo "w$id/$k: torn shared value" >&2; errs=$((errs + 1)); } ;;
			8) ;; # not written yet
			*) echo "w$id/$k: shared read failed: $(cat "err.$id")" >&2; errs=$((errs + 1)) ;;
			esac ;;
		4)
			if [ $((k % 16)) -eq 4 ]; then
				printf x | "$SECKIT" store write "tmp-$id" || { echo "w$id/$k: write failed" >&2; errs=$((errs + 1)); }
			else
				"$SECKIT" store delete "tmp-$id" 2> "err.$id" || { echo "w$id/$k: delete failed: $(cat "err.$id")" >&2; errs=$((errs + 1)); }
				"$SECKIT" store read "tmp-$id" > /dev/null 2>&1
				[ $? -eq 8 ] || { echo "w$id/$k: deleted object still there" >&2; errs=$((errs + 1)); }
			fi ;;
		7)
			"$SECKIT" store list > /dev/null 2> "err.$id" || { echo "w$id/$k: list failed: $(cat "err.$id")" >&2; errs=$((errs + 1)); } ;;
		esac
	done
	echo "$errs" > "errs.$id"
	printf %s "$v" > "last.$id"
}

@test "8 processes x 500 operations on distinct and shared names (32 x 1000 with make stress)" {
	procs=8 ops=500
	stress && procs=32 ops=1000
	for id in $(seq "$procs"); do
		worker "$id" "$ops" 2> "log.$id" &
	done
	wait
	cat log.* >&2
	for id in $(seq "$procs"); do
		[ "$(cat "errs.$id")" = 0 ]
		# the last write of each worker is what its name holds
		sk store read "own-$id" > got
		cmp got "last.$id"
	done
	for n in 0 1 2; do
		got=$(sk store read "shared-$n")
		valid "$got"
	done
	run -0 sk store list --names
	[ "$(printf '%s\n' "${lines[@]}" | grep -c -E '^(own-[0-9]+|shared-[0-2])$')" -eq $((procs + 3)) ]
	run -0 sk store check
	echo z | sk store write z
	assert_store_clean
	echo "$((procs * ops)) operations, plus their read-backs" >&3
}

@test "read-modify-write transactions lose no update: 8 x 60 increments (8 x 1000 stress)" {
	need_storetool
	n=60
	stress && n=1000
	# Each process commits in a tight loop; with a 10 s lock timeout a
	# writer that keeps being overtaken (unfair locking) would fail.
	for id in $(seq 8); do
		STORETOOL_LOCK_TIMEOUT=10 "$ST" "$SECKIT_STORE" incr counter "$n" 2> "log.$id" &
	done
	fails=0
	for job in $(jobs -p); do
		wait "$job" || fails=$((fails + 1))
	done
	cat log.* >&2
	[ "$fails" -eq 0 ]
	run -0 sk store read counter
	[ "$output" = $((8 * n)) ]
}

@test "a lock held by a dead process does not block; a live holder makes writers wait, boundedly (4)" {
	need_storetool
	printf 'lock-timeout: 1\n' >> "$SECKIT_CONFIG"
	echo v | sk store write a
	coproc holder { exec "$ST" "$SECKIT_STORE" hold 60; }
	pid=$holder_PID
	read -r line <&"${holder[0]}"
	[ "$line" = locked ]
	# writers wait at most lock-timeout, then give up with 4 ...
	run -4 --separate-stderr sh -c 'echo w | "$SECKIT" store write a'
	assert_one_error_line "seckit store write: store '$SECKIT_STORE' is locked by another process (waited 1 s)"
	run -4 sk key create k --type aes-256
	# ... readers need no lock
	run -0 sk store read a
	[ "$output" = v ]
	run -0 sk store list
	# the holder dies: its flock goes with it
	kill -9 "$pid"
	wait "$pid" || true
	echo w | sk store write a
	run -0 sk store read a
	[ "$output" = w ]
}

dir_not_empty() {
	[ -n "$(ls -A "$1" 2>/dev/null)" ]
}

@test "a slow producer does not hold the lock while it streams" {
	printf 'lock-timeout: 1\n' >> "$SECKIT_CONFIG"
	# 2 MiB, then a pause of 3 s, then 2 MiB more
	{ head -c 2097152 /dev/zero; sleep 3; head -c 2097152 /dev/zero; } | sk store write slow &
	pid=$!
	# once it streams into its temporary file ...
	wait_until dir_not_empty "$SECKIT_STORE/tmp"
	# ... other writers get the lock at once (timeout is 1 s)
	for i in 1 2 3; do
		echo "$i" | sk store write "quick$i"
	done
	# and a writer's debris cleanup leaves the live temporary file alone
	dir_not_empty "$SECKIT_STORE/tmp"
	wait "$pid"
	run -0 sk store info slow
	[ "${lines[1]}" = "size:      4194304" ]
	piped got sk store read slow
	cmp got <(head -c 4194304 /dev/zero)
	assert_store_clean
}

@test "concurrent first use: many processes creating the same store agree on one master key" {
	# (not "i": bats' run -N clobbers a global i)
	for n in $(seq 8); do
		echo "$n" | sk store write "first$n" &
	done
	wait
	run -0 sk store list --names
	[ "${#lines[@]}" -eq 8 ]
	for n in $(seq 8); do
		run -0 sk store read "first$n"
		[ "$output" = "$n" ]
	done
}
