#!/usr/bin/env bats
# seckit oo id --devices --shard auto: K/N from the job runner's
# environment (Kubernetes Indexed Jobs, Slurm job arrays, GNU parallel);
# the shards' archives cover the fleet exactly once.

load helper
load fleet

# noenv_ooid [VAR=VALUE...] OPTION...: oo id --shard auto with no job
# runner in the environment but the variables given.
noenv_ooid() {
	local vars=()
	while [ $# -gt 0 ] && [[ "$1" == *=* ]]; do
		vars+=("$1")
		shift
	done
	env -u JOB_COMPLETION_INDEX -u SLURM_ARRAY_TASK_ID -u SLURM_ARRAY_TASK_MIN \
		-u SLURM_ARRAY_TASK_MAX -u SLURM_ARRAY_TASK_COUNT -u PARALLEL_SEQ -u SECKIT_SHARD_COUNT \
		"${vars[@]}" "$SECKIT" oo id --info fw.bin.oocfg --sign-key oem.pem --devices fleet.yaml \
		--shard auto "$@"
}

@test "shard auto: Slurm arrays (from 0 and from 3), Kubernetes Indexed Jobs: every device once for N = 1, 2, 7" {
	setup_fleet 23
	for n in 1 2 7; do
		rm -f s*.tar
		for k in $(seq 0 $((n - 1))); do
			noenv_ooid SLURM_ARRAY_TASK_ID=$k SLURM_ARRAY_TASK_MIN=0 SLURM_ARRAY_TASK_MAX=$((n - 1)) \
				SLURM_ARRAY_TASK_COUNT=$n --out-archive "s$k.tar" --jobs 1 2>/dev/null
		done
		[ "$(archive_ids s*.tar)" = "$(fleet_ids)" ]
	done
	# an array 3-9 (tasks 3 .. 9 are shards 1 .. 7), and the device
	# of index i is in shard i mod 7 + 1, as --shard K/7 puts it
	rm -f s*.tar
	for t in 3 4 5 6 7 8 9; do
		noenv_ooid SLURM_ARRAY_TASK_ID=$t SLURM_ARRAY_TASK_MIN=3 SLURM_ARRAY_TASK_MAX=9 \
			SLURM_ARRAY_TASK_COUNT=7 --out-archive "s$t.tar" --jobs 1 2>/dev/null
	done
	[ "$(archive_ids s*.tar)" = "$(fleet_ids)" ]
	ooid --shard 2/7 --out-archive two.tar 2>/dev/null
	[ "$(archive_ids s4.tar)" = "$(archive_ids two.tar)" ]
	# Kubernetes: JOB_COMPLETION_INDEX 0 .. N-1 and SECKIT_SHARD_COUNT
	for n in 1 2 7; do
		rm -f k*.tar
		for k in $(seq 0 $((n - 1))); do
			noenv_ooid JOB_COMPLETION_INDEX=$k SECKIT_SHARD_COUNT=$n --out-archive "k$k.tar" 2>/dev/null
		done
		[ "$(archive_ids k*.tar)" = "$(fleet_ids)" ]
	done
}

@test "shard auto: GNU parallel (PARALLEL_SEQ) runs 7 shards, every device once" {
	require parallel
	setup_fleet 23
	export SECKIT_SHARD_COUNT=7 SECKIT
	seq 7 | parallel -j 2 --halt now,fail=1 \
		'"$SECKIT" oo id --info fw.bin.oocfg --sign-key oem.pem --devices fleet.yaml --shard auto --out-archive p{#}.tar --jobs 1 2>/dev/null'
	[ "$(ls p*.tar | wc -l)" -eq 7 ]
	[ "$(archive_ids p*.tar)" = "$(fleet_ids)" ]
}

@test "shard auto: outside a job runner, or with what a runner does not say, is a usage error" {
	setup_fleet 3
	run -2 --separate-stderr noenv_ooid --out-archive a.tar
	assert_one_error_line "seckit oo id: --shard: auto: not started by a job runner"
	run -2 noenv_ooid JOB_COMPLETION_INDEX=0 --out-archive a.tar
	run -2 noenv_ooid PARALLEL_SEQ=1 --out-archive a.tar
	run -2 noenv_ooid PARALLEL_SEQ=8 SECKIT_SHARD_COUNT=7 --out-archive a.tar
	run -2 noenv_ooid JOB_COMPLETION_INDEX=x SECKIT_SHARD_COUNT=2 --out-archive a.tar
	# a Slurm array with a step (0-12:2 is 7 tasks) cannot be numbered
	run -2 noenv_ooid SLURM_ARRAY_TASK_ID=2 SLURM_ARRAY_TASK_MIN=0 SLURM_ARRAY_TASK_MAX=12 \
		SLURM_ARRAY_TASK_COUNT=7 --out-archive a.tar
	run -2 noenv_ooid SLURM_ARRAY_TASK_ID=2 --out-archive a.tar
	assert_absent a.tar
	assert_absent a.tar.part
}

@test "contrib/fleet/check-shards: the union of the shards' archives covers the fleet exactly once" {
	setup_fleet 11
	for k in 1 2 3; do
		ooid --shard "$k/3" --out-archive "s$k.tar" 2>/dev/null
	done
	run -0 --separate-stderr "$SECKIT_SRC/contrib/fleet/check-shards" fleet.yaml s1.tar s2.tar s3.tar
	[ -z "$output" ]
	[ "$stderr" = "check-shards: 11 devices, 11 entries in 3 archives" ]
	run -1 --separate-stderr "$SECKIT_SRC/contrib/fleet/check-shards" fleet.yaml s1.tar s2.tar
	[ "$output" = "missing: d0003
missing: d0006
missing: d0009" ]
	run -1 --separate-stderr "$SECKIT_SRC/contrib/fleet/check-shards" fleet.yaml s1.tar s2.tar s3.tar s1.tar
	[[ "$output" == "twice: d0001"* ]]
	mk_fleet_file 10
	run -1 --separate-stderr "$SECKIT_SRC/contrib/fleet/check-shards" fleet.yaml s1.tar s2.tar s3.tar
	[ "$output" = "not in the fleet: d0011" ]
	run -2 "$SECKIT_SRC/contrib/fleet/check-shards" fleet.yaml
}
