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

@test "fuzz_tpm2: each seed (real swtpm answers) gets through its scenario; a replayed unseal and a Sign answer of another scheme are refused" {
	require clang
	cd "$SECKIT_SRC"
	run -0 make -s build/fuzz/fuzz_tpm2
	for s in ec-sign rsa-sign primary-ecdh pcr-read; do
		run -0 --separate-stderr env SK_FUZZ_TPM2_TRACE=1 build/fuzz/fuzz_tpm2 "fuzz/corpus/fuzz_tpm2/$s"
		[[ "$stderr" == *"fuzz_tpm2: scenario "[0-9]": ok"* ]]
	done
	# the master key's unseal is authenticated and encrypted under a salted
	# session: a recorded answer does not fit the next session's key
	run -0 --separate-stderr env SK_FUZZ_TPM2_TRACE=1 build/fuzz/fuzz_tpm2 fuzz/corpus/fuzz_tpm2/unseal
	[[ "$stderr" == *"fuzz_tpm2: scenario 2: tpm2: unsealing: esapi:Authorizing the TPM response failed"* ]]
	# the TPM refuses the password and says how many tries remain
	run -0 --separate-stderr env SK_FUZZ_TPM2_TRACE=1 build/fuzz/fuzz_tpm2 fuzz/corpus/fuzz_tpm2/wrong-password
	[[ "$stderr" == *"fuzz_tpm2: scenario 3: wrong password for password object 'fuzz' (checked by the TPM: 1 more failure before it locks out)"* ]]
	# rsa-sign with the answer's sigAlg changed to RSAPSS: not written as
	# the PKCS#1 v1.5 signature that was asked for
	run -0 --separate-stderr env SK_FUZZ_TPM2_TRACE=1 build/fuzz/fuzz_tpm2 fuzz/corpus/fuzz_tpm2/rsa-sign-pss-answer
	[[ "$stderr" == *"fuzz_tpm2: scenario 1: tpm2: malformed answer to TPM2_Sign"* ]]
}
