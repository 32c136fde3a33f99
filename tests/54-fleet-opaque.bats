#!/usr/bin/env bats
# seckit opaque-key make --devices FLEET: one opaque-key package per device
# (one key for all, or --generate: a key pair per device, its public key in
# the manifest), with the fleet options of oo id (archive, manifest,
# resume, jobs, shards).

load helper
load fleet

# open_with_openssl PKG DEV: the key inside PKG, opened with openssl alone
# (docs/formats recipes) with the device's private key DEV; its public key
# (PEM) on stdout.
open_with_openssl() {
	local d
	d=$(mktemp -d -p .)
	(
		cd "$d" || exit 1
		PKG=../$1 OEM=../oem.pub DEV=../$2 sh -c "$(recipe opaque-key opaque-key-verify)" >/dev/null 2>&1 &&
			ENV=env.der DEV=../$2 CONTEXT=opaque-key OUT=content.der sh -c "$(recipe ecies ecies-open)" &&
			off=$(openssl asn1parse -inform DER -in content.der | sed -n 's/^ *\([0-9]*\):d=1 .*OCTET STRING.*/\1/p') &&
			openssl asn1parse -inform DER -in content.der -strparse "$off" -noout -out p8.der &&
			openssl pkey -inform DER -in p8.der -pubout
	)
	local rc=$?
	rm -rf "$d"
	return $rc
}

# on_dev I ARGS...: seckit on device I of mk_fleet_devices (its store).
# (Loops around bats' run do not use $i: run changes it.)
on_dev() {
	SECKIT_STORE="$BATS_TEST_TMPDIR/st$1" "$SECKIT" "${@:2}"
}

# The public key (PEM) the manifest M lists for device ID.
manifest_pub() {
	python3 - "$1" "$2" <<-'EOF'
	import base64, json, sys, textwrap
	for l in open(sys.argv[1]):
	    j = json.loads(l)
	    if j["device"] == sys.argv[2]:
	        b = j["public_key"]
	        base64.b64decode(b, validate=True)
	        print("-----BEGIN PUBLIC KEY-----\n" + "\n".join(textwrap.wrap(b, 64)) + "\n-----END PUBLIC KEY-----")
	EOF
}

@test "opaque-key make --devices --key: every device's package opens on that device only (seckit and openssl); GNU tar and bsdtar" {
	mk_fleet_devices 3
	mk_ec key
	run -0 okey --type ec-p256 --key key.pem --out-archive a.tar --manifest m.jsonl --jobs 2
	assert_absent a.tar.part
	[ "$(archive_ids a.tar)" = "$(fleet_ids)" ]
	if command -v bsdtar >/dev/null; then
		[ "$(bsdtar -tf a.tar | sed 's/\.okp$//' | sort)" = "$(fleet_ids)" ]
	fi
	mkdir x
	tar -xf a.tar -C x
	for dv in 1 2 3; do
		# openssl alone: the very key sent, for this device's key
		open_with_openssl "x/d000$dv.okp" "dev$dv.pem" > got.pub
		cmp got.pub key.pub
		# seckit on the device imports it ...
		run -0 on_dev "$dv" opaque-key import "x/d000$dv.okp"
		[ "$output" = app.key ]
		on_dev "$dv" key export app.key --out exp.pub
		cmp exp.pub key.pub
	done
	# ... and another device refuses it (exit 7)
	run -7 on_dev 2 opaque-key import x/d0001.okp
	run ! open_with_openssl x/d0001.okp dev2.pem
	# the manifest: the SHA-256 of each entry, no public key (nothing generated)
	python3 - <<-'EOF'
	import hashlib, json, tarfile
	lines = [json.loads(l) for l in open("m.jsonl")]
	t = tarfile.open("a.tar")
	got = {m.name[:-4]: hashlib.sha256(t.extractfile(m).read()).hexdigest() for m in t.getmembers()}
	assert {l["device"]: l["sha256"] for l in lines} == got and len(lines) == 3, lines
	assert all(set(l) == {"device", "sha256"} for l in lines), lines
	EOF
	# --out-dir: DIR/<id>.okp, the same clear parts
	run -0 okey --type ec-p256 --key key.pem --out-dir out
	[ "$(cd out && ls | sort)" = "$(cd x && ls | sort)" ]
	[ "$(sk opaque-key show out/d0003.okp)" = "$(sk opaque-key show x/d0003.okp)" ]
	# a raw AES key for all
	head -c 32 /dev/urandom > aes.bin
	run -0 okey --type aes-256 --key aes.bin --out-archive b.tar
	[ "$(archive_ids b.tar)" = "$(fleet_ids)" ]
}

@test "opaque-key make --devices --generate: a key pair per device, its public key in the manifest; the private keys touch no file" {
	require strace
	no_leak_check
	mk_fleet_devices 3
	strace -f -qq -e trace=open,openat,creat,rename,renameat,renameat2,link,linkat -o trace \
		"$SECKIT" opaque-key make --name app.key --sign-key oem.pem --devices fleet.yaml \
		--type ec-p384 --generate --out-archive a.tar --manifest m.jsonl --jobs 2 2>/dev/null
	[ "$(archive_ids a.tar)" = "$(fleet_ids)" ]
	# the files the run created or wrote: the archive and the manifest (parts) only
	grep -E 'O_WRONLY|O_RDWR|O_CREAT|creat\(|rename|link' trace | grep -v ENOENT |
		grep -o '"[^"]*"' | sort -u > written
	[ "$(cat written)" = "$(printf '"a.tar"\n"a.tar.part"\n"m.jsonl"\n"m.jsonl.part"')" ]
	mkdir x
	tar -xf a.tar -C x
	for dv in 1 2 3; do
		manifest_pub m.jsonl "d000$dv" > want.pub
		openssl pkey -pubin -in want.pub -noout -text | grep -q 'NIST CURVE: P-384'
		open_with_openssl "x/d000$dv.okp" "dev$dv.pem" > got.pub
		cmp got.pub want.pub
		run -0 on_dev "$dv" opaque-key import "x/d000$dv.okp"
		on_dev "$dv" key export app.key --out exp.pub
		cmp exp.pub want.pub
	done
	# one key per device: three different public keys
	[ "$(sed 's/.*"public_key":"\([^"]*\)".*/\1/' m.jsonl | sort -u | wc -l)" -eq 3 ]
	# an RSA pair per device, into a directory, the manifest on stdout
	run -0 --separate-stderr okey --type rsa-2048 --generate --out-dir out --manifest - --jobs 2
	[ "$(printf '%s\n' "$output" | wc -l)" -eq 3 ]
	printf '%s\n' "$output" > r.jsonl
	manifest_pub r.jsonl d0002 > want.pub
	open_with_openssl out/d0002.okp dev2.pem > got.pub
	cmp got.pub want.pub
}

@test "opaque-key make --devices --generate: killed with SIGKILL, --resume keeps the public keys of the packages already made and completes the fleet once" {
	# 12,000 devices (about 2 s for one worker); the writer is stopped as soon
	# as the part holds 30 kB, so the kill meets it mid-run on any machine
	setup_fleet 12000
	"$SECKIT" opaque-key make --name app.key --sign-key oem.pem --devices fleet.yaml --type ec-p256 \
		--generate --out-archive a.tar --manifest m.jsonl --jobs 1 2>/dev/null &
	pid=$!
	for _ in $(seq 1500); do
		[ "$(stat -c %s a.tar.part 2>/dev/null || echo 0)" -lt 30000 ] || break
		sleep 0.02
	done
	kill -STOP "$pid"
	kill -9 "$pid"
	wait "$pid" || true
	assert_absent a.tar
	assert_absent m.jsonl
	n=$(tar -tf a.tar.part | wc -l)
	[ "$n" -gt 0 ]
	[ "$n" -lt 12000 ]
	# the lines of the entries there, as the killed run wrote them
	tar -tf a.tar.part | sed 's/\.okp$//' > before.ids
	grep -F -f <(sed 's/.*/"device":"&"/' before.ids) m.jsonl.part > before.lines
	[ "$(wc -l < before.lines)" -eq "$n" ]
	# cut the last entry in the middle and leave a torn line: both are dropped
	truncate -s -300 a.tar.part
	printf '{"device":"d11999","sha' >> m.jsonl.part
	run -0 --separate-stderr okey --type ec-p256 --generate --out-archive a.tar --manifest m.jsonl --resume --jobs 2
	[[ "$stderr" == *"already in the archive"* ]]
	assert_absent a.tar.part
	assert_absent m.jsonl.part
	[ "$(archive_ids a.tar)" = "$(fleet_ids)" ]
	[ "$(wc -l < m.jsonl)" -eq 12000 ]
	[ "$(sed 's/.*"device":"\([^"]*\)".*/\1/' m.jsonl | sort -u | wc -l)" -eq 12000 ]
	# the entries kept from the killed run have their lines unchanged
	head -n $((n - 1)) before.lines > kept.lines
	[ "$(grep -c -x -F -f kept.lines m.jsonl)" -eq $((n - 1)) ]
	# every line is the SHA-256 of its entry and has a public key
	python3 - <<-'EOF'
	import base64, hashlib, json, tarfile
	lines = {}
	for l in open("m.jsonl"):
	    j = json.loads(l)
	    base64.b64decode(j["public_key"], validate=True)
	    lines[j["device"]] = j["sha256"]
	t = tarfile.open("a.tar")
	got = {m.name[:-4]: hashlib.sha256(t.extractfile(m).read()).hexdigest() for m in t.getmembers()}
	assert lines == got and len(got) == 12000
	EOF
	# a package from before the kill opens here to the public key listed
	first=$(head -n 1 before.ids)
	tar -xf a.tar "$first.okp"
	run -0 sk opaque-key import "$first.okp"
	sk key export app.key --out exp.pub
	manifest_pub m.jsonl "$first" > want.pub
	cmp exp.pub want.pub
	# resuming the finished run adds nothing and keeps the manifest
	cp m.jsonl m.before
	run -0 --separate-stderr okey --type ec-p256 --generate --out-archive a.tar --manifest m.jsonl --resume
	[[ "$stderr" == *"0 packages written"* ]]
	cmp m.jsonl m.before
	[ "$(archive_ids a.tar)" = "$(fleet_ids)" ]
}

@test "opaque-key make --devices --generate --resume: a manifest without the lines of the archive's entries is refused (exit 3), the parts kept" {
	setup_fleet 5
	run -0 okey --type ec-p256 --generate --out-archive a.tar --manifest m.jsonl
	mv a.tar a.tar.part
	: > m.jsonl.part
	rm m.jsonl
	cp a.tar.part saved
	sk_fails 3 "opaque-key make: " opaque-key make --name app.key --sign-key oem.pem --devices fleet.yaml \
		--type ec-p256 --generate --out-archive a.tar --manifest m.jsonl --resume
	cmp a.tar.part saved
	[ -e m.jsonl.part ]
	assert_absent a.tar
	assert_absent m.jsonl
}

@test "opaque-key make --devices --shard: every device once for N = 1, 2, 7 (K/N and Slurm's auto), checked by contrib/fleet/check-shards" {
	setup_fleet 23
	mk_ec key
	for n in 1 2 7; do
		rm -f s*.tar
		for k in $(seq 1 "$n"); do
			okey --type ec-p256 --key key.pem --shard "$k/$n" --out-archive "s$k.tar" --jobs 1 2>/dev/null
		done
		[ "$(archive_ids s*.tar)" = "$(fleet_ids)" ]
		run -0 "$SECKIT_SRC/contrib/fleet/check-shards" fleet.yaml s*.tar
		rm -f s*.tar
		for k in $(seq 0 $((n - 1))); do
			env -u JOB_COMPLETION_INDEX -u PARALLEL_SEQ SLURM_ARRAY_TASK_ID=$k SLURM_ARRAY_TASK_MIN=0 \
				SLURM_ARRAY_TASK_MAX=$((n - 1)) SLURM_ARRAY_TASK_COUNT=$n "$SECKIT" opaque-key make \
				--name app.key --sign-key oem.pem --devices fleet.yaml --type ec-p256 --generate \
				--shard auto --out-archive "s$k.tar" --manifest "s$k.jsonl" 2>/dev/null
		done
		run -0 "$SECKIT_SRC/contrib/fleet/check-shards" fleet.yaml s*.tar
		[ "$(cat s*.jsonl | wc -l)" -eq 23 ]
	done
	# a shard missing is found
	rm s3.tar
	run -1 "$SECKIT_SRC/contrib/fleet/check-shards" fleet.yaml s*.tar
	[[ "$output" == *"missing: "* ]]
}

@test "opaque-key make --devices: bad command lines, a bad fleet file, a missing key and an existing output write nothing" {
	setup_fleet 3
	mk_ec key
	m() { sk opaque-key make --name app.key --sign-key oem.pem --type ec-p256 "$@"; }
	# usage (2)
	sk_fails 2 "opaque-key make: " opaque-key make --name app.key --sign-key oem.pem --type ec-p256 \
		--devices fleet.yaml --out-archive a.tar
	sk_fails 2 "opaque-key make: " opaque-key make --name app.key --sign-key oem.pem --type ec-p256 \
		--devices fleet.yaml --key key.pem --generate --out-archive a.tar --manifest m.jsonl
	sk_fails 2 "opaque-key make: " opaque-key make --name app.key --sign-key oem.pem --type ec-p256 \
		--devices fleet.yaml --generate --out-archive a.tar
	sk_fails 2 "opaque-key make: " opaque-key make --name app.key --sign-key oem.pem --type aes-256 \
		--devices fleet.yaml --generate --out-archive a.tar --manifest m.jsonl
	sk_fails 2 "opaque-key make: " opaque-key make --name app.key --sign-key oem.pem --type ec-p256 \
		--device-pub dev.pub --generate --out x.okp --manifest m.jsonl
	sk_fails 2 "opaque-key make: " opaque-key make --name app.key --sign-key oem.pem --type ec-p256 \
		--devices fleet.yaml --generate --out-archive a.tar --manifest - --resume
	sk_fails 2 "opaque-key make: " opaque-key make --name app.key --sign-key oem.pem --type ec-p256 \
		--device-pub dev.pub --key key.pem --out-archive a.tar
	sk_fails 2 "opaque-key make: " opaque-key make --name app.key --sign-key oem.pem --type ec-p256 \
		--devices fleet.yaml --device-pub dev.pub --key key.pem --out-archive a.tar
	sk_fails 2 "opaque-key make: " opaque-key make --name app.key --sign-key oem.pem --type ec-p256 \
		--devices fleet.yaml --key key.pem --out-dir out --out-archive a.tar
	sk_fails 2 "opaque-key make: " opaque-key make --name app.key --sign-key oem.pem --type ec-p256 \
		--devices fleet.yaml --key key.pem --out-archive a.tar --shard 3/2
	# a missing key file (1), a missing signing key (1)
	sk_fails 1 "opaque-key make: " opaque-key make --name app.key --sign-key oem.pem --type ec-p256 \
		--devices fleet.yaml --key nosuch.pem --out-archive a.tar
	sk_fails 1 "opaque-key make: " opaque-key make --name app.key --sign-key nosuch.pem --type ec-p256 \
		--devices fleet.yaml --generate --out-archive a.tar --manifest m.jsonl
	assert_absent a.tar
	assert_absent a.tar.part
	assert_absent m.jsonl
	assert_absent m.jsonl.part
	assert_absent out
	# a bad fleet file (3): a device key that is not a key, a duplicate id
	printf '  - id: d0004\n    public-key: not a key\n' >> fleet.yaml
	run -3 --separate-stderr m --devices fleet.yaml --key key.pem --out-archive a.tar --manifest m.jsonl
	[[ "$stderr" == *"fleet.yaml:"*"device 'd0004'"* ]]
	assert_absent a.tar
	assert_absent m.jsonl
	rm -f a.tar.part m.jsonl.part
	mk_fleet_file 3
	printf '  - id: d0002\n    public-key-file: dev.pub\n' >> fleet.yaml
	run -3 m --devices fleet.yaml --generate --out-archive a.tar --manifest m.jsonl
	assert_absent a.tar
	assert_absent m.jsonl
	# (a run stopped by a bad entry keeps its parts for --resume, as oo id does)
	rm -f a.tar.part m.jsonl.part
	# an output left by another run (9): not overwritten
	mk_fleet_file 3
	echo other > a.tar.part
	sk_fails 9 "opaque-key make: " opaque-key make --name app.key --sign-key oem.pem --type ec-p256 \
		--devices fleet.yaml --generate --out-archive a.tar --manifest m.jsonl
	[ "$(cat a.tar.part)" = other ]
	assert_absent m.jsonl.part
	rm a.tar.part
	echo other > m.jsonl.part
	sk_fails 9 "opaque-key make: " opaque-key make --name app.key --sign-key oem.pem --type ec-p256 \
		--devices fleet.yaml --generate --out-archive a.tar --manifest m.jsonl
	[ "$(cat m.jsonl.part)" = other ]
	assert_absent a.tar.part
	# the one-device form is as before
	run -0 sk opaque-key make --name app.key --sign-key oem.pem --type ec-p256 --key key.pem \
		--device-pub dev.pub --out one.okp
	run -0 sk opaque-key import one.okp
}
