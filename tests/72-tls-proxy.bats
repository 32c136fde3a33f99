#!/usr/bin/env bats
# seckit tls proxy (man/seckit-tls.1): plain local connections relayed
# over TLS with a TPM-held device key -- mosquitto (require_certificate)
# behind it with mosquitto_pub/_sub, s_server for a churn of connections
# (no fd or memory growth), a client that resets mid-stream, SIGTERM.
# Every server and proxy runs on free loopback ports and is stopped.

load helper
load tpm
load trust

setup_file() {
	require swtpm tpm2_getcap openssl python3 mosquitto mosquitto_pub mosquitto_sub
	export BATS_NO_PARALLELIZE_WITHIN_FILE=true
	start_swtpm "$BATS_FILE_TMPDIR/tpm"
	local d=$BATS_FILE_TMPDIR
	cd "$d" || return 1
	printf 'password-kdf:\n  n: 1024\n  r: 8\n  p: 1\n' > config.yaml
	mk_oem_pki || return 1
	mk_key srv &&
		openssl req -new -key srv.key -subj /CN=broker \
			-addext "subjectAltName=DNS:localhost,IP:127.0.0.1" -out srv.csr &&
		openssl_ca oem/cloud-root srv.csr srv.pem leaf || return 1
	cat > m.yaml <<-EOF
	version: 1
	device-key:
	  csr:
	    subject: /CN=device
	    out: device.csr
	certificates:
	  - name: cloud-root
	    file: oem/cloud-root.pem
	EOF
	export SECKIT_CONFIG=$d/config.yaml SECKIT_STORE=$d/store SECKIT_BACKEND=tpm2
	"$SECKIT" provision m.yaml > /dev/null || return 1
	openssl x509 -req -in device.csr -CA oem/root.pem -CAkey oem/root.key -days 2 \
		-out device.pem 2>/dev/null || return 1
	"$SECKIT" cert import device device.pem > /dev/null || return 1
	# mosquitto drops root for its own user: its files in a directory it
	# can reach.
	MQTT_DIR=$(mktemp -d /tmp/seckit-mqtt.XXXXXX)
	chmod 755 "$MQTT_DIR"
	cp oem/root.pem srv.pem srv.key "$MQTT_DIR/"
	chmod 644 "$MQTT_DIR"/*
	export MQTT_DIR
}

teardown_file() {
	stop_swtpm
	[ -z "${MQTT_DIR:-}" ] || rm -rf "$MQTT_DIR"
}

setup() {
	common_setup
	F=$BATS_FILE_TMPDIR
	export SECKIT_CONFIG=$F/config.yaml SECKIT_STORE=$F/store SECKIT_BACKEND=tpm2
	export SECKIT_TCTI="$SWTPM_TCTI" TPM2TOOLS_TCTI="$SWTPM_TCTI"
	PIDS=()
}

teardown() {
	local p
	# In order, each gone before the next: the proxy flushes its TPM
	# objects through a TPM relay started before it.
	for p in "${PIDS[@]}"; do
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	assert_no_transient_handles
}

# start_proxy UPSTREAM-PORT [ARGS...]: seckit tls proxy on a free port
# (PPORT), PROXY its pid, its log (-v) in proxy.log.
start_proxy() {
	local up=$1
	shift
	PPORT=$(free_port_pair)
	"$SECKIT" -v tls proxy --listen "$PPORT" --connect "127.0.0.1:$up" --cert device \
		--servername localhost "$@" 2> proxy.log &
	PROXY=$!
	PIDS+=("$PROXY")
	wait_until grep -q 'listening on' proxy.log
}

# stop_proxy: SIGTERM, and the proxy exits with 0.
stop_proxy() {
	local st=0
	kill -TERM "$PROXY"
	wait "$PROXY" || st=$?
	[ "$st" -eq 0 ]
}

start_s_server() {
	SPORT=$(free_port_pair)
	openssl s_server -accept "127.0.0.1:$SPORT" -cert "$F/srv.pem" -key "$F/srv.key" \
		-CAfile "$F/oem/root.pem" -Verify 1 -verify_return_error -www -quiet \
		< /dev/null > server.log 2>&1 &
	PIDS+=("$!")
	wait_until bash -c "exec 3<>/dev/tcp/127.0.0.1/$SPORT"
}

# fds PID, rss PID: open files and resident memory (KiB) of a process;
# fds_are PID N: it has N open files.
fds() {
	find "/proc/$1/fd" -mindepth 1 | wc -l
}
fds_are() {
	[ "$(fds "$1")" -eq "$2" ]
}
rss() {
	awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"
}

@test "mosquitto (require_certificate) behind the proxy: pub and sub with a TPM-held key; clients without it are refused" {
	local mport
	mport=$(free_port_pair)
	cat > "$MQTT_DIR/mosquitto.conf" <<-EOF
	listener $mport 127.0.0.1
	cafile $MQTT_DIR/root.pem
	certfile $MQTT_DIR/srv.pem
	keyfile $MQTT_DIR/srv.key
	require_certificate true
	allow_anonymous true
	persistence false
	EOF
	chmod 644 "$MQTT_DIR/mosquitto.conf"
	mosquitto -c "$MQTT_DIR/mosquitto.conf" > mosquitto.log 2>&1 &
	PIDS+=("$!")
	wait_until grep -q "Opening ipv4 listen socket on port $mport" mosquitto.log
	start_proxy "$mport"
	run -0 mosquitto_pub -h 127.0.0.1 -p "$PPORT" -t seckit/test -m "signed by the TPM" -r
	run -0 mosquitto_sub -h 127.0.0.1 -p "$PPORT" -t seckit/test -C 1 -W 10
	[ "$output" = "signed by the TPM" ]
	# The broker itself refuses a TLS client without a certificate, and
	# plain MQTT.
	run ! mosquitto_pub -h 127.0.0.1 -p "$mport" --cafile "$F/oem/cloud-root.pem" -t seckit/test -m x
	run ! mosquitto_pub -h 127.0.0.1 -p "$mport" -t seckit/test -m x
	stop_proxy
	# One line per connection; the second resumed the first's session.
	run -0 grep -c '^seckit tls proxy: #[0-9]* 127.0.0.1:[0-9]* -> 127.0.0.1:' proxy.log
	[ "$output" = 2 ]
	grep -q '#1 .*(new session)' proxy.log
	grep -q '#2 .*(resumed)' proxy.log
}

# The issue's churn: 10,000 connections, after 100 that warm the proxy up
# (40 to 55 s here on 2 cores at a load of 19-21).  The proxy keeps its
# fds and grows its RSS by less than 4 MiB; sessions are resumed.  A few
# resumptions do not happen (85 to 304 of the 10,100 in runs here, in
# bursts of 3, more of them late in the run): at least 95 % of them are
# resumed, the share the 2,000-connection version asked (2,000 of 2,100).
@test "10,000 connections through the proxy: no fd growth, bounded memory, resumed sessions" {
	start_s_server
	start_proxy "$SPORT"
	run -0 python3 "$BATS_TEST_DIRNAME/tls-churn.py" churn "$PPORT" 100 4
	local fd0 rss0
	fd0=$(fds "$PROXY")
	rss0=$(rss "$PROXY")
	run -0 python3 "$BATS_TEST_DIRNAME/tls-churn.py" churn "$PPORT" 10000 4
	[ "$(fds "$PROXY")" -eq "$fd0" ]
	echo "RSS $rss0 KiB -> $(rss "$PROXY") KiB" >&3
	# (AddressSanitizer keeps freed memory in quarantine: no bound there)
	sanitizer_build || [ "$(rss "$PROXY")" -lt $((rss0 + 4096)) ]
	run -0 grep -c '(resumed)' proxy.log
	[ "$output" -ge $((10100 * 95 / 100)) ]
	stop_proxy
}

# Lines of the file events without the TPM proxy's "hold" lines.
ordered() {
	grep -v '^hold' events
}

@test "a slow sign (TPM2_Sign held 2 s) does not stall the proxy: an open connection's round trip completes while a new handshake waits for it" {
	start_tpm_proxy --delay 15d:2 --events "$PWD/events"
	# An echo server that never resumes a session: every handshake signs.
	python3 "$BATS_TEST_DIRNAME/tls-peer.py" echo-many ready "$F/srv.pem" "$F/srv.key" \
		"$F/oem/root.pem" &
	PIDS+=("$!")
	wait_until test -e ready
	export SECKIT_TCTI=$PROXY_TCTI
	start_proxy "$(cat ready)"
	PIDS+=("$PROXY_PID") # after the proxy: stopped after it
	# A: its handshake (one slow sign), then a round trip.
	exec 5<>"/dev/tcp/127.0.0.1/$PPORT"
	printf 'one\n' >&5
	read -r -t 30 line <&5
	[ "$line" = one ]
	# B: a new connection, whose handshake waits for the key's sign.
	(
		exec 6<>"/dev/tcp/127.0.0.1/$PPORT"
		printf 'two\n' >&6
		read -r -t 30 l <&6
		echo "B $l" >> events
	) &
	local b=$!
	wait_until bash -c '[ "$(grep -c "^hold" events)" -ge 2 ]'
	# While B's sign is held by the TPM, A's data still goes through.
	printf 'three\n' >&5
	read -r -t 30 line <&5
	echo "A $line" >> events
	wait "$b"
	exec 5>&-
	run -0 ordered
	[ "${lines[0]}" = "release 15d" ] # A's handshake
	[ "${lines[1]}" = "A three" ]
	[ "${lines[2]}" = "release 15d" ]
	[ "${lines[3]}" = "B two" ]
	stop_proxy
	run -0 grep -c '(new session)' proxy.log
	[ "$output" = 2 ]
}

@test "SIGTERM while a handshake waits for a slow sign: exit 0, the sign finished, nothing left in the TPM" {
	start_tpm_proxy --delay 15d:2 --events "$PWD/events"
	start_s_server
	export SECKIT_TCTI=$PROXY_TCTI
	start_proxy "$SPORT"
	PIDS+=("$PROXY_PID")
	python3 "$BATS_TEST_DIRNAME/tls-churn.py" hold "$PPORT" held &
	PIDS+=("$!")
	wait_until grep -q '^hold' events
	stop_proxy
	run -0 cat events
	[ "${lines[1]}" = "release 15d" ]
	grep -q '#1 .*the proxy stopped' proxy.log
}

@test "a handshake that times out while its sign is held: closed at its deadline, freed once the sign is done, the proxy goes on" {
	# Only the first sign is slow, and slower than the handshake timeout.
	start_tpm_proxy --delay 15d:3:1 --events "$PWD/events"
	start_s_server
	export SECKIT_TCTI=$PROXY_TCTI
	start_proxy "$SPORT" --timeout 1
	PIDS+=("$PROXY_PID")
	local fd0
	fd0=$(fds "$PROXY")
	# Reset at the deadline, the request unanswered.
	run ! bash -c "exec 3<>/dev/tcp/127.0.0.1/$PPORT; printf 'GET / HTTP/1.0\r\n\r\n' >&3; cat <&3"
	[[ "$output" != *HTTP* ]]
	grep -q '#1 .*timed out during the TLS handshake' proxy.log
	# Once the held sign is done, the first connection's TLS state and
	# wait fd are freed, and the next connection gets through.  (It waits
	# for the sign's end: one started while the sign is held queues behind
	# it on the one worker and times out as well -- how soon a client
	# starts is the machine's business, not something to race against.)
	wait_until grep -q '^release 15d' events
	wait_until fds_are "$PROXY" "$fd0"
	run -0 python3 "$BATS_TEST_DIRNAME/tls-churn.py" churn "$PPORT" 1 1
	grep -q '#2 .*(new session)' proxy.log
	stop_proxy
}

@test "a client that resets mid-stream: the proxy goes on" {
	start_s_server
	start_proxy "$SPORT"
	run -0 python3 "$BATS_TEST_DIRNAME/tls-churn.py" reset "$PPORT"
	run -0 python3 "$BATS_TEST_DIRNAME/tls-churn.py" churn "$PPORT" 4 1
	run -0 grep -c '^seckit tls proxy: #' proxy.log
	[ "$output" = 5 ]
	kill -0 "$PROXY"
	# The reset did not cost the session: the next connections resumed
	# the one the reset connection had (closed with a close_notify).
	run -0 grep -c '(resumed)' proxy.log
	[ "$output" = 4 ]
}

@test "SIGTERM with a connection open: exit 0, the connection closed" {
	start_s_server
	start_proxy "$SPORT"
	python3 "$BATS_TEST_DIRNAME/tls-churn.py" hold "$PPORT" held &
	local holder=$!
	PIDS+=("$holder")
	wait_until test -e held
	stop_proxy
	wait "$holder"
	grep -q '#1 .*the proxy stopped' proxy.log
}

@test "bad input: listen address, connect address, a port in use" {
	sk_fails 2 "tls proxy: --listen 'x:y'" tls proxy --listen x:y --connect h:1 --cert device
	sk_fails 2 "tls proxy: --connect 'h'" tls proxy --listen 1 --connect h --cert device
	sk_fails 2 "tls proxy: " tls proxy --connect h:1 --cert device
	start_s_server
	sk_fails 1 "tls proxy: 127.0.0.1:$SPORT: listen: Address already in use" \
		tls proxy --listen "$SPORT" --connect "127.0.0.1:$SPORT" --cert device
}
