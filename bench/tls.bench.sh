#!/usr/bin/env bash
# seckit tls: handshakes of `tls connect` (soft key in the store) against
# `openssl s_client` with its key in a file; `tls proxy` against stunnel4
# (client mode, same server, same TLS 1.3 suite): new connections per
# second and bulk MiB/s through the tunnel, resident memory with idle
# connections open (BENCH_IDLE, 1,000) and across a churn of connections
# (BENCH_CHURN, 10,000: descriptors and RSS before and after); TPM commands
# of one handshake with a tpm2 key (pcap TCTI).  Rows: name, seckit,
# reference, unit, goal.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
SECKIT=${SECKIT:-$top/seckit}
RUNS=${BENCH_RUNS:-20}
IDLE=${BENCH_IDLE:-1000}
CHURN=${BENCH_CHURN:-10000}
# Each idle connection holds a descriptor in the client, two in the
# tunnel and one in the server: room for all of them and more.
want=$((IDLE * 2 + 512))
[ "$(ulimit -Hn)" = unlimited ] || [ "$(ulimit -Hn)" -ge "$want" ] ||
	{ echo "tls.bench: $IDLE idle connections need ulimit -n $want (hard limit $(ulimit -Hn))" >&2; exit 1; }
[ "$(ulimit -n)" = unlimited ] || [ "$(ulimit -n)" -ge "$want" ] || ulimit -n "$want"
for t in openssl hyperfine stunnel4 python3 swtpm; do
	command -v "$t" >/dev/null || { echo "tls.bench: $t is not installed" >&2; exit 1; }
done
work=$(mktemp -d)
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	kill "$(cat "$work/tpm/swtpm.pid" 2>/dev/null)" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
cd "$work"
# shellcheck source=/dev/null
. "$top/tests/tpm.bash"
printf 'password-kdf:\n  n: 1024\n  r: 8\n  p: 1\n' > config.yaml
export SECKIT_CONFIG=$work/config.yaml SECKIT_STORE=$work/store SECKIT_BACKEND=soft

# A CA, the server's certificate, the client's: a store key (seckit) and a
# key file (openssl, stunnel), both EC P-256 certified by the CA.
ec() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
ec ca.key
openssl req -x509 -new -key ca.key -subj /CN=bench-ca -days 2 -out ca.pem 2>/dev/null
ec srv.key
openssl req -new -key srv.key -subj /CN=localhost -addext subjectAltName=DNS:localhost -out srv.csr
openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -days 2 -copy_extensions copy -out srv.pem 2>/dev/null
"$SECKIT" key create device --type ec-p256
"$SECKIT" cert csr --key device --subject /CN=device --out dev.csr
openssl x509 -req -in dev.csr -CA ca.pem -CAkey ca.key -days 2 -out dev.pem 2>/dev/null
ec file.key
openssl req -new -key file.key -subj /CN=file -out file.csr
openssl x509 -req -in file.csr -CA ca.pem -CAkey ca.key -days 2 -out file.pem 2>/dev/null

port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
listening() { bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }
bound() { [ -n "$(ss -ltnH "sport = :$1")" ]; }
# s_server -www on PORT, mutual TLS (the client certificate demanded).
www() {
	openssl s_server -accept "127.0.0.1:$1" -cert srv.pem -key srv.key -CAfile ca.pem \
		-Verify 1 -verify_return_error -www -quiet < /dev/null > /dev/null 2>&1 &
	pids+=("$!")
	wait_until listening "$1"
}
median_ms() { python3 -c 'import json,sys;r=json.load(open(sys.argv[1]))["results"];print(" ".join("%.3f"%(x["median"]*1000) for x in r))' "$1"; }
rate() { python3 -c 'import sys;print("%.1f"%(1000/float(sys.argv[1])))' "$1"; }

# ---- handshakes: one process per handshake, same server ----
P=$(port)
www "$P"
hyperfine -N -w 3 -r "$RUNS" --export-json hs.json \
	"$SECKIT --json tls connect 127.0.0.1:$P --key device --cert dev.pem --ca ca.pem --servername localhost" \
	"openssl s_client -connect 127.0.0.1:$P -key file.key -cert file.pem -CAfile ca.pem -verify_return_error -verify_hostname localhost -quiet -no_ign_eof" \
	>/dev/null 2>&1 < /dev/null
read -r t_sk t_ref < <(median_ms hs.json)
printf 'tls connect: handshakes/s (one process each, soft key)\t%s\t%s\thandshakes/s\t>= 1.0x openssl s_client\n' \
	"$(rate "$t_sk")" "$(rate "$t_ref")"

# ---- proxy against stunnel4 (client mode) ----
PP=$(port)
TP=$(port)
"$SECKIT" tls proxy --listen "$PP" --connect "127.0.0.1:$P" --key device --cert dev.pem \
	--ca ca.pem --servername localhost &
pids+=("$!")
cat > stunnel.conf <<EOF
foreground = yes
pid =
[bench]
client = yes
accept = 127.0.0.1:$TP
connect = 127.0.0.1:$P
cert = $work/file.pem
key = $work/file.key
CAfile = $work/ca.pem
verifyChain = yes
checkHost = localhost
EOF
stunnel4 stunnel.conf > stunnel.log 2>&1 &
pids+=("$!")
wait_until listening "$PP"
wait_until listening "$TP"
conns=$((RUNS * 50))
churn() {
	python3 - "$1" "$conns" <<'PY'
import socket, sys, time
port, n = int(sys.argv[1]), int(sys.argv[2])
t = time.monotonic()
for _ in range(n):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"GET / HTTP/1.0\r\n\r\n")
    s.shutdown(socket.SHUT_WR)
    while s.recv(65536):
        pass
    s.close()
print("%.1f" % (n / (time.monotonic() - t)))
PY
}
r_sk=$(churn "$PP")
r_ref=$(churn "$TP")
printf 'tls proxy: new connections/s (GET through the tunnel)\t%s\t%s\tconns/s\t>= 1.0x stunnel4\n' "$r_sk" "$r_ref"

# Bulk: MiB/s of one upload through the tunnel into a TLS sink (Python's
# ssl, the same for both: it may be the bottleneck, the ratio still tells),
# and the tunnel's CPU time (user+sys, all its threads, /proc/PID/stat)
# per GiB relayed: the figure that does not depend on the machine's load.
# 256 MiB at least: CPU time comes in clock ticks (10 ms).
mib=$((RUNS * 8 > 256 ? RUNS * 8 : 256))
# cpu_ticks PID: user+sys clock ticks of a process, all its threads.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
# bulk seckit|stunnel PORT: "MiB/s CPU-seconds-per-GiB" ("-" for a failure).
bulk() {
	local via=$1 sink bp tp c0 c1 rate
	rm -f sink.port sink.port.peer
	# Run in $(...): what it starts must not hold its stdout, and is
	# stopped here (the caller's pids list is not this subshell's).
	python3 "$top/tests/tls-peer.py" sink sink.port srv.pem srv.key ca.pem > /dev/null 2>&1 &
	bp=$!
	for _ in $(seq 300); do [ -s sink.port ] && break; sleep 0.1; done
	sink=$(cat sink.port)
	if [ "$via" = seckit ]; then
		"$SECKIT" tls proxy --listen "$2" --connect "127.0.0.1:$sink" --key device --cert dev.pem \
			--ca ca.pem --servername localhost > /dev/null 2>&1 &
	else
		sed "s/^connect = .*/connect = 127.0.0.1:$sink/; s/^accept = .*/accept = 127.0.0.1:$2/" \
			stunnel.conf > stunnel2.conf
		stunnel4 stunnel2.conf > /dev/null 2>&1 &
	fi
	tp=$!
	# Not a test connection: it would take the sink's one accept.
	wait_until bound "$2"
	c0=$(cpu_ticks "$tp")
	rate=$(timeout 120 python3 - "$2" "$mib" <<'PY' || echo -
import socket, sys, time
port, mib = int(sys.argv[1]), int(sys.argv[2])
buf = b"\0" * (1 << 20)
s = socket.create_connection(("127.0.0.1", port))
t = time.monotonic()
for _ in range(mib):
    s.sendall(buf)
s.shutdown(socket.SHUT_WR)
while s.recv(65536):
    pass
print("%.1f" % (mib / (time.monotonic() - t)))
PY
)
	c1=$(cpu_ticks "$tp")
	kill "$bp" "$tp" 2>/dev/null || true
	[ "$rate" = - ] && { echo "- -"; return; }
	python3 -c 'import sys,os;t,m=int(sys.argv[1]),int(sys.argv[2]);print(sys.argv[3],"%.2f"%(t/os.sysconf("SC_CLK_TCK")*1024/m))' \
		"$((c1 - c0))" "$mib" "$rate"
}
read -r b_sk c_sk < <(bulk seckit "$(port)")
read -r b_ref c_ref < <(bulk stunnel "$(port)")
printf 'tls proxy: bulk upload through the tunnel\t%s\t%s\tMiB/s\t>= 1.0x stunnel4\n' "$b_sk" "$b_ref"
printf 'tls proxy: bulk, tunnel CPU (user+sys) per GiB\t%s\t%s\ts/GiB\t<= stunnel4 (ratio >= 1.0x; load-independent)\n' \
	"$c_sk" "$c_ref"
echo "tls.bench: bulk load: $(uptime)" >&2

# ---- memory: idle connections, then a churn of connections ----
rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
nfds() { find "/proc/$1/fd" -mindepth 1 | wc -l; }
# A server for many connections at once (a thread each), the same for
# both tunnels.
rm -f many.port
python3 "$top/tests/tls-peer.py" echo-many many.port srv.pem srv.key ca.pem > /dev/null 2>&1 &
pids+=("$!")
for _ in $(seq 300); do [ -s many.port ] && break; sleep 0.1; done
MP=$(cat many.port)
# tunnel seckit|stunnel PORT UPSTREAM: a tunnel to UPSTREAM; its pid in $tpid.
tunnel() {
	if [ "$1" = seckit ]; then
		"$SECKIT" tls proxy --listen "$2" --connect "127.0.0.1:$3" --key device --cert dev.pem \
			--ca ca.pem --servername localhost > /dev/null 2>&1 &
	else
		sed "s/^connect = .*/connect = 127.0.0.1:$3/; s/^accept = .*/accept = 127.0.0.1:$2/" \
			stunnel.conf > "stunnel-$2.conf"
		stunnel4 "stunnel-$2.conf" > /dev/null 2>&1 &
	fi
	tpid=$!
	pids+=("$tpid")
	wait_until bound "$2"
}
# idle_rss seckit|stunnel: RSS (KiB) of the tunnel with $IDLE connections
# open, each having made one round trip (so its TLS connection is up).
idle_rss() {
	local tp hp r
	tp=$(port)
	tunnel "$1" "$tp" "$MP"
	rm -f idle.ready
	python3 - "$tp" "$IDLE" idle.ready <<'PY' &
import socket, sys, time
port, n, ready = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
socks = []
for _ in range(n):
    s = socket.create_connection(("127.0.0.1", port), timeout=60)
    s.sendall(b"x")
    if s.recv(1) != b"x":
        sys.exit("no echo")
    socks.append(s)
open(ready, "w").close()
time.sleep(600)
PY
	hp=$!
	for _ in $(seq 1200); do [ -e idle.ready ] && break; kill -0 "$hp" 2>/dev/null || break; sleep 0.1; done
	if [ -e idle.ready ]; then r=$(rss "$tpid"); else r=-; fi
	kill "$hp" "$tpid" 2>/dev/null || true
	wait "$hp" "$tpid" 2>/dev/null || true
	echo "$r"
}
i_sk=$(idle_rss seckit)
i_ref=$(idle_rss stunnel)
printf 'tls proxy: RSS with %d idle connections\t%s\t%s\tKiB\t<= stunnel4 (ratio >= 1.0x)\n' \
	"$IDLE" "$i_sk" "$i_ref"

# churn seckit|stunnel: "fds-before fds-after rss-before rss-after" of the
# tunnel across $CHURN connections (GET to s_server -www, 4 at a time),
# after a warm-up of 100.
churn_growth() {
	local tp f0 r0
	tp=$(port)
	tunnel "$1" "$tp" "$P"
	python3 "$top/tests/tls-churn.py" churn "$tp" 100 4
	f0=$(nfds "$tpid")
	r0=$(rss "$tpid")
	python3 "$top/tests/tls-churn.py" churn "$tp" "$CHURN" 4
	echo "$f0 $(nfds "$tpid") $r0 $(rss "$tpid")"
	kill "$tpid" 2>/dev/null || true
	wait "$tpid" 2>/dev/null || true
}
read -r cf0 cf1 cr0 cr1 < <(churn_growth seckit)
read -r sf0 sf1 sr0 sr1 < <(churn_growth stunnel)
echo "tls.bench: $CHURN connections: seckit fds $cf0 -> $cf1, RSS $cr0 -> $cr1 KiB; stunnel4 fds $sf0 -> $sf1, RSS $sr0 -> $sr1 KiB" >&2
printf 'tls proxy: descriptors gained over %d connections\t%s\t%s\tfds\t0\n' "$CHURN" $((cf1 - cf0)) $((sf1 - sf0))
printf 'tls proxy: RSS after %d connections\t%s\t%s\tKiB\tno growth (before: %s vs %s)\n' \
	"$CHURN" "$cr1" "$sr1" "$cr0" "$sr0"

# ---- TPM commands of one handshake (tpm2 key, pcap TCTI) ----
start_swtpm "$work/tpm" >/dev/null
export SECKIT_STORE=$work/store-tpm SECKIT_BACKEND=tpm2 SECKIT_TCTI=$SWTPM_TCTI
"$SECKIT" key create device --type ec-p256
"$SECKIT" cert csr --key device --subject /CN=tpm-device --out tpm.csr
openssl x509 -req -in tpm.csr -CA ca.pem -CAkey ca.key -days 2 -out tpm.pem 2>/dev/null
rm -f cap.pcap
TCTI_PCAP_FILE=$work/cap.pcap SECKIT_TCTI="pcap:$SWTPM_TCTI" "$SECKIT" --json tls connect \
	"127.0.0.1:$P" --key device --cert tpm.pem --ca ca.pem --servername localhost > /dev/null
read -r n_cmds codes < <(python3 "$here/tpm-commands.py" cap.pcap)
# TPM2_CC_Sign is 0x15d.
n_sign=$(printf '%s\n' "$codes" | tr ' ' '\n' | grep -ci '0x0*15d' || true)
echo "tls.bench: one tpm2 handshake: $n_cmds TPM commands: $codes" >&2
printf 'tls connect (tpm2 key): TPM2_Sign per handshake\t%s\t-\tsigns\t1\n' "$n_sign"
