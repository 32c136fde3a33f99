#!/usr/bin/env bats
# seckit oo id --devices --out-archive FILE|-: one POSIX tar stream of
# <id>.oid entries, --manifest, --resume after a kill -9.

load helper
load fleet

@test "oo id --out-archive: GNU tar (and bsdtar) read exactly the fleet; the OOIDs are those --out-dir gives" {
	setup_fleet 40
	run -0 ooid --out-archive a.tar --manifest m.jsonl --jobs 2
	assert_absent a.tar.part
	assert_absent m.jsonl.part
	[ "$(archive_ids a.tar)" = "$(fleet_ids)" ]
	run -0 ooid --out-dir out --jobs 2
	mkdir x
	tar -xf a.tar -C x
	[ "$(cd x && ls | sort)" = "$(cd out && ls | sort)" ]
	# OOIDs are randomised (ECIES): the same clear parts, and each opens
	for f in out/*.oid; do
		a=$(sk oo show "x/${f#out/}" | grep -v '^signer\|^ecies') b=$(sk oo show "$f" | grep -v '^signer\|^ecies')
		[ "$a" = "$b" ]
	done
	sk oo open --id x/d0007.oid --in fw.bin.enc --out o.bin
	cmp o.bin fw.bin
	# the manifest: one line per device, the SHA-256 of the bytes in the archive
	python3 - <<-'EOF2'
	import hashlib, json, tarfile
	lines = [json.loads(l) for l in open("m.jsonl")]
	t = tarfile.open("a.tar")
	got = {m.name[:-4]: hashlib.sha256(t.extractfile(m).read()).hexdigest() for m in t.getmembers()}
	assert len(lines) == len(got) == 40, (len(lines), len(got))
	assert {l["device"]: l["sha256"] for l in lines} == got
	assert all(m.mode == 0o644 and m.isfile() and m.size > 0 for m in t.getmembers())
	EOF2
	[ "$(file_mode a.tar)" = 644 ]
	if command -v bsdtar >/dev/null; then
		[ "$(bsdtar -tf a.tar | sed 's/\.oid$//' | sort)" = "$(fleet_ids)" ]
	fi
}

@test "oo id --out-archive: a name longer than ustar's 100 bytes gets a pax header" {
	setup_fleet 2
	long=$(printf 'L%.0s' $(seq 1 120))
	printf '  - id: %s\n    public-key-file: dev.pub\n' "$long" >> fleet.yaml
	run -0 ooid --out-archive a.tar
	[ "$(archive_ids a.tar)" = "$(fleet_ids)" ]
	mkdir x
	tar -xf a.tar -C x
	sk oo open --id "x/$long.oid" --in fw.bin.enc --out o.bin
	cmp o.bin fw.bin
	if command -v bsdtar >/dev/null; then
		bsdtar -tf a.tar | grep -qx "$long.oid"
	fi
}

@test "oo id --out-archive -: a stream through a pipe, the report on stderr" {
	setup_fleet 25
	ooid --out-archive - --jobs 2 2>err | tar -tf - | sed 's/\.oid$//' | sort > listed
	[ "$(cat listed)" = "$(fleet_ids)" ]
	grep -q "25 OOIDs written to -" err
	# and the manifest on stdout with the archive in a file
	ooid --out-archive b.tar --manifest - > m.jsonl
	[ "$(wc -l < m.jsonl)" -eq 25 ]
}

@test "oo id --out-archive: killed with SIGKILL, the part holds whole entries; --resume completes it once" {
	# 20,000 devices: about 2.5 s for one worker here, against the 0.2 s the
	# first 20 kB take; the writer is stopped (SIGSTOP) as soon as the part
	# holds them, so the second writer and the kill meet it mid-run, whatever
	# the machine's speed
	setup_fleet 20000
	"$SECKIT" oo id --info fw.bin.oocfg --sign-key oem.pem --devices fleet.yaml \
		--out-archive a.tar --manifest m.jsonl --jobs 1 2>/dev/null &
	pid=$!
	for _ in $(seq 1500); do
		[ "$(stat -c %s a.tar.part 2>/dev/null || echo 0)" -lt 20000 ] || break
		sleep 0.02
	done
	kill -STOP "$pid"
	# a second writer is refused while the first runs
	run -9 ooid --out-archive a.tar --resume
	kill -9 "$pid"
	wait "$pid" || true
	assert_absent a.tar
	n=$(tar -tf a.tar.part | wc -l)
	[ "$n" -gt 0 ]
	[ "$n" -lt 20000 ]
	# cut the last entry in the middle: a resumed run drops the piece
	truncate -s -300 a.tar.part
	run -0 --separate-stderr ooid --out-archive a.tar --manifest m.jsonl --resume --jobs 2
	[[ "$stderr" == *"already in the archive"* ]]
	assert_absent a.tar.part
	[ "$(archive_ids a.tar)" = "$(fleet_ids)" ]
	[ "$(wc -l < m.jsonl)" -eq 20000 ]
	[ "$(sed 's/.*"device":"\([^"]*\)".*/\1/' m.jsonl | sort -u | wc -l)" -eq 20000 ]
	mkdir x
	tar -xf a.tar -C x d20000.oid
	sk oo open --id x/d20000.oid --in fw.bin.enc --out o.bin
	cmp o.bin fw.bin
	# resuming a finished archive adds nothing
	run -0 --separate-stderr ooid --out-archive a.tar --resume
	[[ "$stderr" == *"0 OOIDs written"* ]]
	[ "$(archive_ids a.tar)" = "$(fleet_ids)" ]
}

@test "oo id --out-archive: bad command lines and unwritable paths write nothing" {
	setup_fleet 3
	sk_fails 2 "oo id: " oo id --info fw.bin.oocfg --sign-key oem.pem --devices fleet.yaml \
		--out-archive a.tar --out-dir out
	sk_fails 2 "oo id: " oo id --info fw.bin.oocfg --sign-key oem.pem --devices fleet.yaml
	sk_fails 2 "oo id: " oo id --info fw.bin.oocfg --sign-key oem.pem --devices fleet.yaml \
		--out-archive - --resume
	sk_fails 2 "oo id: " oo id --info fw.bin.oocfg --sign-key oem.pem --devices fleet.yaml \
		--out-dir out --resume
	sk_fails 2 "oo id: " oo id --info fw.bin.oocfg --sign-key oem.pem --devices fleet.yaml \
		--out-archive - --manifest -
	sk_fails 2 "oo id: " oo id --info fw.bin.oocfg --sign-key oem.pem --device-pub dev.pub \
		--out-archive a.tar
	assert_absent out
	assert_absent a.tar
	assert_absent a.tar.part
	sk_fails 1 "oo id: " oo id --info fw.bin.oocfg --sign-key oem.pem --devices fleet.yaml \
		--out-archive nosuchdir/a.tar
	assert_absent nosuchdir
	# a part left by another run is not overwritten
	echo other > a.tar.part
	sk_fails 9 "oo id: " oo id --info fw.bin.oocfg --sign-key oem.pem --devices fleet.yaml \
		--out-archive a.tar
	[ "$(cat a.tar.part)" = other ]
	# ... and resuming something that is not an archive is refused
	run -3 ooid --out-archive a.tar --resume
	[ "$(cat a.tar.part)" = other ]
	rm a.tar.part
	# duplicate ids: exit 3 as with --out-dir
	mk_fleet_file 3
	printf '  - id: d0002\n    public-key-file: dev.pub\n' >> fleet.yaml
	run -3 ooid --out-archive a.tar
	assert_absent a.tar
}
