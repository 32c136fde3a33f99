#!/usr/bin/env bats
# Documentation and completions move with the code: every command, verb and
# option the binary accepts (seckit --dump-spec, straight from the option
# tables) is in the man pages and the completion scripts; the completions
# are current and work; man pages are lint clean; scripts are shellcheck
# clean; make install puts everything in place.

load helper

# The rendered text of a man page, without formatting.
rendered() {
	mandoc -Tascii "$1" | col -b
}

@test "completions are current (make completions regenerates the committed files)" {
	mkdir gen
	run -0 "$SECKIT_SRC/scripts/gen-completions.sh" "$SECKIT" gen
	for f in seckit.bash _seckit seckit.fish; do
		run -0 diff -u "$SECKIT_SRC/completions/$f" "gen/$f"
	done
}

@test "every command, verb and option is in the man pages" {
	require mandoc col
	"$SECKIT" --dump-spec > spec
	rendered "$SECKIT_SRC/man/seckit.1" > seckit.txt
	missing=""
	while IFS="$(printf '\t')" read -r kind path rest; do
		set -- $path
		case $kind in
		command)
			page="$SECKIT_SRC/man/seckit-$2.1"
			if [ ! -f "$page" ]; then
				missing="$missing\n  man/seckit-$2.1 (command $2)"
				continue
			fi
			grep -q "seckit-$2(1)" seckit.txt || missing="$missing\n  seckit(1) does not refer to seckit-$2(1)"
			;;
		verb)
			[ -f "$SECKIT_SRC/man/seckit-$2.1" ] || continue
			rendered "$SECKIT_SRC/man/seckit-$2.1" > page.txt
			shift 2
			grep -qF -- "$*" page.txt || missing="$missing\n  verb '$*' in seckit-$2(1)"
			;;
		option)
			opt=${rest%%$(printf '\t')*}
			if [ "$path" = seckit ]; then
				grep -qF -- "$opt" seckit.txt || missing="$missing\n  global option $opt in seckit(1)"
			else
				[ -f "$SECKIT_SRC/man/seckit-$2.1" ] || continue
				rendered "$SECKIT_SRC/man/seckit-$2.1" > page.txt
				grep -qF -- "$opt" page.txt || missing="$missing\n  $path $opt in seckit-$2(1)"
			fi
			;;
		esac
	done < spec
	if [ -n "$missing" ]; then
		printf "missing from the man pages:$missing\n" >&2
		return 1
	fi
}

@test "man pages and option tables agree both ways: each option shown exists there, with its short letter and metavar, and each option is shown" {
	"$SECKIT" --dump-spec > spec
	"$SECKIT" --help > help
	run -0 python3 "$SECKIT_SRC/tests/check-man-options.py" spec help "$SECKIT_SRC/man"
	[ -z "$output" ]
	# The check sees a metavar, a short letter and an option that disagree.
	cp -r "$SECKIT_SRC/man" m
	sed -i 's/^\.It Fl i , Fl -in Ar FILE$/.It Fl i , Fl -in Ar DATA/; s/^\.It Fl o , Fl -out Ar FILE$/.It Fl x , Fl -out Ar FILE/' m/seckit-key.1
	sed -i 's/^\.It Fl -names$/.It Fl -names , Fl -nosuch/' m/seckit-store.1
	sed -i '/^\.It Fl -seq Ar N$/d' m/seckit-stp.1
	run -1 python3 "$SECKIT_SRC/tests/check-man-options.py" spec help m
	[[ "$output" == *"seckit key sign .It shows --in with DATA (the metavar is FILE)"* ]]
	[[ "$output" == *"seckit key sign .It shows -x for --out (the short option is o)"* ]]
	[[ "$output" == *"seckit store list .It shows --nosuch, which it does not take"* ]]
	[[ "$output" == *"seckit stp make takes --seq, which its entry does not describe"* ]]
}

@test "a verb reads only the options its table declares, and takes no spelling twice" {
	"$SECKIT" --dump-spec > spec
	run -0 python3 "$SECKIT_SRC/tests/check-verb-options.py" spec "$SECKIT_SRC"/cmd/*.c
	[ -z "$output" ]
	# The check sees a read of an undeclared option, also through a helper.
	sed 's/sk_opt_flag(a, OPT_pss), dgst, dlen, &sig)/sk_opt_flag(a, OPT_force), dgst, dlen, \&sig)/;
	     s/^\(\treq->pass_spec = sk_opt_str(a, OPT_pass);\)$/\1 (void)sk_opt_str(a, OPT_in_pass);/' \
		"$SECKIT_SRC/cmd/key.c" > key.c
	printf 'option\tseckit x y\t--in\ti\tFILE\tfile\noption\tseckit x y\t--info\ti\tFILE\tfile\n' >> spec
	run -1 python3 "$SECKIT_SRC/tests/check-verb-options.py" spec key.c
	[[ "$output" == *"verb sign (key_sign) reads OPT_force, which its table does not declare"* ]]
	[[ "$output" == *"verb create (key_create) reads OPT_in_pass, which its table does not declare"* ]]
	[[ "$output" == *"seckit x y: -i is taken twice"* ]]
}

@test "every command, verb and option is in all three completion scripts" {
	"$SECKIT" --dump-spec > spec
	missing=""
	while IFS="$(printf '\t')" read -r kind path rest; do
		for f in seckit.bash _seckit; do
			grep -qF -- "$(printf '%s\t%s\t' "$kind" "$path")" "$SECKIT_SRC/completions/$f" ||
				missing="$missing\n  $f: $kind $path"
		done
		case $kind in
		command | verb)
			grep -qF -- "-a ${path##* } " "$SECKIT_SRC/completions/seckit.fish" ||
				missing="$missing\n  seckit.fish: $kind $path"
			;;
		option)
			opt=${rest%%$(printf '\t')*}
			grep -qF -- "-l ${opt#--}" "$SECKIT_SRC/completions/seckit.fish" ||
				missing="$missing\n  seckit.fish: $path $opt"
			;;
		esac
	done < spec
	if [ -n "$missing" ]; then
		printf "missing from the completions:$missing\n" >&2
		return 1
	fi
}

@test "every exit code of src/base/err.h is documented in seckit(1) and every command in README.md" {
	require mandoc col
	rendered "$SECKIT_SRC/man/seckit.1" | sed -n '/^EXIT STATUS/,/^[A-Z]/p' > exit.txt
	codes=$(sed -n 's/^[[:space:]]*SK_[A-Z]* = \([0-9]*\),.*/\1/p' "$SECKIT_SRC/src/base/err.h")
	[ "$(echo "$codes" | wc -l)" -eq 10 ]
	for c in $codes; do
		grep -Eq "^[[:space:]]+$c[[:space:]]+[a-z]" exit.txt || { echo "exit code $c not in EXIT STATUS" >&2; return 1; }
	done
	"$SECKIT" --dump-spec > spec
	awk -F '\t' '$1 == "command" { split($2, a, " "); print a[2] }' spec > cmds
	while read -r c; do
		grep -q "seckit $c" "$SECKIT_SRC/README.md" || { echo "README.md does not show 'seckit $c'" >&2; return 1; }
	done < cmds
}

@test "man pages are mandoc -Tlint clean" {
	require mandoc
	run -0 mandoc -Tlint -Wwarning "$SECKIT_SRC"/man/*.1
	[ -z "$output" ]
}

@test "scripts are shellcheck clean" {
	require shellcheck
	cd "$SECKIT_SRC"
	run -0 shellcheck -x scripts/*.sh tests/*.bash bench/*.sh .ci/run completions/seckit.bash
}

# Completion functions call `seckit __complete key` for key names.
with_seckit_on_path() {
	mkdir -p bin
	ln -sf "$SECKIT" bin/seckit
	export PATH="$BATS_TEST_TMPDIR/bin:$PATH"
	sk key create device --type ec-p256
	sk key create backup --type aes-256
}

@test "bash completion completes verbs, options, option values and key names" {
	require bash
	with_seckit_on_path
	comp() {
		bash -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _seckit; printf "%s\n" "${COMPREPLY[@]}"' \
			_ "$SECKIT_SRC/completions/seckit.bash" "$@"
	}
	run -0 comp seckit key s
	[ "$output" = sign ]
	run -0 comp seckit k
	[ "$output" = key ]
	run -0 comp seckit key password ""
	[ "$output" = "$(printf 'create\ndelete\nlist\nusers')" ]
	run -0 comp seckit key sign --d
	[ "$output" = --digest ]
	run -0 comp seckit key create x --type ec-p3
	[ "$output" = ec-p384 ]
	run -0 comp seckit key sign ""
	[ "$output" = "$(printf 'backup\ndevice')" ]
	run -0 comp seckit --store "$SECKIT_STORE" key encrypt b
	[ "$output" = backup ]
	run -0 comp seckit-key ver
	[ "$output" = verify ]
}

# Complete LINE (the cursor at its end) with the bash completion, as bash
# does: COMP_WORDS split at blanks and at ':' and '=' (COMP_WORDBREAKS),
# COMP_LINE and COMP_POINT set; prints COMPREPLY, one per line.
bash_comp_line() {
	bash -c 'source "$1"; COMP_LINE=$2; COMP_POINT=${#2}
		read -ra parts <<< "$COMP_LINE"; COMP_WORDS=()
		for p in "${parts[@]}"; do
			while [[ $p == *[:=]* ]]; do
				pre=${p%%[:=]*}
				[ -z "$pre" ] || COMP_WORDS+=("$pre")
				COMP_WORDS+=("${p:${#pre}:1}"); p=${p:${#pre}+1}
			done
			[ -z "$p" ] || COMP_WORDS+=("$p")
		done
		[[ $COMP_LINE != *" " ]] || COMP_WORDS+=("")
		COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
		_seckit; printf "%s\n" "${COMPREPLY[@]}"' _ "$SECKIT_SRC/completions/seckit.bash" "$1"
}

# A second store, other/, holding the key "otherkey" only.
other_store() {
	SECKIT_STORE="$PWD/other" sk key create otherkey --type ec-p256
}

@test "bash completion: names come from the --store, --config and SECKIT_STORE the command would use" {
	require bash
	with_seckit_on_path
	other_store
	run -0 bash_comp_line "seckit key sign "
	[ "$output" = "$(printf 'backup\ndevice')" ]
	run -0 bash_comp_line "seckit --store $PWD/other key sign "
	[ "$output" = otherkey ]
	run -0 bash_comp_line "seckit --store=$PWD/other key sign o"
	[ "$output" = otherkey ]
	# A global option after the verb counts too, and a later one wins.
	run -0 bash_comp_line "seckit key sign --store $PWD/other "
	[ "$output" = otherkey ]
	run -0 bash_comp_line "seckit --store /nonexistent key sign "
	[ -z "$output" ]
	# --config: the config's store (no SECKIT_STORE to override it).
	printf 'store: %s\n' "$PWD/other" > other.yaml
	SECKIT_STORE="" run -0 bash_comp_line "seckit --config $PWD/other.yaml key export "
	[ "$output" = otherkey ]
	# ~ as the shell would expand it.
	ln -s "$PWD/other" "$HOME/st"
	run -0 bash_comp_line "seckit --store ~/st key info "
	[ "$output" = otherkey ]
	# The names are asked of the program on the line (a link's seckit).
	mkdir sub
	ln -s "$SECKIT" sub/seckit
	ln -s seckit sub/seckit-key
	PATH=/usr/bin:/bin run -0 bash_comp_line "sub/seckit-key sign --store $PWD/other "
	[ "$output" = otherkey ]
}

@test "bash completion: sourcing starts no program, a TAB on names starts seckit __complete once" {
	require bash strace
	with_seckit_on_path
	cat > tab.sh <<-'SH'
	source "$1"
	COMP_LINE="seckit key sign " COMP_POINT=16 COMP_WORDS=(seckit key sign "") COMP_CWORD=3
	_seckit
	printf '%s\n' "${COMPREPLY[@]}"
	SH
	run -0 strace -f -qq -e trace=execve -e signal=none -o trace bash tab.sh "$SECKIT_SRC/completions/seckit.bash"
	[ "$output" = "$(printf 'backup\ndevice')" ]
	# bash itself, then seckit: no awk, cat or sed, one seckit.
	run -0 grep -c 'execve(' trace
	[ "$output" = 2 ]
	grep -q 'execve("[^"]*seckit", \["seckit", "__complete", "key", ""\]' trace
}

@test "bash completion: every secret option offers pass: env: file: fd: prompt" {
	require bash
	with_seckit_on_path
	"$SECKIT" --dump-spec > spec
	# Every SPEC is a secret: found from the option tables (SK_SECRET).
	run -0 awk -F '\t' '$1 == "option" && $5 == "SPEC" && $6 != "secret" { print $2, $3 }' spec
	[ -z "$output" ]
	awk -F '\t' '$1 == "option" && $6 == "secret" { print $2 "\t" $3 }' spec > secrets
	[ "$(wc -l < secrets)" -ge 7 ]
	while IFS=$'\t' read -r path opt; do
		run -0 bash_comp_line "$path $opt "
		[ "$output" = "$(printf 'pass:\nenv:\nfile:\nfd:\nprompt')" ]
	done < secrets
	run -0 bash_comp_line "seckit key sign device --pass f"
	[ "$output" = "$(printf 'file:\nfd:')" ]
	# After the ':' bash replaces only what follows it.
	export SECKIT_TEST_SECRET_VAR=x
	run -0 bash_comp_line "seckit key sign device --pass env:SECKIT_TEST_SEC"
	[ "$output" = SECKIT_TEST_SECRET_VAR ]
	echo pw > pwfile
	run -0 bash_comp_line "seckit store read x --pass file:pwf"
	[ "$output" = pwfile ]
}

@test "bash completion: the seckit-COMMAND links complete as seckit COMMAND" {
	require bash
	with_seckit_on_path
	sk store write note --in /dev/null
	"$SECKIT" --dump-spec > spec
	awk -F '\t' '$1 == "command" { split($2, a, " "); print a[2] }' spec > cmds
	while read -r c; do
		run -0 bash -c 'source "$1"; complete -p "seckit-$2"' _ "$SECKIT_SRC/completions/seckit.bash" "$c"
		[ "$output" = "complete -F _seckit seckit-$c" ]
	done < cmds
	run -0 bash_comp_line "seckit-key sign "
	[ "$output" = "$(printf 'backup\ndevice')" ]
	run -0 bash_comp_line "seckit-store read "
	[ "$output" = note ]
	run -0 bash_comp_line "seckit-key sign device -d sha38"
	[ "$output" = sha384 ]
	run -0 bash_comp_line "seckit-opaque-key im"
	[ "$output" = import ]
}

@test "fish completion completes verbs, options and key names" {
	require fish
	with_seckit_on_path
	run -0 fish -n "$SECKIT_SRC/completions/seckit.fish"
	comp() {
		fish -c "source '$SECKIT_SRC/completions/seckit.fish'; complete -C'$1'" | cut -f 1
	}
	run -0 comp "seckit key s"
	[ "$output" = sign ]
	run -0 comp "seckit key sign --d"
	[ "$output" = --digest ]
	run -0 comp "seckit key sign "
	[ "$output" = "$(printf 'backup\ndevice')" ]
	run -0 comp "seckit key export device --format "
	[ "$output" = "$(printf 'der\npem')" ]
	run -0 comp "seckit key password "
	[[ "$output" == *users* ]]
	# The seckit-COMMAND links, the line's --store, secret options.
	run -0 comp "seckit-key sign "
	[ "$output" = "$(printf 'backup\ndevice')" ]
	run -0 comp "seckit-key ver"
	[ "$output" = verify ]
	run -0 comp "seckit-cert li"
	[ "$output" = list ]
	other_store
	run -0 comp "seckit --store $PWD/other key sign "
	[ "$output" = otherkey ]
	run -0 comp "seckit key sign device --pass "
	[ "$output" = "$(printf 'env:\nfd:\nfile:\npass:\nprompt')" ]
}

@test "zsh completion parses, and completes through compsys in a real interactive zsh (zpty)" {
	require zsh
	with_seckit_on_path
	run -0 zsh -n "$SECKIT_SRC/completions/_seckit"
	# An interactive zsh on a pseudo-terminal with compinit and the file
	# autoloaded from $fpath, as when installed; the line is typed with a
	# TAB, then ^X prints the edit buffer the completion left.
	cat > comp.zsh <<-'ZSH'
	zmodload zsh/zpty
	zpty z zsh -f -i
	zpty -w z "PS1='%% '; fpath=($1 \$fpath); autoload -Uz compinit; compinit -u -D; show() { print -r -- \"BUF:\$BUFFER:END\"; }; zle -N show; bindkey '^X' show"
	zpty -w -n z "$2"$'\t\x18'
	zpty -r z out '*BUF:s*:END*'
	zpty -d z
	out=${out##*BUF:}
	print -r -- "${out%%:END*}"
	ZSH
	comp() {
		timeout 20 zsh -f comp.zsh "$SECKIT_SRC/completions" "$1"
	}
	run -0 comp "seckit key si"
	[ "$output" = "seckit key sign " ]
	run -0 comp "seckit key sign dev"
	[ "$output" = "seckit key sign device " ]
	run -0 comp "seckit-key ver"
	[ "$output" = "seckit-key verify " ]
	run -0 comp "seckit key sign device --dig"
	[ "$output" = "seckit key sign device --digest " ]
	run -0 comp "seckit key export device --format d"
	[ "$output" = "seckit key export device --format der " ]
	run -0 comp "seckit key import x --in comp.z"
	[ "$output" = "seckit key import x --in comp.zsh " ]
	run -0 comp "seckit key password cr"
	[ "$output" = "seckit key password create " ]
	other_store
	run -0 comp "seckit --store $PWD/other key sign o"
	[ "$output" = "seckit --store $PWD/other key sign otherkey " ]
	run -0 comp "seckit key sign device --pass fi"
	[ "$output" = "seckit key sign device --pass file:" ]
	run -0 comp "seckit-store wr"
	[ "$output" = "seckit-store write " ]
}

@test "make install puts the binary, a link per command, man pages, completions and the example config and manifest in place" {
	require make
	dest="$BATS_TEST_TMPDIR/dest"
	run -0 make -s -C "$SECKIT_SRC" install DESTDIR="$dest" PREFIX=/usr
	[ -x "$dest/usr/bin/seckit" ]
	"$SECKIT" --dump-spec > spec
	awk -F '\t' '$1 == "command" { split($2, a, " "); print a[2] }' spec > cmds
	while read -r c; do
		[ "$(readlink "$dest/usr/bin/seckit-$c")" = seckit ]
		[ -f "$dest/usr/share/man/man1/seckit-$c.1" ]
	done < cmds
	[ -f "$dest/usr/share/man/man1/seckit.1" ]
	[ -f "$dest/usr/share/bash-completion/completions/seckit" ]
	[ -f "$dest/usr/share/zsh/site-functions/_seckit" ]
	[ -f "$dest/usr/share/fish/vendor_completions.d/seckit.fish" ]
	[ -f "$dest/usr/share/doc/seckit/config.example.yaml" ]
	cmp "$SECKIT_SRC/manifest.example.yaml" "$dest/usr/share/doc/seckit/manifest.example.yaml"
	# The installed link dispatches to its command.
	run -0 "$dest/usr/bin/seckit-key" create k1 --type ec-p256
	run -0 "$dest/usr/bin/seckit-key" list --names
	[ "$output" = k1 ]
	run -0 make -s -C "$SECKIT_SRC" uninstall DESTDIR="$dest" PREFIX=/usr
	[ -z "$(find "$dest" -type f -o -type l)" ]
}
