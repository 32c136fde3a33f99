# shellcheck shell=bash
# Fault injection for tests/30-store-fault.bats: run a seckit command that
# writes state once for every I/O call it makes in the store, with that
# call failing (tests/fault/skfault.c, LD_PRELOAD'ed), and check the
# contract of docs/formats/store.md ("When a write fails") after each one:
#   - the command exits non-zero with one error line, nothing on stdout (or
#     0, when the call was one whose failure does not decide the outcome:
#     then the write is whole);
#   - the store reads back as exactly the old state or exactly the new one,
#     every object, nothing in between, and the whole-store check finds
#     nothing wrong;
#   - the next write succeeds, changes nothing else and leaves no debris.
# Needs `load helper` and `load store`.  Runs many trials: it forks as
# little as it can (the checks are bash, the reads are one storetool dump).

# The shim is built for seckit's architecture (make check-arm64 gives the
# arm64 one).
FAULT_LIB="${SECKIT_FAULTLIB:-$SECKIT_SRC/build/fault/libskfault.so}"

need_fault() {
	need_storetool
	[ -f "$FAULT_LIB" ] || skip "the fault shim is not built (make)"
}

# The faults each call gets, ERRNO:SPAN:WHEN (tests/fault/skfault.c).
# Default: EIO for every call, ENOSPC for every write and sync (where a
# full disk shows; seckit treats all errors alike), and every rename also
# failing after it happened.  STORE_STRESS=1 (make stress): every call
# fails with EIO and with ENOSPC, before and after doing its work, once
# and for good (a disk that stays broken), and a command that changed
# nothing is tried again.
fault_modes() {
	if stress; then
		echo "EIO:1:before ENOSPC:1:before EIO:1:after ENOSPC:1:after EIO:0:before ENOSPC:0:before"
	else
		echo "EIO:1:before ENOSPC:1:before EIO:1:after"
	fi
}

# Does mode $1 apply to logged call $2 ("N KIND PATH")?
fault_applies() {
	stress && return 0
	case $1 in
	EIO:1:before) return 0 ;;
	ENOSPC:*) [[ $2 =~ ^[0-9]+\ (write|fsync)\  ]] ;;
	*:after) [[ $2 =~ ^[0-9]+\ rename\  ]] ;;
	esac
}

# Run seckit under the shim, failing call $1 with errno $2 for $3 calls (0:
# all the rest), before or after doing it ($4); stdout, stderr and the log
# of calls go to $FAULT_WORK.  $FAULT_OPS: the kinds of call (fault_loop);
# $FAULT_PRELOAD: more libraries to preload (libfaketime).
fault_run() {
	local at=$1 err=$2 span=$3 when=$4
	shift 4
	rm -f "$FAULT_WORK/trial.log"
	SKFAULT_DIR="$SECKIT_STORE" SKFAULT_AT=$at SKFAULT_ERRNO=$err SKFAULT_SPAN=$span \
		SKFAULT_WHEN=$when SKFAULT_OPS=${FAULT_OPS:-all} SKFAULT_LOG="$FAULT_WORK/trial.log" \
		LD_PRELOAD="$FAULT_LIB${FAULT_PRELOAD:+ $FAULT_PRELOAD}" \
		"$SECKIT" "$@" > "$FAULT_WORK/out" 2> "$FAULT_WORK/err" < "${FAULT_STDIN:-/dev/null}"
}

# The store's logical state: storetool dump (the whole-store check, then
# every object with its version) into the variable named $1.
fault_dump() {
	local -n _into=$1
	_into=$("$ST" "$SECKIT_STORE" dump 2> "$FAULT_WORK/dump.err")
}

# In one process (storetool probe): the state as readers see it now, then
# the next write (data object fault-probe0), then the state again; into
# FAULT_GOT and FAULT_AFTER, without the probe object.
fault_probe() {
	local out line got="" after="" half=got
	out=$("$ST" "$SECKIT_STORE" probe fault-probe 2> "$FAULT_WORK/dump.err") || return 1
	FAULT_PROBED=0
	while IFS= read -r line; do
		if [ "$line" = -- ]; then
			half=after
		elif [[ $line == "3 fault-probe0 "* ]]; then
			[ "$half" = got ] || FAULT_PROBED=1
		elif [ "$half" = got ]; then
			got+=$line$'\n'
		else
			after+=$line$'\n'
		fi
	done <<< "$out"
	FAULT_GOT=${got%$'\n'} FAULT_AFTER=${after%$'\n'}
}

# old new got (dumps): FAULT_STATE is "old" if got is old; "new" if every
# object that the command changed (wrote, added, deleted) is changed in got
# and every other one is as it was; "mixed" otherwise.
fault_classify() {
	local ns name ver rest k
	local -A o=() n=() g=() all=()
	FAULT_STATE=old
	[ "$1" != "$3" ] || return 0
	FAULT_STATE=mixed
	while read -r ns name ver rest; do [ -z "$ns" ] || { o["$ns $name"]=$ver; all["$ns $name"]=1; }; done <<< "$1"
	while read -r ns name ver rest; do [ -z "$ns" ] || { n["$ns $name"]=$ver; all["$ns $name"]=1; }; done <<< "$2"
	while read -r ns name ver rest; do [ -z "$ns" ] || { g["$ns $name"]=$ver; all["$ns $name"]=1; }; done <<< "$3"
	for k in "${!all[@]}"; do
		# present in both or in neither
		[ "${n[$k]+1}" = "${g[$k]+1}" ] || return 0
		[ -n "${g[$k]+1}" ] || continue
		# changed by the command if and only if changed in got
		if [ "${o[$k]-}" = "${n[$k]}" ]; then
			[ "${o[$k]-}" = "${g[$k]}" ] || return 0
		else
			[ "${o[$k]-}" != "${g[$k]}" ] || return 0
		fi
	done
	FAULT_STATE=new
}

fault_fail() {
	echo "fault loop '$FAULT_WHAT': $*" >&2
	return 1
}

# fault_loop [--best-effort] [--converge] [--eio] [--no-reads] FIXTURE PREFIX CMD...
#   FIXTURE   a store directory; every trial starts from a copy of it
#   PREFIX    what the error line starts with after "seckit " ("stp apply: ")
#   CMD       the seckit command (run in the current directory, stdin from
#             $FAULT_STDIN or /dev/null)
# --best-effort: the command may also succeed without writing (a write it
#   makes on the side, like the clock note of cert verify; a run without a
#   fault must still write).
# --converge: a command that takes several commits and is made to be run
#   again until it succeeds (provision): after a failure it may have done
#   part of its work, and running it again must then complete it.
# --eio: outside make stress, only EIO before the call (a command whose
#   commits are covered by the other loops for the other modes).
# --no-reads: outside make stress, do not fail read-only opens (a command
#   that lists the store opens all 256 index buckets; the reads before a
#   commit fail like any other step before it).
# Appends the number of faults injected to the file $FAULT_COUNT.
fault_loop() {
	local best=0 converge=0 fix prefix n at mode err span when rc state what
	local trials=0 partial=0 old new got errs line store rerun
	local -a calls errlines
	local FAULT_OPS=all modes
	modes=$(fault_modes)
	while :; do
		case $1 in
		--best-effort) best=1 ;;
		--converge) converge=1 ;;
		--no-reads) stress || FAULT_OPS=write,fsync,rename,open,link,unlink,mkdir ;;
		--eio) stress || modes=EIO:1:before ;;
		*) break ;;
		esac
		shift
	done
	fix=$1 prefix="seckit $2" store=$SECKIT_STORE
	shift 2
	what="$*"
	FAULT_WHAT=$what
	FAULT_WORK="$BATS_TEST_TMPDIR/fault"
	mkdir -p "$FAULT_WORK"
	rm -rf "$SECKIT_STORE"
	cp -a "$fix" "$SECKIT_STORE"
	fault_dump old || fault_fail "the fixture does not read: $(< "$FAULT_WORK/dump.err")" || return
	# The count: the command once, every call logged, none failing.
	fault_run 0 EIO 1 before "$@" || fault_fail "exit $? without a fault: $(< "$FAULT_WORK/err")" || return
	mapfile -t calls < "$FAULT_WORK/trial.log"
	n=${#calls[@]}
	[ "$n" -gt 0 ] || fault_fail "no I/O call in $SECKIT_STORE" || return
	fault_dump new || fault_fail "the new state does not read: $(< "$FAULT_WORK/dump.err")" || return
	[ "$new" != "$old" ] || fault_fail "the command changed nothing in the store" || return
	for mode in $modes; do
		IFS=: read -r err span when <<< "$mode"
		for ((at = 1; at <= n; at++)); do
			line=${calls[at - 1]}
			fault_applies "$mode" "$line" || continue
			FAULT_WHAT="$what [call $line; $mode]"
			# A fresh copy of the fixture per trial (removed at the end:
			# one rm for all of them).
			SECKIT_STORE="$FAULT_WORK/s.$mode.$at"
			cp -a "$fix" "$SECKIT_STORE"
			rc=0
			fault_run "$at" "$err" "$span" "$when" "$@" || rc=$?
			trials=$((trials + 1))
			errs=$(< "$FAULT_WORK/err")
			rerun=0
			if [ "$converge" = 1 ] || { stress && [ "$best" = 0 ]; }; then
				# Run again (provision), or try again after a failure that
				# changed nothing (stress): decided on the state now.
				fault_dump got || fault_fail "exit $rc ($errs), then the store does not read: $(< "$FAULT_WORK/dump.err")" || return
				fault_classify "$old" "$new" "$got"
				[ "$FAULT_STATE" = new ] || { [ "$converge" = 0 ] && [ "$FAULT_STATE" = mixed ]; } || rerun=1
			fi
			fault_probe || fault_fail "exit $rc ($errs), then: $(< "$FAULT_WORK/dump.err")" || return
			fault_classify "$old" "$new" "$FAULT_GOT"
			state=$FAULT_STATE
			if [ "$rc" -eq 0 ]; then
				[ "$state" = new ] || { [ "$best" = 1 ] && [ "$state" = old ]; } ||
					fault_fail "exit 0 but the store holds the $state state" || return
			else
				mapfile -t errlines < "$FAULT_WORK/err"
				[ "${#errlines[@]}" -eq 1 ] || fault_fail "exit $rc, not one error line: $errs" || return
				[[ $errs == "$prefix"* ]] || fault_fail "the error line does not start with '$prefix': $errs" || return
				[ ! -s "$FAULT_WORK/out" ] || [ "$best" = 1 ] ||
					fault_fail "exit $rc, and output on stdout: $(< "$FAULT_WORK/out")" || return
				if [ "$state" = mixed ] && [ "$converge" = 1 ]; then
					partial=$((partial + 1))
				elif [ "$state" = mixed ]; then
					fault_fail "exit $rc ($errs), and the store holds a mixed state:
$(diff <(echo "$old") <(echo "$FAULT_GOT"))" || return
				fi
			fi
			# The next write worked, finished what was pending, changed
			# nothing else and left no debris.
			[ "$FAULT_PROBED" = 1 ] && [ "$FAULT_AFTER" = "$FAULT_GOT" ] ||
				fault_fail "the next write changed other objects:
$(diff <(echo "$FAULT_GOT") <(echo "$FAULT_AFTER"))" || return
			assert_store_clean || fault_fail "debris after the next write" || return
			[ "$rerun" = 1 ] || continue
			fault_run 0 EIO 1 before "$@" || fault_fail "exit $? when run again: $(< "$FAULT_WORK/err")" || return
			fault_probe || fault_fail "does not read after a second run: $(< "$FAULT_WORK/dump.err")" || return
			fault_classify "$old" "$new" "$FAULT_GOT"
			[ "$FAULT_STATE" = new ] || fault_fail "a second run left the $FAULT_STATE state" || return
		done
	done
	SECKIT_STORE=$store
	rm -rf "$FAULT_WORK"/s.*
	line="# $what: $n calls, $trials faults injected"
	[ "$partial" = 0 ] || line+=", $partial left part of the work done"
	echo "$line" >&3
	echo "$trials" >> "${FAULT_COUNT:-/dev/null}"
}
