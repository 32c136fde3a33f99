#!/usr/bin/env bats
# seckit oo id --devices: OOIDs for a fleet, in parallel, shardable, with
# bad entries reported by line; samples opened by their device and refused
# by another.

load helper
load opaque

# A pool of distinct device public keys made by openssl (pool/kN.pub).
# Fleet files reuse them under different ids: what is tested here is the
# batch machinery, and 1,000 fresh key pairs would cost more than the test.
mk_pool() {
	mkdir -p pool
	seq 1 "$1" | xargs -P 4 -I{} sh -c \
		'openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 2>/dev/null |
		 openssl pkey -pubout -out pool/k{}.pub'
}

# fleet.yaml with N devices dev0000 ..; device 17 is this store's device
# (inline PEM), device 500 the second store's (a key file); every third
# entry names its key by file; every entry carries extra factory data.
mk_fleet() {
	python3 - "$1" <<-'EOF'
	import sys
	n = int(sys.argv[1])
	pool = [open("pool/k%d.pub" % (i + 1)).read() for i in range(40)]
	with open("fleet.yaml", "w") as f:
	    f.write("# a test fleet\nbatch: 2026-11\ndevices:\n")
	    for i in range(n):
	        f.write("  - id: dev%04d\n    serial: SN-%06d\n" % (i, i))
	        if i == 17:
	            key, byfile = open("dev.pub").read(), False
	        elif i == 500:
	            key, byfile = None, "dev2.pub"
	        elif i % 3 == 0:
	            key, byfile = None, "pool/k%d.pub" % (i % 40 + 1)
	        else:
	            key, byfile = pool[i % 40], False
	        if byfile:
	            f.write("    public-key-file: %s\n" % byfile)
	        else:
	            f.write("    public-key: |\n")
	            for line in key.strip().split("\n"):
	                f.write("      %s\n" % line)
	EOF
}

setup_fleet() {
	mk_oem
	mk_device
	mk_device2
	mk_pool 40
	head -c 20000 /dev/urandom > fw.bin
	sk oo make --in fw.bin
}

@test "oo id --devices: 1,000 devices in parallel; a sample opens on its device and not on another" {
	setup_fleet
	mk_fleet 1000
	run -0 --separate-stderr sk oo id --info fw.bin.oocfg --sign-key oem.pem --devices fleet.yaml --out-dir out
	# one summary line, no progress (stderr is not a terminal)
	[[ "$stderr" == "seckit oo id: 1000 OOIDs written to out/ (shard 1/1: 1000 of 1000 devices) in "*" job"* ]]
	[[ "$stderr" != *$'\r'* ]]
	[ -z "$output" ]
	[ "$(ls out | wc -l)" -eq 1000 ]
	[ -f out/dev0000.oid ]
	[ -f out/dev0999.oid ]
	assert_no_debris out
	# the sample devices open their own OOID ...
	run -0 sk oo open --id out/dev0017.oid --in fw.bin.enc --out fw.17
	cmp fw.bin fw.17
	run -0 sk2 oo open --id out/dev0500.oid --in fw.bin.enc --out fw.500
	cmp fw.bin fw.500
	# ... and not the other's, nor one of a pool device
	run -7 --separate-stderr sk oo open --id out/dev0500.oid --in fw.bin.enc --out x
	assert_one_error_line "seckit oo open: "
	[[ "$stderr" == *"another device"* ]]
	run -7 sk2 oo open --id out/dev0017.oid --in fw.bin.enc --out x
	run -7 sk oo open --id out/dev0001.oid --in fw.bin.enc --out x
	assert_absent x
	# each OOID names its device: dev0001 uses pool key 2
	devid=$(openssl pkey -pubin -in pool/k2.pub -outform DER | openssl dgst -sha256 -r | cut -d' ' -f1)
	run -0 sk --json oo show out/dev0001.oid
	[[ "$output" == *'"device":"'$devid'"'* ]]
	# JSON summary; one worker gives the same set of files
	run -0 sk --json oo id --info fw.bin.oocfg --sign-key oem.pem --devices fleet.yaml --out-dir out1 --jobs 1
	[[ "$output" == '{"ok":true,"out_dir":"out1","shard":"1/1","jobs":1,"entries":1000,"selected":1000,"written":1000,"skipped":0,"milliseconds":'* ]]
	diff <(ls out) <(ls out1)
}

@test "oo id --devices --shard: the shards split the fleet without overlap, by position" {
	setup_fleet
	mk_fleet 100
	for k in 1 2 3; do
		run -0 sk --json oo id --info fw.bin.oocfg --sign-key oem.pem --devices fleet.yaml \
			--out-dir "s$k" --shard "$k/3"
		[[ "$output" == *'"shard":"'$k'/3","jobs":'*',"entries":100,"selected":3'[34]',"written":3'[34]','* ]]
	done
	[ "$(ls s1 | wc -l)" -eq 34 ]
	[ "$(ls s2 | wc -l)" -eq 33 ]
	[ "$(ls s3 | wc -l)" -eq 33 ]
	[ -f s1/dev0000.oid ]
	[ -f s2/dev0001.oid ]
	[ -f s3/dev0002.oid ]
	[ -f s3/dev0017.oid ]
	[ "$(cat <(ls s1) <(ls s2) <(ls s3) | sort -u | wc -l)" -eq 100 ]
	run -0 sk oo open --id s3/dev0017.oid --in fw.bin.enc --out o
	for bad in 0/3 4/3 3 a/b 1/0 "" 1/2/3; do
		run -2 --separate-stderr sk oo id --info fw.bin.oocfg --sign-key oem.pem --devices fleet.yaml --out-dir x --shard "$bad"
		assert_one_error_line "seckit oo id: "
	done
	run -2 sk oo id --info fw.bin.oocfg --sign-key oem.pem --devices fleet.yaml --out-dir x --jobs 0
	assert_absent x
}

@test "oo id --devices: a bad entry stops the run with its line (3); --keep-going skips and reports each" {
	setup_fleet
	cat > fleet.yaml <<-EOF
	devices:
	  - id: good1
	    public-key-file: dev.pub
	  - id: bad/id
	    public-key-file: dev.pub
	  - id: good2
	    public-key-file: dev2.pub
	  - id: nokey
	  - id: rsa
	    public-key-file: rsa.pub
	  - id: missing
	    public-key-file: no-such.pub
	  - id: good1
	    public-key-file: dev2.pub
	  - id: garbage
	    public-key: |
	      -----BEGIN PUBLIC KEY-----
	      bm90IGEga2V5
	      -----END PUBLIC KEY-----
	  - just a string
	  - id: good3
	    public-key-file: pool/k1.pub
	    public-key: "both"
	  - id: good4
	    public-key-file: pool/k2.pub
	EOF
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 2>/dev/null | openssl pkey -pubout -out rsa.pub
	run -3 --separate-stderr sk oo id --info fw.bin.oocfg --sign-key oem.pem --devices fleet.yaml --out-dir out --jobs 1
	assert_one_error_line "seckit oo id: fleet.yaml:4:9: device entry 2: id must be"
	run -3 --separate-stderr sk oo id --info fw.bin.oocfg --sign-key oem.pem --devices fleet.yaml --out-dir out2 --keep-going
	[ "$(printf '%s\n' "$stderr" | grep -c ': skipped$')" -eq 8 ]
	[[ "$stderr" == *"fleet.yaml:4:9: device entry 2: id must be"* ]]
	[[ "$stderr" == *"fleet.yaml:8:5: device 'nokey': give exactly one of"* ]]
	[[ "$stderr" == *"fleet.yaml:9:5: device 'rsa': public-key-file: device key must be an EC key"* ]]
	[[ "$stderr" == *"fleet.yaml:11:5: device 'missing': public-key-file: opening"* ]]
	[[ "$stderr" == *"fleet.yaml:13:5: device 'good1': duplicate id (first at line 2)"* ]]
	[[ "$stderr" == *"fleet.yaml:15:5: device 'garbage': public-key: "* ]]
	[[ "$stderr" == *"fleet.yaml:20:5: device entry 9: expected a mapping"* ]]
	[[ "$stderr" == *"fleet.yaml:21:5: device 'good3': give exactly one of"* ]]
	[[ "$stderr" == *"3 OOIDs written to out2/ (shard 1/1: 11 of 11 devices, 8 skipped)"* ]]
	[ "$(printf '%s\n' "$stderr" | tail -n 1)" = "seckit oo id: 8 bad device entries skipped" ]
	[ "$(ls out2)" = "$(printf 'good1.oid\ngood2.oid\ngood4.oid')" ]
	run -0 sk oo open --id out2/good1.oid --in fw.bin.enc --out o
	# with -q only the final error is printed
	run -3 --separate-stderr sk -q oo id --info fw.bin.oocfg --sign-key oem.pem --devices fleet.yaml --out-dir out3 --keep-going
	assert_one_error_line "seckit oo id: 8 bad device entries skipped"
}

@test "oo id --devices: broken fleet files are 3 with file:line:column, and nothing is written" {
	setup_fleet
	printf 'devices:\n  - id: a\n    public-key-file: dev.pub\n  - id: [b\n' > f1.yaml
	run -3 --separate-stderr sk oo id --info fw.bin.oocfg --sign-key oem.pem --devices f1.yaml --out-dir out
	assert_one_error_line "seckit oo id: f1.yaml:5:1: invalid YAML"
	printf 'device:\n  - id: a\n' > f2.yaml
	run -3 --separate-stderr sk oo id --info fw.bin.oocfg --sign-key oem.pem --devices f2.yaml --out-dir out
	assert_one_error_line "seckit oo id: f2.yaml:1:1: no 'devices' list"
	printf 'devices: none\n' > f3.yaml
	run -3 sk oo id --info fw.bin.oocfg --sign-key oem.pem --devices f3.yaml --out-dir out
	printf -- '- id: a\n' > f4.yaml
	run -3 sk oo id --info fw.bin.oocfg --sign-key oem.pem --devices f4.yaml --out-dir out
	: > f5.yaml
	run -3 sk oo id --info fw.bin.oocfg --sign-key oem.pem --devices f5.yaml --out-dir out
	printf 'devices:\n  - &a {id: x}\n  - *a\n' > f6.yaml
	run -3 sk oo id --info fw.bin.oocfg --sign-key oem.pem --devices f6.yaml --out-dir out
	printf 'devices: []\n' > f7.yaml
	run -0 --separate-stderr sk oo id --info fw.bin.oocfg --sign-key oem.pem --devices f7.yaml --out-dir empty
	[[ "$stderr" == "seckit oo id: 0 OOIDs written to empty/"* ]]
	run -1 sk oo id --info fw.bin.oocfg --sign-key oem.pem --devices no-such.yaml --out-dir out
	touch afile
	run -1 sk oo id --info fw.bin.oocfg --sign-key oem.pem --devices f7.yaml --out-dir afile
	[ -z "$(ls out 2>/dev/null)" ]
	# the fleet can come from stdin; key files are then relative to the current directory
	printf 'devices:\n  - id: a\n    public-key-file: dev.pub\n' |
		sk oo id --info fw.bin.oocfg --sign-key oem.pem --devices - --out-dir fromstdin
	[ -f fromstdin/a.oid ]
}

@test "oo id --devices: progress is shown on a terminal only" {
	require script
	setup_fleet
	mk_fleet 300
	script -qec "'$SECKIT' oo id --info fw.bin.oocfg --sign-key oem.pem --devices fleet.yaml --out-dir out --jobs 1" /dev/null > tty.out
	grep -q $'\r' tty.out
	grep -q "300 OOIDs written" tty.out
	run -0 --separate-stderr sk oo id --info fw.bin.oocfg --sign-key oem.pem --devices fleet.yaml --out-dir out2
	[[ "$stderr" != *$'\r'* ]]
}

@test "oo id --devices: a second run replaces the OOIDs whole, not through a planted link; modes follow the umask" {
	setup_fleet
	mk_fleet 20
	run -0 sk oo id --info fw.bin.oocfg --sign-key oem.pem --devices fleet.yaml --out-dir out
	[ "$(stat -c %a out/dev0017.oid)" = 644 ]
	cp out/dev0017.oid first.oid
	# a planted symbolic link at a name is replaced, its target untouched
	echo "keep me" > victim
	ln -sf "$PWD/victim" out/dev0001.oid
	# a new object: the second run's OOIDs must be the ones in place
	head -c 5000 /dev/urandom > fw2.bin
	sk oo make --in fw2.bin
	(umask 077; sk oo id --info fw2.bin.oocfg --sign-key oem.pem --devices fleet.yaml --out-dir out)
	[ "$(cat victim)" = "keep me" ]
	[ ! -L out/dev0001.oid ]
	[ "$(ls out | wc -l)" -eq 20 ]
	assert_no_debris out
	run -1 cmp -s first.oid out/dev0017.oid
	[ "$(stat -c %a out/dev0003.oid)" = 600 ]
	run -0 sk oo open --id out/dev0017.oid --in fw2.bin.enc --out o2
	cmp fw2.bin o2
	run -7 sk oo open --id out/dev0017.oid --in fw.bin.enc --out o1
	assert_absent o1
	# a fresh directory under umask 077: files 0600 from the first write
	(umask 077; sk oo id --info fw2.bin.oocfg --sign-key oem.pem --devices fleet.yaml --out-dir fresh)
	[ "$(stat -c %a fresh/dev0005.oid)" = 600 ]
	run -0 sk oo open --id fresh/dev0017.oid --in fw2.bin.enc --out o3
}
