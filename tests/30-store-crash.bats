#!/usr/bin/env bats
# Crash safety: writers killed with SIGKILL at every step of a commit
# (SECKIT_TEST_CRASH_AT) and at random moments.  Afterwards every object
# reads back as its complete old or complete new value, the store opens,
# list shows no debris, and the next write cleans up.  `make stress` runs
# the random trials ten times longer.

load helper
load store

# The commit steps, in order; a crash at the first three leaves the old
# state, at the others the new one (store.h, SECKIT_TEST_CRASH_AT).
BEFORE="before-rename staged before-commit"
AFTER="after-journal mid-rename after-commit"

# Run "$@" with a crash at step $1; it must die of SIGKILL.
crash_at() {
	local step=$1 rc=0
	shift
	SECKIT_TEST_CRASH_AT=$step "$@" > /dev/null 2>&1 || rc=$?
	if [ "$rc" -ne 137 ]; then
		echo "crash at $step: '$*' exited $rc instead of being killed" >&2
		return 1
	fi
}

expect_value() {
	local name=$1 want=$2 got
	got=$("$SECKIT" store read "$name" "${@:3}") || { echo "read $name failed" >&2; return 1; }
	if [ "$got" != "$want" ]; then
		echo "$name: '$got', expected '$want'" >&2
		return 1
	fi
}

@test "store write: a crash at each commit step leaves the old or the new value" {
	for step in $BEFORE $AFTER; do
		echo old | sk store write a
		printf 'new' > new
		crash_at "$step" "$SECKIT_TESTBUILD" store write a --in new
		case " $BEFORE " in
		*" $step "*) expect_value a old ;;
		*) expect_value a new ;;
		esac
		run -0 sk store list --names
		[ "${lines[0]}" = a ]
		for l in "${lines[@]:1}"; do [[ "$l" == fresh-after-journal || "$l" == fresh-mid-rename ]]; done
		run -0 sk store check
		# a new object: absent before the commit point, complete after
		crash_at "$step" "$SECKIT_TESTBUILD" store write "fresh-$step" --in new
		case " $BEFORE " in
		*" $step "*) run -8 sk store read "fresh-$step" ;;
		*) expect_value "fresh-$step" new ;;
		esac
	done
	echo last | sk store write a
	assert_store_clean
}

@test "store delete and password-protected overwrite: crash at each step" {
	for step in $BEFORE $AFTER; do
		echo old | sk store write d
		crash_at "$step" "$SECKIT_TESTBUILD" store delete d
		case " $BEFORE " in
		*" $step "*) expect_value d old ;;
		*) run -8 sk store read d ;;
		esac
		echo secret-old | sk store write p --pass pass:pw
		echo secret-new > new
		crash_at "$step" "$SECKIT_TESTBUILD" store write p --pass pass:pw --in new
		case " $BEFORE " in
		*" $step "*) expect_value p secret-old --pass pass:pw ;;
		*) expect_value p secret-new --pass pass:pw ;;
		esac
		run -5 sk store read p --pass pass:wrong
	done
	echo x | sk store write z
	assert_store_clean
}

@test "keys and password objects: crash at each step of create and delete" {
	for step in $BEFORE $AFTER; do
		crash_at "$step" "$SECKIT_TESTBUILD" key create "k-$step" --type ec-p256
		crash_at "$step" "$SECKIT_TESTBUILD" key password create "pw-$step" --pass pass:x
		case " $BEFORE " in
		*" $step "*)
			run -8 sk key info "k-$step"
			run -0 sk key password list
			[[ "$output" != *"pw-$step"* ]] ;;
		*)
			run -0 sk key info "k-$step"
			echo data > data
			run -0 sk key sign "k-$step" --in data --out sig
			run -0 sk key password list
			[[ "$output" == *"pw-$step"* ]] ;;
		esac
	done
	sk key create victim --type aes-256
	crash_at before-commit "$SECKIT_TESTBUILD" key delete victim
	run -0 sk key info victim
	crash_at mid-rename "$SECKIT_TESTBUILD" key delete victim
	run -8 sk key info victim
	run -0 sk store check
}

@test "multi-object commits across index buckets are all or nothing at every step" {
	need_storetool
	"$ST" "$SECKIT_STORE" multi m 10 v0
	gen=0
	for step in $BEFORE after-journal mid-buckets mid-rename after-commit; do
		gen=$((gen + 1))
		crash_at "$step" "$ST" "$SECKIT_STORE" multi m 10 "v$gen"
		run -0 "$ST" "$SECKIT_STORE" same m 10
		case " $BEFORE " in
		*" $step "*) [ "$output" = "v$((gen - 1))" ] || { echo "$step: $output" >&2; false; }
			"$ST" "$SECKIT_STORE" multi m 10 "v$gen" ;;
		*) [ "$output" = "v$gen" ] || { echo "$step: $output" >&2; false; } ;;
		esac
		# puts and deletes mixed in one commit
		crash_at "$step" "$ST" "$SECKIT_STORE" mixed m 10 "x$gen"
		run -0 "$ST" "$SECKIT_STORE" same m 1
		case " $BEFORE " in
		*" $step "*) [ "$output" = "v$gen" ]; run -0 sk store read m1 ;;
		*) [ "$output" = "x$gen" ]; run -8 sk store read m1 ;;
		esac
		"$ST" "$SECKIT_STORE" multi m 10 "v$gen"
	done
	# a crash at the N-th index bucket of a commit
	for n in 2 3 5; do
		crash_at "mid-rename:$n" "$ST" "$SECKIT_STORE" multi m 10 "n$n"
		run -0 "$ST" "$SECKIT_STORE" same m 10
		[ "$output" = "n$n" ]
	done
	"$ST" "$SECKIT_STORE" multi m 10 end
	assert_store_clean
}

@test "a crash while finishing a crashed commit, and readers meanwhile" {
	need_storetool
	"$ST" "$SECKIT_STORE" multi m 10 old
	crash_at after-journal "$ST" "$SECKIT_STORE" multi m 10 new
	[ -f "$SECKIT_STORE/journal" ] || [ -n "$(ls -A "$SECKIT_STORE" | grep '^\.s\.')" ]
	# the next writer rolls forward and is killed while doing it
	echo w > w
	crash_at cleanup "$SECKIT_TESTBUILD" store write w --in w || true
	run -0 "$ST" "$SECKIT_STORE" same m 10
	[ "$output" = new ]
	# readers in between never see a mix
	crash_at mid-buckets "$ST" "$SECKIT_STORE" multi m 10 newer
	run -0 "$ST" "$SECKIT_STORE" same m 10
	[ "$output" = newer ]
	run -0 sk store list
	echo w | sk store write w
	assert_store_clean
}

@test "debris of crashed writers is cleaned up by the next write, never listed" {
	need_storetool
	echo a | sk store write a
	# killed while streaming (no lock held yet): a temporary body remains
	"$ST" "$SECKIT_STORE" stream big 400000000 & pid=$!
	for _ in $(seq 100); do
		[ -n "$(ls -A "$SECKIT_STORE/tmp")" ] && break
		sleep 0.05
	done
	kill -9 "$pid"; wait "$pid" || true
	[ -n "$(ls -A "$SECKIT_STORE/tmp")" ]
	# killed after staging: staged versions remain
	echo b > b
	crash_at staged "$SECKIT_TESTBUILD" store write b --in b
	[ -n "$(ls -A "$SECKIT_STORE" | grep '^\.s\.')" ]
	run -0 sk store list --names
	[ "$output" = a ]
	run -0 sk store read a
	echo c | sk store write c
	assert_store_clean
	run -0 sk store list --names
	[ "$output" = "$(printf 'a\nc')" ]
}

# ---- random kills ----

# One trial: start an operation, SIGKILL it after a random delay of up to
# 12 ms, then check that everything it touched is old or new, complete.
@test "SIGKILL at random moments: 200 trials (2000 with make stress)" {
	need_storetool
	trials=200
	stress && trials=2000
	for i in 0 1 2 3; do
		head -c $((100000 + i * 70000)) /dev/urandom > "med$i"
		printf 'small value %s' "$i" > "small$i"
	done
	sk store write s --in small0
	sk store write med --in med0
	sk store write sec --in small1 --pass pass:pw
	"$ST" "$SECKIT_STORE" multi m 6 m0
	s=small0 med=med0 sec=small1 m=m0 ops=0 kills=0
	for t in $(seq "$trials"); do
		op=$((RANDOM % 6))
		n=$((RANDOM % 4))
		case $op in
		0) "$SECKIT" store write s --in "small$n" > /dev/null 2>&1 & ;;
		1) "$SECKIT" store write med --in "med$n" > /dev/null 2>&1 & ;;
		2) "$SECKIT" store write sec --pass pass:pw --in "small$n" > /dev/null 2>&1 & ;;
		3) "$ST" "$SECKIT_STORE" multi m 6 "m$t" > /dev/null 2>&1 & ;;
		4) "$SECKIT" store delete s > /dev/null 2>&1 & ;;
		5) "$SECKIT" key create "k$t" --type ec-p256 > /dev/null 2>&1 & ;;
		esac
		pid=$!
		sleep "0.00$((RANDOM % 10))$((RANDOM % 10))"
		kill -9 "$pid" 2> /dev/null && kills=$((kills + 1))
		wait "$pid" 2> /dev/null || true
		ops=$((ops + 1))
		# the store opens and lists
		"$SECKIT" store list > /dev/null || { echo "trial $t (op $op): list failed" >&2; false; }
		case $op in
		0|4)
			if got=$("$SECKIT" store read s 2> /dev/null); then
				if [ "$got" = "$(cat "$s" 2>/dev/null)" ]; then :;
				elif [ "$op" = 0 ] && [ "$got" = "$(cat "small$n")" ]; then s=small$n
				else echo "trial $t: s is '$got'" >&2; false; fi
			else
				run -8 sk store read s
				[ "$op" = 4 ] || [ "$s" = none ] || { echo "trial $t: s vanished" >&2; false; }
				s=none
			fi ;;
		1)
			"$SECKIT" store read med > got || { echo "trial $t: med unreadable" >&2; false; }
			if cmp -s got "$med"; then :; elif cmp -s got "med$n"; then med=med$n
			else echo "trial $t: med is neither old nor new" >&2; false; fi ;;
		2)
			got=$("$SECKIT" store read sec --pass pass:pw) || { echo "trial $t: sec unreadable" >&2; false; }
			if [ "$got" = "$(cat "$sec")" ]; then :; elif [ "$got" = "$(cat "small$n")" ]; then sec=small$n
			else echo "trial $t: sec is '$got'" >&2; false; fi ;;
		3)
			got=$("$ST" "$SECKIT_STORE" same m 6) || { echo "trial $t: m is mixed" >&2; false; }
			[ "$got" = "$m" ] || [ "$got" = "m$t" ] || { echo "trial $t: m is '$got'" >&2; false; }
			m=$got ;;
		5)
			if "$SECKIT" key info "k$t" > /dev/null 2>&1; then
				echo x | "$SECKIT" key sign "k$t" --in - --out sig || { echo "trial $t: k$t unusable" >&2; false; }
			else
				run -8 sk key info "k$t"
			fi ;;
		esac
	done
	echo "$ops operations, $kills killed before they finished" >&3
	echo final | sk store write s
	assert_store_clean
	run -0 sk store check
}
