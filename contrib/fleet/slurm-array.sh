#!/bin/sh
# A Slurm job array: one task per shard, each writing its own archive.
#   sbatch --array=0-15 contrib/fleet/slurm-array.sh app.oocfg fleet.yaml out
# seckit numbers the shards from SLURM_ARRAY_TASK_ID, SLURM_ARRAY_TASK_MIN
# and SLURM_ARRAY_TASK_COUNT (an array MIN-MAX of step 1, any MIN); a task
# that is requeued resumes its archive.  Afterwards:
#   contrib/fleet/check-shards fleet.yaml out/oids-*.tar
#SBATCH --job-name=seckit-oo-id
#SBATCH --cpus-per-task=2
#SBATCH --output=seckit-oo-id-%A_%a.log
set -eu
info=$1 fleet=$2 out=$3
mkdir -p "$out"
exec seckit oo id --info "$info" --sign-key "${OEM_KEY:-oem.pem}" \
	--devices "$fleet" --shard auto --jobs "${SLURM_CPUS_PER_TASK:-2}" \
	--out-archive "$out/oids-$SLURM_ARRAY_TASK_ID.tar" \
	--manifest "$out/oids-$SLURM_ARRAY_TASK_ID.jsonl" --resume
