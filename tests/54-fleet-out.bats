#!/usr/bin/env bats
# The fleet outputs (--out-archive, --manifest) on a target that is not a
# regular file: a FIFO or a device (/dev/null) is written in place, never
# renamed over and never given a FILE.part beside it; a directory, a socket
# or a symbolic link to anything but a regular file is refused.

load helper
load fleet

# the commands of ooid and okey (fleet.bash), for sk_fails
OOID=(oo id --info fw.bin.oocfg --sign-key oem.pem --devices fleet.yaml)
OKEY=(opaque-key make --name app.key --sign-key oem.pem --devices fleet.yaml)

# ooid_into_fifo FIFO ARGS...: oo id writing to a FIFO while tar lists it
# (listed: the device ids; tar's status in tar.rc).  A writer that never
# opens the FIFO leaves tar to time out, and listed empty.
ooid_into_fifo() {
	local f=$1 pid
	shift
	(timeout 60 tar -tf "$f" > listed; echo $? > tar.rc) &
	pid=$!
	run -0 ooid --out-archive "$f" "$@"
	wait "$pid"
	[ "$(cat tar.rc)" -eq 0 ]
}

@test "oo id --out-archive /dev/null: written in place, /dev/null stays a character device (tried first on a device node of the test's own)" {
	setup_fleet 5
	[ -c /dev/null ]
	if [ "$(id -u)" -eq 0 ]; then
		# A regression must not replace the machine's /dev/null: the same
		# run goes first to a device node of our own, which must survive.
		mknod null c 1 3 || skip "cannot make a device node (mknod) to try first"
		[ -c null ]
		run -0 ooid --out-archive null
		[ -c null ]
		run -0 ooid --out-archive a.tar --manifest null
		[ -c null ]
		assert_absent null.part
	fi
	run -0 ooid --out-archive /dev/null --manifest /dev/null --jobs 2
	[ -c /dev/null ]
	[ "$(stat -c %t:%T /dev/null)" = 1:3 ]
	assert_absent /dev/null.part
	run -0 okey --type ec-p256 --generate --out-archive /dev/null --manifest /dev/null
	[ -c /dev/null ]
	assert_absent /dev/null.part
	# nothing is continued in a device
	sk_fails 2 "oo id: '/dev/null' is a FIFO or a device: there is nothing to resume in it" \
		"${OOID[@]}" --out-archive /dev/null --resume
	[ -c /dev/null ]
	assert_absent /dev/null.part
}

@test "oo id --out-archive FIFO: the reader gets a valid tar stream of the fleet; the FIFO is still one, no FIFO.part" {
	setup_fleet 30
	mkfifo f
	ooid_into_fifo f --jobs 2
	[ "$(sed 's/\.oid$//' listed | sort)" = "$(fleet_ids)" ]
	[ -p f ]
	assert_absent f.part
	# the manifest into a FIFO too, beside an archive file
	mkfifo m
	(timeout 60 cat m > m.jsonl) &
	pid=$!
	run -0 ooid --out-archive a.tar --manifest m
	wait "$pid"
	[ "$(wc -l < m.jsonl)" -eq 30 ]
	[ -p m ]
	assert_absent m.part
	[ "$(archive_ids a.tar)" = "$(fleet_ids)" ]
}

@test "opaque-key make --devices --out-archive FIFO: a valid tar stream, the FIFO stays" {
	setup_fleet 4
	mk_ec key
	mkfifo f
	(timeout 60 tar -tf f > listed; echo $? > tar.rc) &
	pid=$!
	run -0 okey --type ec-p256 --key key.pem --out-archive f --jobs 2
	wait "$pid"
	[ "$(cat tar.rc)" -eq 0 ]
	[ "$(sed 's/\.okp$//' listed | sort)" = "$(fleet_ids)" ]
	[ -p f ]
	assert_absent f.part
}

@test "oo id --resume of a FIFO: a usage error before anything is opened or renamed" {
	setup_fleet 3
	mkfifo f
	run -2 --separate-stderr timeout 60 "$SECKIT" "${OOID[@]}" --out-archive f --resume
	assert_one_error_line "seckit oo id: 'f' is a FIFO or a device: there is nothing to resume in it"
	[ -p f ]
	assert_absent f.part
}

@test "oo id --out-archive / --manifest DIR: refused (exit 1, one line), nothing written" {
	setup_fleet 3
	mkdir d
	sk_fails 1 "oo id: writing 'd': Is a directory" "${OOID[@]}" --out-archive d
	[ -d d ]
	assert_absent d.part
	[ -z "$(ls -A d)" ]
	sk_fails 1 "oo id: writing 'd': Is a directory" "${OOID[@]}" --out-archive a.tar --manifest d
	assert_absent a.tar
	assert_absent a.tar.part
	assert_absent d.part
	[ -z "$(ls -A d)" ]
	sk_fails 1 "opaque-key make: writing 'd': Is a directory" \
		"${OKEY[@]}" --type ec-p256 --generate --out-archive d --manifest m.jsonl
	assert_absent d.part
	assert_absent m.jsonl
	assert_absent m.jsonl.part
	[ -z "$(ls -A d)" ]
	# a link to a directory, the same
	ln -s d ld
	sk_fails 1 "oo id: writing 'ld': Is a directory" "${OOID[@]}" --out-archive ld
	[ -L ld ]
	assert_absent ld.part
}

@test "oo id --out-archive: a link to a FIFO or device and a socket are refused; a link to a file is replaced, its target kept" {
	setup_fleet 3
	mkfifo f
	ln -s f lf
	sk_fails 1 "oo id: writing 'lf': a symbolic link to a FIFO; this output goes only to a FIFO or device named directly" \
		"${OOID[@]}" --out-archive lf
	[ -L lf ]
	[ -p f ]
	assert_absent lf.part
	ln -s /dev/null ln
	sk_fails 1 "oo id: writing 'ln': a symbolic link to a device" "${OOID[@]}" --out-archive a.tar --manifest ln
	[ -L ln ]
	assert_absent a.tar
	assert_absent a.tar.part
	python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' s
	[ -S s ]
	sk_fails 1 "oo id: writing 's': a socket" "${OOID[@]}" --out-archive s
	[ -S s ]
	assert_absent s.part
	# as sk_out_open does: the rename replaces the link, never its target
	echo "keep me" > victim
	ln -s victim lv
	run -0 ooid --out-archive lv
	[ "$(cat victim)" = "keep me" ]
	[ ! -L lv ]
	[ "$(archive_ids lv)" = "$(fleet_ids)" ]
}
