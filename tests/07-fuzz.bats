#!/usr/bin/env bats
# The libFuzzer harnesses (fuzz/) build, replay every committed seed and
# survive a short mutation run without a crash, leak or sanitizer report.
# Longer runs: make fuzz-run FUZZ_SECONDS=600.

load helper

@test "fuzz harnesses: seeds replay and a short run finds nothing" {
	require clang
	cd "$SECKIT_SRC"
	run make -s fuzz-check FUZZ_SECONDS=10
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"Done"* ]]
	# no crash or leak artefacts left behind
	for f in build/fuzz/crash-* build/fuzz/leak-* build/fuzz/timeout-* build/fuzz/oom-*; do
		assert_absent "$f"
	done
}

@test "the committed fuzz corpus holds only named seeds" {
	cd "$SECKIT_SRC"
	[ -d .git ] || [ -f .git ] || skip "not a git checkout"
	run -0 git ls-files fuzz/corpus
	run -1 grep -E '/[0-9a-f]{40}$' <<< "$output"
}
