#!/bin/bash
# test-slurm.sh SECKIT: a real single-node Slurm on this machine (munged
# with its own key and socket, slurmctld and slurmd from a generated
# slurm.conf on free ports), which runs contrib/fleet/slurm-array.sh as job
# arrays of N = 1, 2 and 7 tasks (--shard auto from SLURM_ARRAY_*);
# check-shards then checks that the union of each run's archives covers
# the fleet exactly once.  Every daemon is stopped on the way out.
# Needs root (slurmd), munge and slurm-wlm (scripts/install-deps.sh
# --cluster).  `make test-cluster` runs it.  Exit 0 when every check holds.
set -euo pipefail

seckit=$(readlink -f "${1:?usage: test-slurm.sh SECKIT}")
here=$(cd "$(dirname "$0")" && pwd)
devices=${FLEET_DEVICES:-57}
work=$(mktemp -d /var/tmp/seckit-slurm.XXXXXX)
pids=()

stop() {
	local p
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	for p in "${pids[@]}"; do
		wait "$p" 2>/dev/null || true
	done
	if [ "${keep:-0}" = 1 ]; then
		echo "test-slurm: logs kept in $work" >&2
	else
		rm -rf "$work"
	fi
}
trap stop EXIT

fail() {
	echo "test-slurm: $*" >&2
	for f in "$work"/log/*; do
		[ -s "$f" ] || continue
		echo "--- $f" >&2
		tail -n 20 "$f" >&2
	done
	keep=1
	exit 1
}

# A free TCP port on localhost, below the kernel's ephemeral range (a port
# found free in that range may be taken by an outgoing connection before
# the daemon binds it).
free_port() {
	python3 - <<'PY'
import random, socket
try:
    eph = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
except (OSError, ValueError, IndexError):
    eph = 32768
for _ in range(200):
    p = random.randrange(10000, max(eph, 12001) - 1)
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p))
    except OSError:
        continue
    finally:
        s.close()
    print(p)
    break
PY
}

for t in munged slurmctld slurmd sbatch sinfo; do
	command -v "$t" >/dev/null || fail "$t is not installed (scripts/install-deps.sh --cluster)"
done
[ "$(id -u)" -eq 0 ] || fail "slurmd needs root"
mkdir -p "$work"/{munge,state,spool,log,bin,job}
chmod 700 "$work/munge"
cd "$work"

# munge: its own key, socket and files; nothing of the system's
dd if=/dev/urandom of=munge/munge.key bs=1024 count=1 status=none
chmod 400 munge/munge.key
munged --foreground --force --key-file="$work/munge/munge.key" --socket="$work/munge/munge.socket" \
	--pid-file="$work/munge/munged.pid" --seed-file="$work/munge/munge.seed" \
	--log-file="$work/log/munged.log" >log/munged.out 2>&1 &
pids+=($!)
for _ in $(seq 50); do
	[ -S munge/munge.socket ] && break
	sleep 0.1
done
[ -S munge/munge.socket ] || fail "munged did not start"

node=$(hostname -s)
cpus=$(nproc)
ctld_port=$(free_port)
d_port=$(free_port)
while [ "$d_port" = "$ctld_port" ]; do d_port=$(free_port); done
cat > slurm.conf <<EOF
ClusterName=seckit-test
SlurmctldHost=$node(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$d_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$work/munge/munge.socket
CredType=cred/munge
StateSaveLocation=$work/state
SlurmdSpoolDir=$work/spool
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd.pid
SlurmctldLogFile=$work/log/slurmctld.log
SlurmdLogFile=$work/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
ReturnToService=2
SlurmdTimeout=30
InactiveLimit=0
MinJobAge=300
NodeName=$node NodeAddr=127.0.0.1 CPUs=$cpus State=UNKNOWN
PartitionName=test Nodes=$node Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF="$work/slurm.conf"
slurmctld -D -i -f "$SLURM_CONF" >log/slurmctld.out 2>&1 &
pids+=($!)
slurmd -D -f "$SLURM_CONF" -N "$node" >log/slurmd.out 2>&1 &
pids+=($!)
state=
for _ in $(seq 150); do
	state=$(sinfo -h -n "$node" -o %T 2>/dev/null || true)
	[ "$state" = idle ] && break
	sleep 0.2
done
[ "$state" = idle ] || fail "the node is not idle (sinfo: '${state:-no answer}')"

# the fleet, the OEM key and an opaque object, made by seckit and openssl
ln -s "$seckit" bin/seckit
export PATH="$work/bin:$PATH"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out oem.pem 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out dev.pem 2>/dev/null
openssl pkey -in dev.pem -pubout -out dev.pub
head -c 1000 /dev/urandom > fw.bin
seckit oo make --in fw.bin >/dev/null
{
	echo "devices:"
	for i in $(seq -f %05g 1 "$devices"); do
		printf '  - id: d%s\n    public-key-file: dev.pub\n' "$i"
	done
} > fleet.yaml

start=$(date +%s.%N)
for n in 1 2 7; do
	out="$work/out$n"
	# --wait: sbatch returns when every task of the array has ended, with
	# a failure if one of them failed
	OEM_KEY="$work/oem.pem" sbatch --wait --quiet --chdir="$work/job" --array=0-$((n - 1)) \
		--cpus-per-task=1 "$here/slurm-array.sh" "$work/fw.bin.oocfg" "$work/fleet.yaml" "$out" ||
		fail "the array of $n tasks failed"
	[ "$(find "$out" -name 'oids-*.tar' | wc -l)" -eq "$n" ] || fail "$n tasks did not write $n archives"
	"$here/check-shards" fleet.yaml "$out"/oids-*.tar || fail "the $n shards do not cover the fleet exactly once"
	echo "test-slurm: N = $n: $devices devices in $n archives, each once" >&2
done
end=$(date +%s.%N)
printf 'test-slurm: ok (Slurm %s, node %s, %s CPUs): 3 job arrays in %.1f s\n' \
	"$(sinfo -V | cut -d' ' -f2)" "$node" "$cpus" "$(echo "$end - $start" | bc)" >&2
