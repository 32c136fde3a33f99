#!/usr/bin/env bats
# docs/formats/store.md against the code: its openssl-only recipe recovers
# objects that seckit wrote, and the layout it describes holds.

load helper
load store

# The fenced block of docs/formats/store.md starting "# recipe: NAME".
recipe() {
	awk -v name="# recipe: $1" '
		/^```sh$/ { getline l; if (l == name) { on = 1; print l; next } }
		on && /^```$/ { on = 0 }
		on' "$SECKIT_SRC/docs/formats/store.md"
}

@test "the store-read recipe recovers objects of every size with openssl alone" {
	recipe store-read > read.sh
	[ -s read.sh ]
	: > d0
	head -c 5 /dev/urandom > d5
	head -c 65536 /dev/urandom > d64k
	head -c 200001 /dev/urandom > d200k
	for f in d0 d5 d64k d200k; do
		sk store write "obj-$f" --in "$f"
		STORE=$SECKIT_STORE NAME="obj-$f" sh read.sh > "$f.out"
		cmp "$f" "$f.out"
	done
	# (the recipe opens the file whose name it derives: the names agree)
}

@test "the recipe notices a changed store (it is a check, not only a decoder)" {
	recipe store-read > read.sh
	echo data | sk store write x
	f="$SECKIT_STORE/$(obj_file x)"
	cp "$f" keep
	need_storetool
	# a flipped bit in the master key's check value, in the object's size
	cp "$SECKIT_STORE/master.key" mk
	"$ST" flip "$SECKIT_STORE/master.key" 330
	run ! env STORE="$SECKIT_STORE" NAME=x sh read.sh
	cp mk "$SECKIT_STORE/master.key"
	echo more | sk store write x
	cp keep "$f"   # an older version: the index entry no longer matches
	run ! env STORE="$SECKIT_STORE" NAME=x sh read.sh
}

@test "layout: file sizes, magics, modes as documented" {
	sk store write empty < /dev/null
	f="$SECKIT_STORE/$(obj_file empty)"
	# 28 fixed + header (23 + name 5, no attributes) + 16 tag + 16 tag of the empty chunk
	[ "$(stat -c %s "$f")" -eq $((28 + 28 + 16 + 16)) ]
	[ "$(head -c 4 "$f")" = SKSO ]
	[ "$(stat -c %s "$SECKIT_STORE/master.key")" -eq 56 ]
	[ "$(head -c 4 "$SECKIT_STORE/master.key")" = SKMK ]
	b="$SECKIT_STORE/$(bucket_of "$(obj_file empty)")"
	[ "$(stat -c %s "$b")" -eq $((12 + 49 + 32)) ]
	[ "$(head -c 4 "$b")" = SKIX ]
	[ "$(stat -c %s "$SECKIT_STORE/lock")" -eq 1 ]
	head -c $((3 * 65536)) /dev/zero | sk store write three
	[ "$(stat -c %s "$SECKIT_STORE/$(obj_file three)")" -eq $((28 + 28 + 16 + 3 * 65536 + 3 * 16)) ]
}
