#!/usr/bin/env bats
# Fleets at scale: the ids seen (duplicate check) and the ids of a resumed
# archive are kept exactly in bounded memory (src/base/bigset.c: a filter
# in memory, the ids in an unnamed file in TMPDIR); peak RSS does not grow
# with the fleet.  The large fleets are parsed whole, but --shard 1/N
# makes only a few devices (all ids are still checked), so a run of
# 200,000 devices takes a second or two.

load helper
load fleet

setup() {
	common_setup
	setup_fleet 1
	# the spill file's directory: it must stay empty (the file is unnamed)
	mkdir spill
	export TMPDIR="$BATS_TEST_TMPDIR/spill"
}

# big_fleet N [ID]: fleet.yaml of N devices with ids long enough (44
# bytes) that the set spills to its file, all with dev.pub; ID, if given,
# is appended as one more device.
big_fleet() {
	awk -v n="$1" -v extra="${2:-}" 'BEGIN {
		print "devices:"
		for (i = 0; i < n; i++)
			printf "  - id: plant-a-line-7-batch-2026-11-dev-%09d\n    public-key-file: dev.pub\n", i
		if (extra != "")
			printf "  - id: %s\n    public-key-file: dev.pub\n", extra
	}' > fleet.yaml
}

@test "the set under the fleet checks (src/base/bigset.c): exact with most strings on disk, unnamed file, TMPDIR errors" {
	run -0 "$SECKIT_SRC/build/unit/bigset-test" "$TMPDIR" 300000
	[[ "$output" == *"1..17"* ]]
	run ! grep -q "not ok" <<< "$output"
}

@test "fleet: a duplicate 200,000 devices after the first names its line, from a file and from stdin" {
	big_fleet 200000 plant-a-line-7-batch-2026-11-dev-000000000
	# device 200,000 (0-based) is in shard 1/100000, as devices 0 and 100,000
	sk_fails 3 "oo id: fleet.yaml:400002:5: device 'plant-a-line-7-batch-2026-11-dev-000000000': duplicate id (first at line 2)" \
		oo id --info fw.bin.oocfg --sign-key oem.pem --devices fleet.yaml --shard 1/100000 --out-dir out
	run -3 --separate-stderr "$SECKIT" oo id --info fw.bin.oocfg --sign-key oem.pem --devices - \
		--shard 1/100000 --out-dir out-stdin < fleet.yaml
	assert_one_error_line "seckit oo id: <stdin>:400002:5: device 'plant-a-line-7-batch-2026-11-dev-000000000': duplicate id (first at line 2)"
	# the last of the 200,000 too (the newest in its partition)
	big_fleet 200000 plant-a-line-7-batch-2026-11-dev-000199999
	sk_fails 3 "oo id: fleet.yaml:400002:5: device 'plant-a-line-7-batch-2026-11-dev-000199999': duplicate id (first at line 400000)" \
		oo id --info fw.bin.oocfg --sign-key oem.pem --devices fleet.yaml --shard 1/100000 --out-dir out2
	# no duplicate: no false one either (3 devices made)
	big_fleet 200000 plant-a-line-7-batch-2026-11-dev-x
	run -0 --separate-stderr "$SECKIT" --json oo id --info fw.bin.oocfg --sign-key oem.pem \
		--devices fleet.yaml --shard 1/100000 --out-dir out3
	[[ "$output" == *'"entries":200001,'* ]]
	[[ "$output" == *'"written":3,'* ]]
	# the spill file had no name in TMPDIR and none is left
	[ -z "$(ls -A spill)" ]
}

@test "fleet: 128-byte ids that differ in their last byte only" {
	awk 'BEGIN {
		p = sprintf("%127s", ""); gsub(/ /, "a", p)
		print "devices:"
		n = split("b c d e f g h i j k l m n o p q r s t u v w x y z 0 1 2 3 4 5 6 7 8 9", c, " ")
		for (i = 1; i <= n; i++)
			printf "  - id: %s%s\n    public-key-file: dev.pub\n", p, c[i]
	}' > fleet.yaml
	run -0 --separate-stderr "$SECKIT" --json oo id --info fw.bin.oocfg --sign-key oem.pem \
		--devices fleet.yaml --out-dir out
	[[ "$output" == *'"written":35,'* ]]
	id=$(printf 'a%.0s' $(seq 127))k
	printf '  - id: %s\n    public-key-file: dev.pub\n' "$id" >> fleet.yaml
	sk_fails 3 "oo id: fleet.yaml:72:5: device '$id': duplicate id (first at line 20)" \
		oo id --info fw.bin.oocfg --sign-key oem.pem --devices fleet.yaml --out-dir out2
}

@test "fleet: a TMPDIR that cannot hold the ids is an error once needed, not before" {
	# a small fleet never spills: TMPDIR is not used
	mk_fleet_file 3
	TMPDIR="$BATS_TEST_TMPDIR/nosuch" run -0 ooid --out-dir small
	[ "$(ls small | wc -l)" -eq 3 ]
	big_fleet 200000
	TMPDIR="$BATS_TEST_TMPDIR/nosuch" sk_fails 1 "oo id: creating the temporary file in '$BATS_TEST_TMPDIR/nosuch' (TMPDIR): No such file or directory" \
		oo id --info fw.bin.oocfg --sign-key oem.pem --devices fleet.yaml --shard 1/100000 --out-dir big
}

@test "fleet --resume: an archive of 40,000 entries (its ids spilled) is resumed exactly" {
	# the archive of a run cut short: 40,000 entries of 92-byte ids
	python3 - <<-'EOF'
	import io, tarfile
	with tarfile.open("a.tar.part", "w", format=tarfile.USTAR_FORMAT) as t:
	    for i in range(40000):
	        data = b"x" * 64
	        info = tarfile.TarInfo("%s%08d.oid" % ("d" * 84, i))
	        info.size = len(data)
	        t.addfile(info, io.BytesIO(data))
	EOF
	python3 - <<-'EOF'
	with open("fleet.yaml", "w") as f:
	    f.write("devices:\n")
	    for i in range(40002):
	        f.write("  - id: %s%08d\n    public-key-file: dev.pub\n" % ("d" * 84, i))
	EOF
	run -0 --separate-stderr "$SECKIT" --json oo id --info fw.bin.oocfg --sign-key oem.pem \
		--devices fleet.yaml --out-archive a.tar --resume --manifest m.jsonl
	[[ "$output" == *'"written":2,'* ]]
	[[ "$output" == *'"resumed":40000'* ]]
	[ "$(tar -tf a.tar | wc -l)" -eq 40002 ]
	[ "$(tar -tf a.tar | sort -u | wc -l)" -eq 40002 ]
	[ "$(wc -l < m.jsonl)" -eq 40002 ]
	[ -z "$(ls -A spill)" ]
}

# peak RSS (kB) of oo id over fleet.yaml, shard 1/100000
peak_rss() {
	/usr/bin/time -f %M -o rss.txt "$SECKIT" oo id --info fw.bin.oocfg --sign-key oem.pem \
		--devices fleet.yaml --shard 1/100000 --out-archive "$1" 2>/dev/null
	cat rss.txt
}

@test "fleet: peak RSS does not grow with the fleet (10,000 and 200,000 devices)" {
	require /usr/bin/time
	! sanitizer_build || skip "a sanitizer build's memory means nothing here"
	big_fleet 10000
	small=$(peak_rss s.tar)
	big_fleet 200000
	big=$(peak_rss b.tar)
	echo "peak RSS: $small kB at 10,000 devices, $big kB at 200,000" >&3
	# kept in memory, the 190,000 more ids cost about 58 bytes each (11 MB);
	# bounded, the filter grows by 0.5 MB and the rest is on disk
	[ "$((big - small))" -lt 5000 ]
}
