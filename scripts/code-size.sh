#!/bin/sh
# Files and functions too long to read in one sitting: a C file of src/ or
# cmd/ over MAX_LINES lines, a function over MAX_FUNC lines (its body, from
# the opening brace to the closing one; seckit's style puts both at the
# start of a line).
#
#   scripts/code-size.sh [FILE...]        (default: src/*/*.[ch] cmd/*.[ch])
#
# Prints one line per offender,
#   file src/x.c: 1043 lines
#   function src/x.c:120 name: 131 lines
# and exits 1 if there is any.
set -eu
cd "$(dirname "$0")/.." || exit 2
MAX_LINES=${MAX_LINES:-1000}
MAX_FUNC=${MAX_FUNC:-120}
if [ $# -eq 0 ]; then
	set -- src/*/*.[ch] cmd/*.[ch]
fi
awk -v maxl="$MAX_LINES" -v maxf="$MAX_FUNC" '
	FNR == 1 { if (prev != "" && plines > maxl) print "file " prev ": " plines " lines"; prev = FILENAME; sig = "" }
	{ plines = FNR }
	# A definition starts at column 0 with a name followed by "(".
	/^[A-Za-z_][A-Za-z0-9_ *]*[ *]([A-Za-z_][A-Za-z0-9_]*)\(/ && !/;[ \t]*$/ {
		sig = $0; sub(/\(.*/, "", sig); sub(/.*[ *]/, "", sig); sigline = FNR
	}
	/^\{/ { start = FNR; name = sig; at = sigline }
	/^\}/ && start {
		n = FNR - start + 1
		if (n > maxf) print "function " FILENAME ":" at " " name ": " n " lines"
		start = 0
	}
	END { if (prev != "" && plines > maxl) print "file " prev ": " plines " lines" }
' "$@" | { found=0; while IFS= read -r l; do echo "$l"; found=1; done; [ "$found" = 0 ]; }
