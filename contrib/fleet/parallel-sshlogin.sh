#!/bin/sh
# GNU parallel over machines: N shards on the hosts of HOSTS (a file of
# --sshlogin lines, e.g. "8/oem-build-1"), one job per shard.  Every host
# needs seckit, the OOInfo file, the fleet file and the signing key at the
# same paths (a shared file system, or --transferfile / --basefile).
# seckit takes K from PARALLEL_SEQ (1..N) and N from SECKIT_SHARD_COUNT.
#   contrib/fleet/parallel-sshlogin.sh HOSTS 16 app.oocfg fleet.yaml /shared/out
#   contrib/fleet/check-shards fleet.yaml /shared/out/oids-*.tar
set -eu
hosts=$1 n=$2 info=$3 fleet=$4 out=$5
mkdir -p "$out"
seq "$n" | parallel --sshloginfile "$hosts" --halt now,fail=1 \
	"SECKIT_SHARD_COUNT=$n seckit oo id --info '$info' --sign-key '${OEM_KEY:-oem.pem}' \
	--devices '$fleet' --shard auto --out-archive '$out/oids-{#}.tar' \
	--manifest '$out/oids-{#}.jsonl' --resume"
