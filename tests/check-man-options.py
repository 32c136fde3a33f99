#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The man pages and the option tables agree, both ways.

    check-man-options.py SPEC HELP MANDIR

SPEC is `seckit --dump-spec`, HELP `seckit --help` (its global options
include --version and --dump-spec, which only seckit(1) shows).  For every verb (and the global options of
seckit(1)), the options its man page shows -- in the SYNOPSIS and in the
tag lines (.It) of the verb's entry -- must be options the verb takes,
with its short letter and metavar; and every option the verb takes must be
in its entry's tag lines.  A metavar may carry a file-name suffix
(FILE.oocfg for FILE), and an option with choices may show them instead
(Cm pem | der).  Prose is not checked: it may name other verbs' options.
Prints one line per disagreement; exit status 1 if there is any.
"""
import re
import shlex
import sys

MACROS = {"Fl", "Ar", "Cm", "Op", "Oo", "Oc", "Nm", "Ic", "Li", "Pq", "Po", "Pc", "Ns", "Ql",
          "Sx", "Xr", "No", "Em", "Dq", "Sq", "Ek", "Ev", "Pa", "Ta"}


def load_spec(path):
    """path ("seckit key sign") -> {long: (short, metavar, choices)}; verb paths."""
    opts, verbs = {}, []
    for line in open(path):
        f = line.rstrip("\n").split("\t")
        if f[0] == "option":
            choices = f[6].split() if len(f) > 6 else []
            opts.setdefault(f[1], {})[f[2][2:]] = (f[3], f[4], choices)
        elif f[0] == "verb" or f[0] == "args":
            opts.setdefault(f[1], {})
            verbs.append(f[1])
    return opts, verbs


def load_help(path):
    """The global options of `seckit --help`: {long: (short, metavar, [])}."""
    out, on = {}, False
    for line in open(path):
        if line.startswith("global options:"):
            on = True
            continue
        m = re.match(r"\s+(?:-(\w), )?--([a-z-]+)(?: (\S+))?\s{2,}", line) if on else None
        if m:
            out[m.group(2)] = (m.group(1) or "-", m.group(3) or "-", [])
        elif on and not line.strip():
            break
    return out


def tokens(line):
    try:
        return shlex.split(line[1:], posix=True)
    except ValueError:
        return line[1:].split()


def mentions(toks):
    """The options a macro line shows: [(long, short, value)], where value
    is ("ar", "FILE") or ("cm", [choices]) or None."""
    out, i, short = [], 0, None
    while i < len(toks):
        if toks[i] != "Fl" or i + 1 >= len(toks):
            i += 1
            continue
        name = toks[i + 1]
        i += 2
        if re.fullmatch(r"[A-Za-z0-9]", name):
            short = name  # "Fl o , Fl -out": the short form of the next one
            continue
        if not name.startswith("-"):
            short = None
            continue
        value = None
        if i < len(toks) and toks[i] in ("Ar", "Cm"):
            kind, words = toks[i], [toks[i + 1]] if i + 1 < len(toks) else []
            i += 2
            # "Ar PUB | ID", "Cm pem | der": alternatives of one value
            while i + 1 < len(toks) and toks[i] == "|" and toks[i + 1] not in MACROS:
                words.append(toks[i + 1])
                i += 2
            value = ("ar", "|".join(words)) if kind == "Ar" else ("cm", words)
        out.append((name[1:], short, value))
        if i < len(toks) and toks[i] == ",":
            i += 1
        short = None
    return out


def metavar_ok(value, metavar, choices):
    if value is None:
        return metavar == "-"
    kind, v = value
    if metavar == "-":
        return False
    if kind == "ar" and (v == metavar or v.startswith(metavar + ".")):
        return True
    words = v if kind == "cm" else v.split("|")
    return bool(choices) and all(w in choices for w in words)


def show(value):
    if value is None:
        return "no value"
    return value[1] if value[0] == "ar" else " | ".join(value[1])


def parse_page(text, cmd):
    """{verb path: [(long, short, value, where)]} for the synopsis, and the
    same for the tag lines of each verb's entry."""
    synopsis, tags = {}, {}
    section, subsection, current, depth, verb_depth = None, None, None, 0, None
    for line in text.splitlines():
        if not line.startswith("."):
            continue
        toks = tokens(line)
        if not toks:
            continue
        m = toks[0]
        if m == "Sh":
            section, subsection = " ".join(toks[1:]), None
            current, depth, verb_depth = None, 0, None
            continue
        if m == "Ss":
            subsection = " ".join(toks[1:])
            continue
        if section == "SYNOPSIS":
            if m == "Nm":
                current = None
                if len(toks) > 2 and toks[1] == "seckit" and cmd:
                    current = "seckit " + cmd  # a verb follows (or none)
                elif cmd is None:
                    current = "seckit"
            elif m == "Cm" and current is not None and current.count(" ") == 1:
                names = [t for t in toks[1:] if t != "|"]
                # "Cm password create": one verb of a group; "Cm encrypt | decrypt": two
                if "|" in toks:
                    current = [current + " " + n for n in names]
                else:
                    current = current + " " + " ".join(names)
            elif current is not None:
                for p in current if isinstance(current, list) else [current]:
                    for o in mentions(toks):
                        synopsis.setdefault(p, []).append(o + ("SYNOPSIS",))
            continue
        if m == "Bl":
            depth += 1
            continue
        if m == "El":
            if verb_depth is not None and depth == verb_depth:
                current, verb_depth = None, None
            depth -= 1
            continue
        if m != "It":
            continue
        # verbs are described under VERBS (or DESCRIPTION, Verbs), the
        # options of seckit(1) and of a command without verbs under OPTIONS
        if not (section in ("VERBS", "OPTIONS") or
                (section == "DESCRIPTION" and subsection == "Verbs")):
            continue
        if section == "OPTIONS":
            # the options of seckit(1) or of a command without verbs
            if verb_depth is None:
                verb_depth = depth
            current = ["seckit" if cmd is None else "seckit " + cmd]
        elif toks[1:2] == ["Cm"] and (verb_depth is None or depth == verb_depth):
            words = []
            for t in toks[2:]:
                if t in MACROS:
                    break
                words.append(t)
            if "|" in words:
                current = ["seckit %s %s" % (cmd, w) for w in words if w != "|"]
            else:
                current = ["seckit %s %s" % (cmd, " ".join(words))]
            verb_depth = depth
        if current is None:
            continue
        for p in current:
            for o in mentions(toks):
                tags.setdefault(p, []).append(o + (".It",))
    return synopsis, tags


def main():
    spec, helpfile, mandir = sys.argv[1], sys.argv[2], sys.argv[3]
    opts, verbs = load_spec(spec)
    for name, o in load_help(helpfile).items():
        opts.setdefault("seckit", {}).setdefault(name, o)
    bad = []
    pages = {}
    for path in ["seckit"] + verbs:
        cmd = None if path == "seckit" else path.split()[1]
        if cmd not in pages:
            name = "seckit.1" if cmd is None else "seckit-%s.1" % cmd
            try:
                text = open("%s/%s" % (mandir, name)).read()
            except OSError:
                bad.append("%s: no man page %s" % (path, name))
                pages[cmd] = ({}, {})
                continue
            pages[cmd] = parse_page(text, cmd)
    for path in ["seckit"] + verbs:
        cmd = None if path == "seckit" else path.split()[1]
        synopsis, tags = pages[cmd]
        page = "seckit.1" if cmd is None else "seckit-%s.1" % cmd
        have = opts.get(path, {})
        shown = synopsis.get(path, []) + tags.get(path, [])
        for name, short, value, where in shown:
            if name not in have:
                bad.append("%s: %s %s shows --%s, which it does not take" % (page, path, where, name))
                continue
            s, metavar, choices = have[name]
            if short is not None and short != s:
                bad.append("%s: %s %s shows -%s for --%s (the short option is %s)"
                           % (page, path, where, short, name, s))
            if not metavar_ok(value, metavar, choices):
                bad.append("%s: %s %s shows --%s with %s (the metavar is %s)"
                           % (page, path, where, name, show(value), metavar))
        tagged = {o[0]: o for o in tags.get(path, [])}
        for name, (s, metavar, choices) in have.items():
            if name not in tagged:
                bad.append("%s: %s takes --%s, which its entry does not describe"
                           % (page, path, name))
            elif s != "-" and not any(o[0] == name and o[1] == s for o in tags.get(path, [])):
                bad.append("%s: %s entry shows --%s without its short option -%s" % (page, path, name, s))
    for b in bad:
        print(b)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
