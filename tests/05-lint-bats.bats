#!/usr/bin/env bats
# scripts/lint-bats.sh (run by `make lint`): bats lines that can never fail
# a test are refused, so that they do not come back.

load helper

lint() {
	"$SECKIT_SRC/scripts/lint-bats.sh" "$@"
}

@test "the test suite has no line that cannot fail" {
	run -0 lint "$SECKIT_SRC"/tests/*.bats
	[ -z "$output" ]
}

@test "each shape that asserts nothing is refused, at its line" {
	# (%test: bats would take an @test line for a test even in a here-document)
	cat > bad.bats <<-'BATS'
	%test "x" {
		[ -f a ] && [ -s a ]
		[[ a == b ]] && [[ c == d ]]
		! grep -q x y
		sk store read a | cmp - b
		"$SECKIT" key list | grep -q k
		run sk key list
		run -0 sk key list
		for f in a b; do
			[ -f "$f" ] &&
				grep -q x "$f"
		done
		run --separate-stderr sk key info x
	}
	%test "a function that wraps run is a run" {
		quiet() {
			run --separate-stderr sk "$@"
		}
		quiet key list
		[ "$status" -eq 0 ]
		quiet key info x
	}
	BATS
	sed -i 's/^%test/@test/' bad.bats
	run -1 lint bad.bats
	printf '%s\n' "$output"
	[ "${#lines[@]}" -eq 9 ]
	[[ "${lines[0]}" == "bad.bats:2: and-chain: "* ]]
	[[ "${lines[1]}" == "bad.bats:3: and-chain: "* ]]
	[[ "${lines[2]}" == "bad.bats:4: negation: "* ]]
	[[ "${lines[3]}" == "bad.bats:5: pipeline: "* ]]
	[[ "${lines[4]}" == "bad.bats:6: pipeline: "* ]]
	[[ "${lines[5]}" == "bad.bats:7: run-status: "* ]]
	[[ "${lines[6]}" == "bad.bats:10: and-chain: "* ]]
	[[ "${lines[7]}" == "bad.bats:13: run-status: "* ]]
	[[ "${lines[8]}" == "bad.bats:21: run-status: "* ]]
}

@test "conditions, checked chains, quoted and heredoc text are not assertions and pass" {
	cat > good.bats <<-'BATS'
	# [ a ] && [ b ]  in a comment
	%test "y" {
		run sk key list
		[ "$status" -eq 0 ]
		run ! sk key list
		run -1 grep -q x y
		[ -d x ] && continue
		cmd && rc=0 || rc=$?
		[[ a && b ]]
		[ -f a ] && [ -s a ] || { echo "no a" >&2; return 1; }
		if [ a ] && [ b ]; then :; fi
		while ! [ a ] && [ b ]; do :; done
		! nm x | grep -q y || skip "z"
		echo "[ a ] && [ b ]" '! grep x' "sk a | cmp - b"
		x=$(sk a | cmp - b)
		piped got sk store read a
		cat <<-EOF
		[ a ] && [ b ]
		! nothing
		EOF
		case $x in
		a|b) [ -f x ] ;;
		esac
		(umask 077; sk oo make --in x)
		run -1 sk foo
	}
	valid() {
		[ a ] && [ b ]
	}
	wrapper() {
		run sk in-a-function "$@"
	}
	BATS
	sed -i 's/^%test/@test/' good.bats
	run -0 lint good.bats
	[ -z "$output" ]
}

@test "usage: no file is a usage error" {
	run -2 lint
	[[ "$output" == "usage: "* ]]
}
