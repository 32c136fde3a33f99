#!/bin/bash
# Disk-full scenario for tests/30-store-diskfull.bats, run inside a private
# mount namespace with a small tmpfs mounted at $1 (nothing leaks out: the
# mount dies with the namespace).  $2 is a work directory outside it.
# Prints one line per outcome; exits non-zero on the first broken promise.
set -u
fs=$1
work=$2
SECKIT=${SECKIT:?}
export SECKIT_STORE="$fs/store"

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# Fill the filesystem so that about $1 KiB stay free.
fill() {
	local avail
	rm -f "$fs/filler"
	avail=$(df --output=avail -k "$fs" | tail -n 1)
	if [ "$1" -eq 0 ]; then
		head -c $((avail + 64))K /dev/zero > "$fs/filler" 2> /dev/null
	elif [ "$avail" -gt "$1" ]; then
		head -c $((avail - $1))K /dev/zero > "$fs/filler" 2> /dev/null
	fi
}

# A failed write: exit 1 and one line naming the reason.
check_enospc() {
	local rc=$1 what=$2
	[ "$rc" -eq 1 ] || fail "$what: exit $rc (want 0 or 1)"
	[ "$(wc -l < "$work/err")" -eq 1 ] || fail "$what: not one error line: $(cat "$work/err")"
	grep -q 'No space left on device' "$work/err" || fail "$what: reason missing: $(cat "$work/err")"
}

printf 'small' > "$work/small"
head -c 90000 /dev/urandom > "$work/b.cur"
"$SECKIT" store write a --in "$work/small" || fail "setup"
"$SECKIT" store write b --in "$work/b.cur" || fail "setup"
"$SECKIT" store write p --pass pass:pw --in "$work/small" || fail "setup"
"$SECKIT" key create k-setup --type ec-p256 || fail "setup"

ok=0 full=0
for free in 0 6 12 24 40 64 96 128 200; do
	fill "$free"
	head -c 100000 /dev/urandom > "$work/b.new"
	"$SECKIT" store write b --in "$work/b.new" 2> "$work/err"
	rc=$?
	if [ "$rc" -eq 0 ]; then
		ok=$((ok + 1))
		cp "$work/b.new" "$work/b.cur"
	else
		full=$((full + 1))
		check_enospc "$rc" "store write with ${free} KiB free"
	fi
	"$SECKIT" store read b > "$work/got" || fail "b unreadable after a write with ${free} KiB free"
	cmp -s "$work/got" "$work/b.cur" || fail "b is neither old nor new with ${free} KiB free"
	# a password-protected overwrite, a key, a password object
	"$SECKIT" store write p --pass pass:pw --in "$work/b.new" 2> "$work/err" ||
		check_enospc $? "protected write with ${free} KiB free"
	"$SECKIT" store read p --pass pass:pw > "$work/got" || fail "p unreadable"
	cmp -s "$work/got" "$work/small" || cmp -s "$work/got" "$work/b.new" || fail "p damaged"
	cp "$work/got" "$work/small.p"
	"$SECKIT" key create "k$free" --type rsa-2048 2> "$work/err" ||
		check_enospc $? "key create with ${free} KiB free"
	"$SECKIT" key password create "pw$free" --pass pass:x 2> "$work/err" ||
		check_enospc $? "password create with ${free} KiB free"
	"$SECKIT" store read a > "$work/got" || fail "a unreadable"
	cmp -s "$work/got" "$work/small" || fail "a damaged"
	"$SECKIT" store list > /dev/null || fail "list fails with ${free} KiB free"
	"$SECKIT" key list > /dev/null || fail "key list fails with ${free} KiB free"
	echo "free ${free} KiB: store write exit $rc"
done
fill 0
"$SECKIT" store delete a 2> "$work/err"
rc=$?
if [ "$rc" -ne 0 ]; then
	check_enospc "$rc" "delete on a full disk"
	"$SECKIT" store read a > /dev/null || fail "a damaged by a failed delete"
fi
rm -f "$fs/filler"
# space again: everything works and no debris is left
"$SECKIT" store write b --in "$work/b.new" || fail "write after freeing space"
"$SECKIT" store check > /dev/null || fail "check after freeing space"
for f in "$SECKIT_STORE"/* "$SECKIT_STORE"/.[!.]* "$SECKIT_STORE"/tmp/* "$SECKIT_STORE"/tmp/.[!.]*; do
	[ -e "$f" ] || continue
	case ${f#"$SECKIT_STORE"/} in
	master.key | lock | tmp | idx.[0-9a-f][0-9a-f]) ;;
	*) [[ ${f#"$SECKIT_STORE"/} =~ ^[0-9a-f]{64}$ ]] || fail "debris: $f" ;;
	esac
done
echo "writes that fit: $ok, writes refused for lack of space: $full"
if [ "$full" -eq 0 ] || [ "$ok" -eq 0 ]; then
	fail "the ladder did not reach both outcomes"
fi
