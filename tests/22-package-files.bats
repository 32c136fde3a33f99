#!/usr/bin/env bats
# Every reader of seckit packages tells what it was given: "FILE: not a
# seckit package" for anything else, "FILE: a payload package, not an STP"
# for another kind, and a damaged package of the right kind names its
# kind; always exit 7 (seckit(1) "Package files") and one error line.

load helper
load opaque

setup_file() {
	common_setup
	cd "$BATS_FILE_TMPDIR" || return 1
	export SECKIT_STORE="$BATS_FILE_TMPDIR/store"
	mk_oem
	mk_device
	echo hello > fw.bin
	sk payload make --sign-key oem.pem --in fw.bin --out fw.pkg
	sk stp make --sign-key oem.pem --seq 1 --command delete-ca --name x --out x.stp
	head -c 32 /dev/urandom > aes.key
	sk opaque-key make --name k1 --type aes-256 --key aes.key --sign-key oem.pem --device-pub dev.pub --out k1.okp
	sk oo make --in fw.bin
	sk oo id --info fw.bin.oocfg --sign-key oem.pem --device-pub dev.pub
	echo "# read me" > README.txt
	: > empty
	printf '\x9a\x11\x22\x33\x44\x55 random bytes \x00\xff' > random.bin
	local f n
	for f in fw.pkg x.stp k1.okp fw.bin.enc fw.bin.oid; do
		n=$(wc -c < "$f")
		head -c $((n / 2)) "$f" > "half-$f"
	done
}

setup() {
	common_setup
	cp "$BATS_FILE_TMPDIR"/* . 2>/dev/null || true
	cp -r "$BATS_FILE_TMPDIR/store" "$SECKIT_STORE"
}

# What each fixture is, as the messages say it.
kind_of() {
	case $1 in
	fw.pkg) echo "a payload package" ;;
	x.stp) echo "an STP" ;;
	k1.okp) echo "an opaque key" ;;
	fw.bin.enc) echo "an opaque object" ;;
	fw.bin.oid) echo "an OOID" ;;
	esac
}

# refused CMDLINE-WITH-@ FILE WANT: the command with @ replaced by FILE
# fails with 7, one error line "seckit CMD VERB: FILE: ..." naming the kind.
refused() {
	local cmd=$1 f=$2 want=$3 prefix expect
	prefix="seckit ${cmd%% @*}"
	prefix="${prefix%% --*}: "
	case $f in
	README.txt | empty | random.bin) expect="$f: not a seckit package" ;;
	*) expect="$f: $(kind_of "$f"), not $want" ;;
	esac
	# shellcheck disable=SC2086 # the command line is split on purpose
	run -7 --separate-stderr sk ${cmd/@/$f}
	assert_one_error_line "$prefix"
	[ "$stderr" = "$prefix$expect" ]
}

# matrix CMDLINE OWN WANT: every file but OWN (of the reader's own kind).
matrix() {
	local cmd=$1 own=$2 want=$3 f
	for f in README.txt empty random.bin fw.pkg x.stp k1.okp fw.bin.enc fw.bin.oid; do
		[ "$f" != "$own" ] || continue
		refused "$cmd" "$f" "$want"
	done
}

# truncated CMDLINE OWN LABEL: half of a package of the reader's kind.
truncated() {
	local cmd=$1 own=$2 label=$3 prefix
	prefix="seckit ${cmd%% @*}"
	prefix="${prefix%% --*}: half-$own: $label"
	# shellcheck disable=SC2086
	run -7 --separate-stderr sk ${cmd/@/half-$own}
	assert_one_error_line "$prefix"
}

@test "payload show and verify: other files and kinds, truncated" {
	matrix "payload show @" fw.pkg "a payload package"
	matrix "payload verify --pubkey oem.pub @" fw.pkg "a payload package"
	matrix "payload verify --pubkey oem.pub --in @" fw.pkg "a payload package"
	truncated "payload show @" fw.pkg "payload package header: truncated"
	truncated "payload verify --pubkey oem.pub @" fw.pkg "payload package header: truncated"
}

@test "stp show and apply: other files and kinds, truncated" {
	matrix "stp show @" x.stp "an STP"
	matrix "stp apply @" x.stp "an STP"
	truncated "stp show @" x.stp "STP: "
	truncated "stp apply @" x.stp "STP: "
}

@test "opaque-key show and import: other files and kinds, truncated" {
	matrix "opaque-key show @" k1.okp "an opaque key"
	matrix "opaque-key import @" k1.okp "an opaque key"
	truncated "opaque-key show @" k1.okp "opaque key: "
	truncated "opaque-key import @" k1.okp "opaque key: "
	run -8 sk key info k1
}

@test "oo show: other files and kinds, truncated OOID and object" {
	local f
	for f in README.txt empty random.bin fw.pkg x.stp k1.okp; do
		refused "oo show @" "$f" "an OOID or an opaque object"
	done
	truncated "oo show @" fw.bin.oid "OOID: "
	truncated "oo show @" fw.bin.enc "opaque object: "
}

@test "oo open: --id and --in each name their file and its kind" {
	matrix "oo open --in fw.bin.enc --out o --id @" fw.bin.oid "an OOID"
	matrix "oo open --id fw.bin.oid --out o --in @" fw.bin.enc "an opaque object"
	truncated "oo open --in fw.bin.enc --out o --id @" fw.bin.oid "OOID: "
	truncated "oo open --id fw.bin.oid --out o --in @" fw.bin.enc "opaque object: "
	assert_absent o
	run -0 sk oo open --id fw.bin.oid --in fw.bin.enc --out o
	cmp o fw.bin
}

@test "a package read from stdin ('-') is named <stdin> and checked the same way" {
	run -7 --separate-stderr sk payload show - < x.stp
	[ "$stderr" = "seckit payload show: <stdin>: an STP, not a payload package" ]
	run -7 --separate-stderr sk stp show - < README.txt
	[ "$stderr" = "seckit stp show: <stdin>: not a seckit package" ]
	run -7 --separate-stderr sk oo show - < fw.pkg
	[ "$stderr" = "seckit oo show: <stdin>: a payload package, not an OOID or an opaque object" ]
	run -7 --separate-stderr sk opaque-key show - < fw.pkg
	[ "$stderr" = "seckit opaque-key show: <stdin>: a payload package, not an opaque key" ]
	printf 'x' > x.pem
	run -7 --separate-stderr sk cert show - < x.pem
	[ "$stderr" = "seckit cert show: '<stdin>': not a certificate (PEM or DER)" ]
}
