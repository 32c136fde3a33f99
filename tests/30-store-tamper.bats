#!/usr/bin/env bats
# The store under attack: every single-bit flip of every kind of store
# file, truncation, files swapped, moved, replaced by older copies,
# deleted, restored, planted.  Each is detected where the format can
# (exit 7, nothing on stdout, never a crash), and what it cannot detect
# (docs/formats/store.md, "What is detected") is shown too.

load helper
load store

setup() {
	common_setup
	need_storetool
	echo "small value" | sk store write a
	: | sk store write e
	head -c 200000 /dev/urandom > big.data
	sk store write big --in big.data
	echo "protected value" | sk store write p --pass pass:pw
	echo "small value" > a.data
}

@test "every bit of an object file: 7, no output" {
	f="$SECKIT_STORE/$(obj_file a)"
	run -0 "$ST" flipall "$f" 0 1000000 1 7 -- "$SECKIT" store read a
	[[ "$output" == *", 0 unexpected" ]]
	f="$SECKIT_STORE/$(obj_file e)"
	run -0 "$ST" flipall "$f" 0 1000000 1 7 -- "$SECKIT" store read e
	f="$SECKIT_STORE/$(obj_file p)"
	run -0 "$ST" flipall "$f" 0 1000000 7 7 -- "$SECKIT" store read p --pass pass:pw
	run -0 sk store read a
	[ "$output" = "small value" ]
}

@test "bits of a multi-chunk object: the header, every chunk's tag, a sample between" {
	f="$SECKIT_STORE/$(obj_file big)"
	size=$(stat -c %s "$f")
	body=$((size - 200000 - 4 * 16))   # where chunk 0 starts
	# the fixed part and the sealed header, every bit
	run -0 "$ST" flipall "$f" 0 $((body * 8)) 1 7 -- "$SECKIT" store read big
	# a sample across the body (to stdout: nothing may come out)
	run -0 "$ST" flipall "$f" $((body * 8)) $((size * 8)) 16381 7 -- "$SECKIT" store read big
	# every bit of every chunk's tag; to a file, nothing may be left
	for c in 1 2 3 4; do
		end=$((body + c * (65536 + 16)))
		[ "$c" -eq 4 ] && end=$size
		run -0 "$ST" flipall "$f" $(((end - 16) * 8)) $((end * 8)) 1 7 -- "$SECKIT" store read big --out out
		assert_absent out
	done
	piped got sk store read big
	cmp got big.data
}

@test "every truncation and an extension of an object file: 7" {
	f="$SECKIT_STORE/$(obj_file a)"
	run -0 "$ST" truncall "$f" 0 1000000 1 7 -- "$SECKIT" store read a
	f="$SECKIT_STORE/$(obj_file big)"
	run -0 "$ST" truncall "$f" 0 1000000 4999 7 -- "$SECKIT" store read big
	# exactly at chunk boundaries (a whole chunk dropped)
	size=$(stat -c %s "$f")
	for n in 65552 131104; do
		run -0 "$ST" truncall "$f" $((size - n)) $((size - n + 1)) 1 7 -- "$SECKIT" store read big
	done
}

@test "every bit of master.key: 7 (4 for the protection byte)" {
	f="$SECKIT_STORE/master.key"
	run -0 "$ST" flipall "$f" 0 40 1 7 -- "$SECKIT" store read a
	# byte 5 names how the key is protected: 1 (bit 40) says "sealed by
	# a TPM" and 2 (bit 41) "sealed by a TPM to PCRs", and a 56-byte file
	# holds no sealed key: corrupt (7); other values are protections this
	# build cannot open (4)
	run -0 "$ST" flipall "$f" 40 42 1 7 -- "$SECKIT" store read a
	run -0 "$ST" flipall "$f" 42 48 1 4 -- "$SECKIT" store read a
	run -0 "$ST" flipall "$f" 48 1000 1 7 -- "$SECKIT" store read a
	run -0 "$ST" truncall "$f" 0 1000 1 7 -- "$SECKIT" store read a
}

@test "every bit of an index bucket: 7 for reads of its objects and for list" {
	b="$SECKIT_STORE/$(bucket_of "$(obj_file a)")"
	run -0 "$ST" flipall "$b" 0 1000000 1 7 -- "$SECKIT" store read a
	run -0 "$ST" truncall "$b" 0 1000000 1 7 -- "$SECKIT" store read a
	for b in "$SECKIT_STORE"/idx.*; do
		run -0 "$ST" flipall "$b" 0 1000000 13 7 -- "$SECKIT" store list
	done
	# a JSON listing that fails half-way prints no broken document: only
	# the failure's {"ok":false,"error":...}
	b="$SECKIT_STORE/$(bucket_of "$(obj_file big)")"
	run -0 "$ST" flipall "$b" 0 1000000 13 7 -- "$SECKIT_SRC/tests/json-fails.sh" "$SECKIT" --json store list
	run -0 "$ST" flipall "$b" 0 1000000 29 7 -- "$SECKIT_SRC/tests/json-fails.sh" "$SECKIT" --json key list
	run -0 "$ST" flipall "$b" 0 1000000 29 7 -- "$SECKIT_SRC/tests/json-fails.sh" "$SECKIT" --json cert list
	run -0 sk store list --names
	[ "$output" = "$(printf 'a\nbig\ne\np')" ]
}

@test "key and password objects are covered the same way" {
	sk key password create pwo --pass pass:x
	sk key create k --type ec-p256 --password-object pwo --pass pass:x
	kf=$(ls -t "$SECKIT_STORE" | grep -E '^[0-9a-f]{64}$' | head -n 1)
	pf=$(ls -t "$SECKIT_STORE" | grep -E '^[0-9a-f]{64}$' | sed -n 2p)
	echo data > data
	# info reads the header only; sign reads the body too
	run -0 "$ST" flipall "$SECKIT_STORE/$kf" 0 1600 3 7 -- "$SECKIT" key info k
	run -0 "$ST" flipall "$SECKIT_STORE/$kf" 0 1000000 17 7 -- "$SECKIT" key sign k --in data --out sig --pass pass:x
	assert_absent sig
	# (listing reads headers: the last 16 bytes, the empty body's tag, are
	# read by commands that use the password object)
	run -0 "$ST" flipall "$SECKIT_STORE/$pf" 0 $(( ($(stat -c %s "$SECKIT_STORE/$pf") - 16) * 8 )) 11 7 -- "$SECKIT" key password list
	run -0 sk key sign k --in data --out sig --pass pass:x
}

@test "an object file copied or moved onto another name: 7" {
	fa="$SECKIT_STORE/$(obj_file a)"
	fe="$SECKIT_STORE/$(obj_file e)"
	cp "$fa" a.bak
	cp "$fe" "$fa"
	run -7 --separate-stderr sk store read a
	assert_one_error_line "seckit store read: object 'a': store file "
	[[ "$stderr" == *"holds another object (moved or replaced on disk)" ]]
	[ -z "$output" ]
	# swapped
	cp a.bak "$fe"
	run -7 sk store read a
	run -7 sk store read e
	run -7 sk store list
	# moved away (renamed)
	cp a.bak "$fa"
	mv "$fe" "$SECKIT_STORE/$(printf 'f%.0s' $(seq 64))"
	run -7 --separate-stderr sk store read e
	[[ "$stderr" == *"deleted on disk"* ]]
	run -7 sk store list
}

@test "rollback of one object to an older copy of itself: 7" {
	f="$SECKIT_STORE/$(obj_file a)"
	cp "$f" old.copy
	echo "newer value" | sk store write a
	cp old.copy "$f"
	run -7 --separate-stderr sk store read a
	[[ "$stderr" == *"is not the version the store index records (an older copy put back, or replaced)" ]]
	[ -z "$output" ]
	run -7 sk store info a
	run -7 sk store list
	# a writer refuses to build on a tampered object as well
	run -7 sh -c 'echo x | "$SECKIT" store write a'
	cmp old.copy "$f"
}

@test "what the soft store cannot detect: a bucket and its objects rolled back together" {
	f="$SECKIT_STORE/$(obj_file a)"
	b="$SECKIT_STORE/$(bucket_of "$(obj_file a)")"
	cp "$f" old.obj
	cp "$b" old.idx
	echo "newer value" | sk store write a
	cp old.obj "$f"
	cp old.idx "$b"
	# documented limit (docs/formats/store.md): a consistent older state of
	# one index bucket and all of its objects reads back as valid
	run -0 sk store read a
	[ "$output" = "small value" ]
	# ... and so does a copy of the whole directory (no monotonic counter)
}

@test "deleted on disk, restored after deletion, planted: detected or inert" {
	f="$SECKIT_STORE/$(obj_file a)"
	cp "$f" a.copy
	rm "$f"
	run -7 --separate-stderr sk store read a
	[[ "$stderr" == *"is missing but the store index lists it (deleted on disk)" ]]
	run -7 sk store list
	cp a.copy "$f"
	run -0 sk store read a
	# restoring a deleted object does not bring it back
	sk store delete a
	cp a.copy "$f"
	run -8 sk store read a
	echo z | sk store write a-neighbour
	run -0 sk store check
	run -0 sk store list --names
	[[ "$output" != *$'\na\n'* ]]
	# an object file that the index never listed
	fe="$SECKIT_STORE/$(obj_file e)"
	sk store delete e
	echo x | sk store write e2      # a later commit finishes the deletion
	cp a.copy "$SECKIT_STORE/$(printf '0%.0s' $(seq 64))"
	run -7 --separate-stderr sk store list
	[[ "$stderr" == *"is not in the store index"* ]]
	rm "$SECKIT_STORE/$(printf '0%.0s' $(seq 64))"
	run -0 sk store list
}

@test "index buckets deleted, swapped or rolled back: 7" {
	a=$(obj_file a)
	b="$SECKIT_STORE/$(bucket_of "$a")"
	cp "$b" idx.bak
	rm "$b"
	run -7 sk store read a
	run -7 sk store list
	cp idx.bak "$b"
	# another bucket's file under this bucket's name
	other=$(ls "$SECKIT_STORE" | grep '^idx\.' | grep -v "$(basename "$b")" | head -n 1)
	cp "$SECKIT_STORE/$other" "$b"
	run -7 sk store read a
	cp idx.bak "$b"
	# the index rolled back alone
	echo newer | sk store write a
	cp idx.bak "$b"
	run -7 sk store read a
}

@test "symlinks, directories and FIFOs planted in the store: 7, no hang" {
	f="$SECKIT_STORE/$(obj_file a)"
	mv "$f" real
	ln -s "$PWD/real" "$f"
	run -7 sk store read a
	rm "$f"
	mkfifo "$f"
	run -7 timeout 10 "$SECKIT" store read a
	rm "$f"
	mkdir "$f"
	run -7 sk store read a
	rmdir "$f"
	mv real "$f"
	run -0 sk store read a
	mv "$SECKIT_STORE/master.key" mk
	ln -s "$PWD/mk" "$SECKIT_STORE/master.key"
	run -7 sk store read a
}

@test "a tampered journal stops the store (7); the lock file's content is only a hint" {
	[ -x "$ST" ]
	SECKIT_TEST_CRASH_AT=after-journal "$ST" "$SECKIT_STORE" multi m 4 v || true
	[ -f "$SECKIT_STORE/journal" ]
	cp "$SECKIT_STORE/journal" journal.bak
	run -0 "$ST" flipall "$SECKIT_STORE/journal" 0 1000000 1 7 -- "$SECKIT" store read a
	run -0 "$ST" truncall "$SECKIT_STORE/journal" 0 1000000 1 7 -- "$SECKIT" store read a
	# intact, it is finished by the next open
	run -0 "$ST" "$SECKIT_STORE" same m 4
	[ "$output" = v ]
	assert_absent "$SECKIT_STORE/journal"
	printf 'garbage' > "$SECKIT_STORE/lock"
	run -0 sk store read a
	echo x | sk store write z
	run -0 sk store read a
}

@test "an index image of an unfinished commit removed or replaced: refused (7), never half applied" {
	need_storetool
	"$ST" "$SECKIT_STORE" multi m 8 old
	# killed after its first index bucket: the others wait in tmp/
	SECKIT_TEST_CRASH_AT=mid-buckets "$ST" "$SECKIT_STORE" multi m 8 new || true
	[ -f "$SECKIT_STORE/journal" ]
	imgs=("$SECKIT_STORE"/tmp/b.*)
	[ -f "${imgs[0]}" ]
	mv "${imgs[0]}" img.bak
	sk_fails 7 "store read: " store read a
	[[ "$stderr" == *": an interrupted commit cannot be finished: its index image tmp/b."*" is missing (removed by hand?)" ]]
	run -7 "$ST" "$SECKIT_STORE" same m 8
	echo x > x
	sk_fails 7 "store write: " store write x --in x
	run -7 --separate-stderr sk store check
	[[ "${lines[0]}" == *": an interrupted commit cannot be finished: its index image tmp/b."* ]]
	[ -f "$SECKIT_STORE/journal" ]
	# another authentic index bucket in its place
	idx=("$SECKIT_STORE"/idx.*)
	cp "${idx[0]}" "${imgs[0]}"
	sk_fails 7 "store list: " store list
	[[ "$stderr" == *": an interrupted commit cannot be finished: its index image tmp/b."*" is damaged or was replaced (tampered)" ]]
	# put back, the commit is finished: all new
	mv img.bak "${imgs[0]}"
	run -0 "$ST" "$SECKIT_STORE" same m 8
	[ "$output" = new ]
	assert_absent "$SECKIT_STORE/journal"
	echo x | sk store write a
	assert_store_clean
	run -0 sk store check
}

@test "an unfinishable commit: store check --repair keeps what it can, every object whole" {
	need_storetool
	"$ST" "$SECKIT_STORE" multi m 8 old
	SECKIT_TEST_CRASH_AT=mid-buckets "$ST" "$SECKIT_STORE" multi m 8 new || true
	imgs=("$SECKIT_STORE"/tmp/b.*)
	rm "${imgs[0]}"
	run -7 sk store read m0
	run -0 --separate-stderr sk store check --repair
	[[ "${lines[0]}" == *": an interrupted commit cannot be finished: "* ]]
	[ "${lines[1]}" = "1 problem repaired, 12 objects left" ]
	assert_absent "$SECKIT_STORE/journal"
	# each object is its old or its new value, none is damaged
	for n in 0 1 2 3 4 5 6 7; do
		run -0 sk store read "m$n"
		[[ "$output" == old || "$output" == new ]]
	done
	run -0 sk store check
	echo x | sk store write a
	assert_store_clean
}

@test "a journal of format version 1 (no image MACs) is still finished" {
	need_storetool
	require python3
	"$ST" "$SECKIT_STORE" multi m 8 old
	SECKIT_TEST_CRASH_AT=mid-buckets "$ST" "$SECKIT_STORE" multi m 8 new || true
	[ -f "$SECKIT_STORE/journal" ]
	# Rewrite it as version 1 wrote it: 13-byte entries, MAC'd with the
	# journal key HKDF(K, no salt, "seckit/v1/journal").
	python3 - "$SECKIT_STORE" <<-'EOF'
	import hashlib, hmac, sys
	d = sys.argv[1]
	k = open(d + "/master.key", "rb").read()[8:40]
	prk = hmac.new(b"\0" * 32, k, hashlib.sha256).digest()
	jk = hmac.new(prk, b"seckit/v1/journal\x01", hashlib.sha256).digest()
	j = open(d + "/journal", "rb").read()
	assert j[:5] == b"SKJN\x02"
	n = int.from_bytes(j[5:9], "big")
	body = b"SKJN\x01" + j[5:9] + b"".join(j[9 + 45 * i:9 + 45 * i + 13] for i in range(n))
	open(d + "/journal", "wb").write(body + hmac.new(jk, body, hashlib.sha256).digest())
	EOF
	run -0 "$ST" "$SECKIT_STORE" same m 8
	[ "$output" = new ]
	assert_absent "$SECKIT_STORE/journal"
	run -0 sk store check
}

@test "check finds every problem; --repair makes the store usable; delete --force" {
	echo keep | sk store write keep
	fa="$SECKIT_STORE/$(obj_file a)"
	fb="$SECKIT_STORE/$(obj_file big)"
	"$ST" flip "$fa" 300
	"$ST" flip "$fb" $((150000 * 8))   # deep in the body: only a full read sees it
	run -7 --separate-stderr sk store check
	[ "${#lines[@]}" -eq 2 ]
	[[ "$stderr" == "seckit store check: store '$SECKIT_STORE': 2 problems found" ]]
	run -7 sk store list
	run -7 --separate-stderr sk store delete a
	[[ "$stderr" == *"(--force removes a damaged object)" ]]
	run -0 sk store delete a --force
	run -0 sk store check --repair
	[ "${#lines[@]}" -eq 2 ]
	[[ "${lines[0]}" == "object 'big': store file "*" failed authentication (corrupt or tampered)" ]]
	[ "${lines[1]}" = "1 problem repaired, 3 objects left" ]
	run -0 sk store check
	run -0 sk store list --names
	[ "$output" = "$(printf 'e\nkeep\np')" ]
	run -0 sk store read keep
	[ "$output" = keep ]
	echo again | sk store write big
	run -0 sk store read big
	[ "$output" = again ]
}

@test "a damaged index bucket is rebuilt by check --repair from the files that verify" {
	b="$SECKIT_STORE/$(bucket_of "$(obj_file a)")"
	"$ST" flip "$b" 100
	run -7 sk store read a
	run -7 sk store check
	run -0 sk store check --repair
	run -0 sk store read a
	[ "$output" = "small value" ]
	run -0 sk store check
}
