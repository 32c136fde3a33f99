#!/usr/bin/env bats
# What a fleet costs per device, in load-independent counts (never in
# time): the write calls of an archive run, the instructions of
# opaque-key make --generate under callgrind, and the key encoder that
# saves them (tests/unit/keyenc-test.c).

load helper
load fleet

# a fleet of $1 devices, all with dev.pub
mk_fleet_lines() {
	local i
	echo "devices:"
	for i in $(seq -f %04g 1 "$1"); do
		printf '  - id: d%s\n    public-key-file: dev.pub\n' "$i"
	done
}

@test "keyenc: PKCS #8 and SPKI of generated P-256/384/521 keys are OpenSSL's bytes; other keys go through OpenSSL (unit)" {
	run -0 "$SECKIT_SRC/build/unit/keyenc-test"
	[[ "$output" == *"1..8"* ]]
	[[ "$output" != *"not ok"* ]]
}

@test "ecdh: ephemeral keys and shared secrets are EVP's on P-256/384/521; bad device points are refused; no random bytes shared over a fork (unit)" {
	run -0 "$SECKIT_SRC/build/unit/ecdh-test"
	[[ "$output" == *"1..11"* ]]
	[[ "$output" != *"not ok"* ]]
}

# a fleet of $1 devices over the inline keys k1.pub..k3.pub
mk_fleet_inline() {
	local i
	echo "devices:"
	for i in $(seq 1 "$1"); do
		printf '  - id: d%04d\n    public-key: |\n' "$i"
		sed 's/^/      /' "k$((i % 3 + 1)).pub"
	done
}

@test "oo id: no curve group and no ECDH method lookup per device (callgrind, only inside those calls)" {
	require valgrind
	! sanitizer_build || skip "valgrind cannot run a sanitizer build"
	setup_fleet 1
	for k in k1 k2 k3; do
		openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$k.pem"
		openssl pkey -in "$k.pem" -pubout -out "$k.pub"
	done
	mk_fleet_inline 10 > f10.yaml
	mk_fleet_inline 110 > f110.yaml
	for n in 10 110; do
		run -0 valgrind --tool=callgrind --collect-atstart=no --toggle-collect=EC_GROUP_new_ex \
			--toggle-collect=EVP_PKEY_derive_init --callgrind-out-file="cg$n.out" "$SECKIT" oo id \
			--info fw.bin.oocfg --sign-key oem.pem --devices "f$n.yaml" --out-archive "a$n.tar" --jobs 1
	done
	run -0 tar -tf a110.tar
	[ "${#lines[@]}" -eq 110 ]
	a=$(sed -n 's/^summary: //p' cg10.out)
	b=$(sed -n 's/^summary: //p' cg110.out)
	echo "instructions in EC_GROUP_new_ex and EVP_PKEY_derive_init: $a (10 devices), $b (110)"
	# a key object per device copied its group and fetched ECDH by name:
	# about 4,900 instructions there per device (490,000 for 100 more)
	[ "$((b - a))" -lt 10000 ]
}

@test "oo id --out-archive --manifest: the archive and the manifest in a few large writes, not two per device" {
	require strace
	no_leak_check
	setup_fleet 300
	run -0 strace -f -qq -e trace=write -e signal=none -o trace "$SECKIT" oo id --info fw.bin.oocfg \
		--sign-key oem.pem --devices fleet.yaml --out-archive a.tar --manifest m.jsonl --jobs 2
	[ "$(archive_ids a.tar)" = "$(fleet_ids)" ]
	[ "$(wc -l < m.jsonl)" -eq 300 ]
	n=$(grep -c 'write(' trace)
	echo "write calls: $n"
	# 300 devices make about 600 kB: a piece of 64 KiB per write (and one
	# a second, however slow the machine); two writes per device were 600
	[ "$n" -lt 120 ]
}

@test "opaque-key make --generate: no OpenSSL encoder per key (instructions per device under callgrind)" {
	require valgrind
	! sanitizer_build || skip "instruction counts of a sanitizer build mean nothing"
	mk_ec oem
	mk_ec dev
	mk_fleet_lines 10 > f10.yaml
	mk_fleet_lines 110 > f110.yaml
	for n in 10 110; do
		run -0 valgrind --tool=callgrind --callgrind-out-file="cg$n.out" "$SECKIT" opaque-key make \
			--name app.key --type ec-p256 --sign-key oem.pem --devices "f$n.yaml" --generate \
			--out-archive "a$n.tar" --manifest "m$n.jsonl" --jobs 1
	done
	per=$(( ($(sed -n 's/^summary: //p' cg110.out) - $(sed -n 's/^summary: //p' cg10.out)) / 100 ))
	echo "instructions per device: $per"
	# an ECDH, two key generations and a signature are about 1.1 million;
	# OpenSSL 3.0's PKCS #8 and SPKI encoders add 1.4 million per key
	[ "$per" -lt 2000000 ]
}
