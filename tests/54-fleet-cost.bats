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

@test "oo id --out-archive --manifest: the archive and the manifest in a few large writes, not two per device" {
	require strace
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
	! nm "$SECKIT" 2>/dev/null | grep -q __asan_init || skip "instruction counts of a sanitizer build mean nothing"
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
