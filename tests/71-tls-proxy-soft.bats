#!/usr/bin/env bats
# seckit tls proxy with a soft key (man/seckit-tls.1), what needs no TPM:
# bulk data counted in system calls with strace rather than timed (the
# proxy reads a socket when epoll has reported it readable, not at every
# step of the connection, which cost one read coming back EAGAIN for each
# TLS record relayed), and the reuse of the newest session.  The servers
# (tests/tls-peer.py) and the proxy run on free loopback ports and are
# stopped.

load helper
load tpm

setup_file() {
	require openssl python3 strace
	export BATS_NO_PARALLELIZE_WITHIN_FILE=true
	local d=$BATS_FILE_TMPDIR k
	cd "$d" || return 1
	printf 'password-kdf:\n  n: 1024\n  r: 8\n  p: 1\n' > config.yaml
	export SECKIT_CONFIG=$d/config.yaml SECKIT_STORE=$d/store SECKIT_BACKEND=soft
	for k in ca srv; do
		openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$k.key" 2>/dev/null ||
			return 1
	done
	openssl req -x509 -new -key ca.key -subj /CN=bulk-ca -days 2 -out ca.pem 2>/dev/null || return 1
	openssl req -new -key srv.key -subj /CN=localhost -addext subjectAltName=DNS:localhost \
		-out srv.csr || return 1
	openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -days 2 -copy_extensions copy \
		-out srv.pem 2>/dev/null || return 1
	"$SECKIT" key create device --type ec-p256 || return 1
	"$SECKIT" cert csr --key device --subject /CN=device --out dev.csr || return 1
	openssl x509 -req -in dev.csr -CA ca.pem -CAkey ca.key -days 2 -out dev.pem 2>/dev/null
}

teardown_file() {
	:
}

setup() {
	common_setup
	F=$BATS_FILE_TMPDIR
	export SECKIT_CONFIG=$F/config.yaml SECKIT_STORE=$F/store SECKIT_BACKEND=soft
	PIDS=()
}

teardown() {
	local p
	for p in "${PIDS[@]}"; do
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
}

# upload MIB PORT: MIB MiB of zeros to PORT, our side closed, then
# everything the other side sends read until its end.
upload() {
	python3 - "$1" "$2" <<-'PY'
	import socket, sys
	mib, port = int(sys.argv[1]), int(sys.argv[2])
	buf = b"\0" * (1 << 20)
	s = socket.create_connection(("127.0.0.1", port))
	for _ in range(mib):
	    s.sendall(buf)
	s.shutdown(socket.SHUT_WR)
	while s.recv(65536):
	    pass
	PY
}

@test "a 16 MiB upload through the proxy: all of it relayed, no EAGAIN read per TLS record, one recv for several (strace)" {
	python3 "$BATS_TEST_DIRNAME/tls-peer.py" sink peer.port "$F/srv.pem" "$F/srv.key" "$F/ca.pem" \
		> peer.log 2>&1 &
	PIDS+=("$!")
	wait_until test -s peer.port
	PPORT=$(free_port_pair)
	"$SECKIT" -v tls proxy --listen "$PPORT" --connect "127.0.0.1:$(cat peer.port)" --key device \
		--cert "$F/dev.pem" --ca "$F/ca.pem" --servername localhost 2> proxy.log &
	PROXY=$!
	PIDS+=("$PROXY")
	wait_until grep -q 'listening on' proxy.log
	# Every thread of the proxy, its reads.
	strace -f -e trace=read,recvfrom -o trace -p "$PROXY" 2> strace.log &
	STRACE=$!
	wait_until grep -q attached strace.log
	upload 16 "$PPORT"
	wait_until grep -q 'bytes up' proxy.log
	kill -INT "$STRACE"
	wait "$STRACE" || true
	grep -q ' 16777216 bytes up' proxy.log
	# 16 MiB is at least 1,024 records of 16 KiB; reading both sockets at
	# every step made an EAGAIN read for each.  Now a read finds a socket
	# empty only when the client's next data is not there yet.
	eagain=$(grep -c EAGAIN trace || true)
	echo "EAGAIN reads: $eagain"
	[ "$eagain" -lt 128 ]
	# 16 KiB at a time from the client took 1,024 reads at least; now up
	# to 64 KiB (four records).
	recvs=$(grep -c 'recvfrom(.* = [1-9]' trace || true)
	echo "recv calls with data: $recvs"
	[ "$recvs" -lt 768 ]
}

# once DATA PORT: DATA to PORT, our side closed, the answer on stdout.
once() {
	python3 -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[2])), timeout=30)
s.sendall(sys.argv[1].encode())
s.shutdown(socket.SHUT_WR)
d = b""
while True:
    b = s.recv(65536)
    if not b:
        break
    d += b
sys.stdout.write(d.decode())
' "$1" "$2"
}

@test "a server that gives a TLS 1.3 ticket on the first connection only: every later connection through the proxy resumes it" {
	python3 "$BATS_TEST_DIRNAME/tls-peer.py" one-ticket peer.port "$F/srv.pem" "$F/srv.key" "$F/ca.pem" \
		> peer.log 2>&1 &
	PIDS+=("$!")
	wait_until test -s peer.port
	PPORT=$(free_port_pair)
	"$SECKIT" -v tls proxy --listen "$PPORT" --connect "127.0.0.1:$(cat peer.port)" --key device \
		--cert "$F/dev.pem" --ca "$F/ca.pem" --servername localhost 2> proxy.log &
	PIDS+=("$!")
	wait_until grep -q 'listening on' proxy.log
	local conn
	for conn in 1 2 3 4 5 6; do
		run -0 once "hello $conn" "$PPORT"
		[ "$output" = "hello $conn" ]
		wait_until grep -q "^seckit tls proxy: #$conn " proxy.log
	done
	run -0 grep -c '(new session)' proxy.log
	[ "$output" -eq 1 ]
	# OpenSSL marks the session a TLS 1.3 handshake resumed as used up;
	# the proxy's newest session stays resumable for the next ones.
	run -0 grep -c '(resumed)' proxy.log
	[ "$output" -eq 5 ]
}
