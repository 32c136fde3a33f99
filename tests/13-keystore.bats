#!/usr/bin/env bats
# The store as `seckit key` sees it: damaged, truncated, tampered and
# swapped object files are exit 7 (never a crash), an insecure store is
# exit 4, modes are 0700/0600 whatever the umask, names are not visible.

load helper

# The one object file in the store (after creating exactly one key).
object_file() {
	local f
	for f in "$SECKIT_STORE"/*; do
		case ${f##*/} in
		[0-9a-f][0-9a-f][0-9a-f][0-9a-f]*) [ ${#f} -gt 64 ] && echo "$f" ;;
		esac
	done
}

@test "store files are 0600 and the directory 0700 whatever the umask; names are not visible" {
	umask 000
	run -0 sk key create secret-name-42 --type ec-p256
	run -0 sk key password create pw-name-43 --pass pass:x
	[ "$(file_mode "$SECKIT_STORE")" = 700 ]
	for f in "$SECKIT_STORE"/* "$SECKIT_STORE"/tmp/*; do
		[ -e "$f" ] || continue
		want=600
		[ -d "$f" ] && want=700 # tmp/, where files are written
		[ "$(file_mode "$f")" = "$want" ] || { echo "$f: $(file_mode "$f")" >&2; return 1; }
	done
	[ "$(find "$SECKIT_STORE" -type f | wc -l)" -ge 3 ]
	run ! grep -rqa secret-name-42 "$SECKIT_STORE"
	run ! grep -rqa pw-name-43 "$SECKIT_STORE"
	run ! bash -c "ls '$SECKIT_STORE' | grep -q name"
	# Parent directories created on the way are ordinary ones.
	run -0 sk --store "$BATS_TEST_TMPDIR/a/b/store" key create x --type aes-128
	[ "$(file_mode "$BATS_TEST_TMPDIR/a/b/store")" = 700 ]
}

@test "a tampered, truncated, extended or emptied key file is exit 7 for every reader, never a crash" {
	run -0 sk key create k --type ec-p256
	f=$(object_file)
	[ -n "$f" ]
	size=$(stat -c %s "$f")
	cp "$f" good
	echo data > data
	# Bytes in the fixed header, the sealed header and its tag: every
	# reader fails.
	for off in 0 4 5 8 24 30 60 100 150; do
		cp good "$f"
		flip_bit "$f" "$off"
		sk_fails 7 "key info: " key info k
		sk_fails 7 "key sign: " key sign k --in data --out sig
		sk_fails 7 "key list: " key list
		assert_absent sig
	done
	# Bytes in the sealed body (the private key) and its tag: whatever
	# reads the key fails.
	for off in $((size - 40)) $((size - 17)) $((size - 1)); do
		cp good "$f"
		flip_bit "$f" "$off"
		sk_fails 7 "key sign: " key sign k --in data --out sig
		assert_absent sig
	done
	for n in 0 3 27 40 $((size - 16)) $((size - 1)); do
		head -c "$n" good > "$f"
		sk_fails 7 "key info: " key info k
		sk_fails 7 "key sign: " key sign k --in data --out sig
	done
	cp good "$f"
	echo extra >> "$f"
	sk_fails 7 "key sign: " key sign k --in data --out sig
	head -c "$size" /dev/urandom > "$f"
	sk_fails 7 "key info: " key info k
	cp good "$f"
	run -0 sk key sign k --in data --out sig
}

@test "an object file copied over another name is detected (exit 7)" {
	run -0 sk key create a --type ec-p256
	fa=$(object_file)
	cp "$fa" a.obj
	run -0 sk key delete a
	run -0 sk key create b --type ec-p256
	fb=$(object_file)
	cp a.obj "$fb"
	sk_fails 7 "key info: " key info b
	[[ "$stderr" == *"another object"* ]]
	sk_fails 7 "key list: " key list
	# A stray copy under a name that is no object's is refused as well.
	rm "$fb"
	cp a.obj "$SECKIT_STORE/$(printf '%064d' 0)"
	sk_fails 7 "key list: " key list
}

@test "a key file from another store does not open here" {
	run -0 sk --store other key create k --type ec-p256
	run -0 sk key create k --type ec-p256
	f=$(object_file)
	cp "$BATS_TEST_TMPDIR/other/${f##*/}" "$f" 2>/dev/null ||
		cp "$(ls -d "$BATS_TEST_TMPDIR"/other/[0-9a-f]* | head -n 1)" "$f"
	sk_fails 7 "key info: " key info k
}

@test "a damaged or insecure master key: 7 if damaged, 4 if readable by others or missing" {
	run -0 sk key create k --type aes-128
	mk="$SECKIT_STORE/master.key"
	cp "$mk" mk.good
	flip_bit "$mk" 10
	sk_fails 7 "key info: " key info k
	head -c 20 mk.good > "$mk"
	sk_fails 7 "key info: " key info k
	cp mk.good "$mk"
	chmod 644 "$mk"
	sk_fails 4 "key info: " key info k
	chmod 600 "$mk"
	run -0 sk key info k
	mv "$mk" mk.moved
	sk_fails 4 "key info: " key info k
	sk_fails 4 "key create: " key create j --type aes-128
	mv mk.moved "$mk"
	run -0 sk key info k
}

@test "an insecure store directory is refused (exit 4), for readers and writers" {
	run -0 sk key create k --type aes-128
	for m in 770 777 757 720 702; do
		chmod "$m" "$SECKIT_STORE"
		sk_fails 4 "key info: " key info k
		[[ "$stderr" == *insecure* ]]
		sk_fails 4 "key create: " key create j --type aes-128
	done
	chmod 750 "$SECKIT_STORE"
	run -0 sk key info k
	chmod 700 "$SECKIT_STORE"
	# A store owned by someone else (root can hand it over to nobody).
	if [ "$(id -u)" -eq 0 ] && id nobody > /dev/null 2>&1; then
		chown nobody "$SECKIT_STORE"
		sk_fails 4 "key info: " key info k
		sk_fails 4 "key list: " key list
		chown root "$SECKIT_STORE"
		chown nobody "$SECKIT_STORE/master.key"
		sk_fails 4 "key info: " key info k
		chown root "$SECKIT_STORE/master.key"
	fi
	run -0 sk key info k
	# Not a directory at all.
	echo x > afile
	sk_fails 4 "key list: " --store afile key list
	sk_fails 4 "key create: " --store afile key create k --type aes-128
	# A non-empty directory that is not a store is not adopted.
	mkdir -m 700 notastore
	echo x > notastore/file
	sk_fails 4 "key create: " --store notastore key create k --type aes-128
	[ ! -e notastore/master.key ]
}

@test "a key bound to a password object whose wrapped blob was tampered with is 7, even with the right password" {
	run -0 sk key password create p --pass pass:pw
	before=$(ls "$SECKIT_STORE")
	run -0 sk key create k --type ec-p256 --password-object p --pass pass:pw
	for f in "$SECKIT_STORE"/*; do
		echo "$before" | grep -qx "${f##*/}" || kf=$f
	done
	[ -n "$kf" ]
	size=$(stat -c %s "$kf")
	flip_bit "$kf" $((size - 20))
	echo data > data
	sk_fails 7 "key sign: " key sign k --in data --out sig --pass pass:pw
	assert_absent sig
}

@test "concurrent writers are serialised: every key is there afterwards" {
	run -0 sk key create first --type aes-128
	for i in $(seq 1 12); do
		"$SECKIT" key create "k$i" --type aes-128 &
	done
	wait
	run -0 sk key list --names
	[ "$(echo "$output" | wc -l)" -eq 13 ]
	# No temporary files are left behind.
	[ -z "$(find "$SECKIT_STORE" -name '.tmp*')" ]
	[ ! -e "$SECKIT_STORE/journal" ]
}

@test "a symlink planted in place of a key file is not followed" {
	run -0 sk key create k --type aes-128
	f=$(object_file)
	mv "$f" real
	ln -s "$BATS_TEST_TMPDIR/real" "$f"
	run --separate-stderr sk key info k
	[ "$status" -ne 0 ]
	[ "$status" -ne 8 ]
	assert_one_error_line "seckit key info: "
}
