# shellcheck shell=bash
# Shared by tests/helper.bash and tests/tpm.bash (which bench/tpm2.bench.sh
# also sources, without bats).

# wait_until CMD ARG...: run CMD every 0.1 s until it succeeds, 5 s at most
# (the tests run two at a time on a loaded machine: wait for a state, never
# sleep for it).
wait_until() {
	local _
	for _ in $(seq 50); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}
