#!/bin/sh
# Import loops between the source files of src/ and cmd/: file A uses a
# function or variable that file B defines, and B one that A defines.  The
# call graph comes from the objects `make` built (nm: the global symbols
# each object defines and the ones it needs), so a static helper or a
# macro never counts and what the linker joins always does.
#
#   scripts/import-loops.sh [OBJDIR]      (default: build/ and the first word of build/config)
#
# Prints one line per loop,
#   src/a.c <-> src/b.c: a.c uses f g; b.c uses h
# then each group of three or more files that reach each other (a longer
# cycle, A -> B -> C -> A), and exits 1 if there is any loop.  With -g it prints the file graph instead ("A B": A
# uses B), one edge a line.
set -eu
cd "$(dirname "$0")/.." || exit 2
graph=0
if [ "${1:-}" = -g ]; then
	graph=1
	shift
fi
# The objects of the current build, of sources that still exist (an
# object outlives a source file that was removed or renamed).
own=0
if [ $# -eq 0 ]; then
	own=1
fi
dir=${1:-build/$(cut -d " " -f 1 build/config 2> /dev/null)}
set --
for o in "$dir"/src/*.o "$dir"/src/*/*.o "$dir"/cmd/*.o; do
	src=${o#"$dir"/}
	if [ -e "$o" ] && { [ "$own" = 0 ] || [ -e "${src%.o}.c" ]; }; then
		set -- "$@" "$o"
	fi
done
if [ $# -eq 0 ]; then
	echo "import-loops: no objects in $dir (run make)" >&2
	exit 2
fi

# "user definer symbol" for every symbol one object takes from another.
uses=$(nm -A -g "$@" | awk -v dir="$dir/" '
	{
		split($1, f, ":"); file = substr(f[1], length(dir) + 1); sub(/\.o$/, ".c", file)
		if ($2 == "U") { need[++n] = file " " $3 } else if (NF >= 3) { def[$NF] = file }
	}
	END {
		for (i = 1; i <= n; i++) {
			split(need[i], u, " ")
			if ((u[2] in def) && def[u[2]] != u[1])
				print u[1], def[u[2]], u[2]
		}
	}' | sort -u)

if [ "$graph" = 1 ]; then
	printf '%s\n' "$uses" | awk 'NF { print $1, $2 }' | sort -u
	exit 0
fi

loops=$(printf '%s\n' "$uses" | awk '
	NF { key = $1 " " $2; if (!(key in syms)) edge[++n] = key; syms[key] = syms[key] " " $3 }
	END {
		for (i = 1; i <= n; i++) {
			split(edge[i], e, " ")
			back = e[2] " " e[1]
			if ((back in syms) && e[1] < e[2]) {
				a = e[1]; b = e[2]; sub(/.*\//, "", a); sub(/.*\//, "", b)
				print e[1] " <-> " e[2] ": " a " uses" syms[edge[i]] "; " b " uses" syms[back]
			}
		}
	}')
# Longer cycles (A -> B -> C -> A): files that reach each other, from the
# transitive closure of the file graph; printed for groups of three or more.
cycles=$(printf '%s\n' "$uses" | awk '
	NF && !(($1, $2) in r) {
		r[$1, $2] = 1
		if (!($1 in id)) { id[$1] = ++n; name[n] = $1 }
		if (!($2 in id)) { id[$2] = ++n; name[n] = $2 }
	}
	END {
		for (i = 1; i <= n; i++) for (j = 1; j <= n; j++) c[i, j] = ((name[i], name[j]) in r)
		for (k = 1; k <= n; k++) for (i = 1; i <= n; i++) if (c[i, k])
			for (j = 1; j <= n; j++) if (c[k, j]) c[i, j] = 1
		for (i = 1; i <= n; i++) {
			if (done[i]) continue
			g = name[i]; m = 1
			for (j = i + 1; j <= n; j++)
				if (c[i, j] && c[j, i]) { g = g " " name[j]; m++; done[j] = 1 }
			if (m >= 3) print "cycle: " g
		}
	}')
status=0
if [ -n "$loops" ]; then
	printf '%s\n' "$loops"
	status=1
fi
if [ -n "$cycles" ]; then
	printf '%s\n' "$cycles"
	status=1
fi
exit $status
