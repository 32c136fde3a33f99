#!/usr/bin/env bats
# The tree shows the architecture (issue 10): no import loop between two
# files of src/ or cmd/ (A uses B and B uses A, scripts/import-loops.sh on
# the objects make built), no file over 1,000 lines and no function over
# 120 lines (scripts/code-size.sh).

load helper

@test "no import loop between two files of src/ and cmd/" {
	run -0 "$SECKIT_SRC/scripts/import-loops.sh" -g
	[ -n "$output" ]
	# Each loop found is printed: make that dependency one-way.
	run -0 "$SECKIT_SRC/scripts/import-loops.sh"
}

@test "no file over 1,000 lines, no function over 120 lines in src/ and cmd/" {
	# Each offender is printed: split it along its seams.
	run -0 "$SECKIT_SRC/scripts/code-size.sh"
}

@test "the checks find what they look for" {
	mkdir -p t/src
	{
		echo 'int f(void)'
		echo '{'
		for n in $(seq 1 118); do echo "	x($n);"; done
		echo '}'
	} > t/src/long.c
	run -0 "$SECKIT_SRC/scripts/code-size.sh" "$PWD/t/src/long.c"
	sed -i 's/^}$/	y();\n}/' t/src/long.c
	run -1 "$SECKIT_SRC/scripts/code-size.sh" "$PWD/t/src/long.c"
	[[ "$output" == "function $PWD/t/src/long.c:1 f: 121 lines" ]]
	MAX_LINES=100 run -1 "$SECKIT_SRC/scripts/code-size.sh" "$PWD/t/src/long.c"
	[[ "$output" == *"file $PWD/t/src/long.c: 122 lines"* ]]
	# Two objects that use each other are a loop; a one-way use is not.
	printf 'int b(void);\nint a(void) { return b(); }\n' > a.c
	printf 'int a(void);\nint b(void) { return a(); }\n' > b.c
	printf 'int b(void);\nint c(void) { return b(); }\n' > c.c
	mkdir -p o/src o/cmd
	for f in a b c; do cc -c -o "o/src/$f.o" "$f.c"; done
	run -1 "$SECKIT_SRC/scripts/import-loops.sh" "$PWD/o"
	[ "$output" = "src/a.c <-> src/b.c: a.c uses b; b.c uses a" ]
	rm o/src/a.o
	run -0 "$SECKIT_SRC/scripts/import-loops.sh" "$PWD/o"
}
