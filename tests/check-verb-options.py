#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A verb reads only the options it declares; no verb takes a spelling twice.

    check-verb-options.py SPEC cmd/*.c

A misspelt OPT_ident does not compile, but a verb could still read an
option its table does not list: it would always be NULL.  For every verb
row (SK_VERB) of each cmd/*.c file, this follows the verb's function
through the static functions of its file that it calls, collects the
OPT_ identifiers they read, and reports those missing from the verb's
option table (SK_OPTIONS).  SPEC (`seckit --dump-spec`) is checked for
long names and short letters given twice to one verb, counting the
global options every verb takes.  One line per problem; exit status 1.
"""
import re
import sys


def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", lambda m: "\n" * m.group(0).count("\n"), text, flags=re.S)
    return re.sub(r'"(?:\\.|[^"\\])*"', '""', text)


def functions(text):
    """{name: body} of the functions defined at the top level."""
    out = {}
    for m in re.finditer(r"^(?:static\s+)?[A-Za-z_][\w\s\*]*?\b(\w+)\(([^;{}]*)\)\s*\n\{(.*?)^\}",
                         text, flags=re.S | re.M):
        out[m.group(1)] = m.group(3)
    return out


def main():
    spec, files = sys.argv[1], sys.argv[2:]
    bad = []
    for path in files:
        raw = open(path).read()
        text = strip_comments(raw)
        macros = {m.group(1): set(re.findall(r"\bOPT_\w+", m.group(2)))
                  for m in re.finditer(r"^#define\s+(\w+)(?:\([^)]*\))?\s+(.*)$", raw, flags=re.M)}
        tables = {}
        for m in re.finditer(r"struct sk_verbopt\s+(\w+)\[\]\s*=\s*\{(.*?)\};", raw, flags=re.S):
            ids = set(re.findall(r"\bOPT_\w+", m.group(2)))
            for word in re.findall(r"\b[A-Z_][A-Z0-9_]*\b", m.group(2)):
                ids |= macros.get(word, set())
            tables[m.group(1)] = ids
        funcs = functions(text)
        calls = {f: {g for g in re.findall(r"\b(\w+)\s*\(", body) if g in funcs and g != f}
                 for f, body in funcs.items()}
        reads = {f: set(re.findall(r"\bOPT_\w+", body)) for f, body in funcs.items()}
        for m in re.finditer(r"SK_VERB\(\s*\"([^\"]*)\",\s*(\w+),(.*?)(?=SK_VERB\(|\};)", raw,
                             flags=re.S):
            verb, fn, rest = m.group(1), m.group(2), m.group(3)
            if fn == "NULL":
                continue
            t = re.search(r"SK_OPTIONS\((\w+)\)", rest)
            declared = tables.get(t.group(1), set()) if t else set()
            if t and t.group(1) not in tables:
                bad.append("%s: verb %s: no option table %s" % (path, verb, t.group(1)))
            seen, todo, used = set(), [fn], set()
            while todo:
                f = todo.pop()
                if f in seen or f not in funcs:
                    continue
                seen.add(f)
                used |= reads[f]
                todo.extend(calls[f])
            if fn not in funcs:
                bad.append("%s: verb %s: no function %s" % (path, verb, fn))
            for o in sorted(used - declared):
                bad.append("%s: verb %s (%s) reads %s, which its table does not declare"
                           % (path, verb, fn, o))
    # spellings: per verb, with the global options
    opts = {}
    for line in open(spec):
        f = line.rstrip("\n").split("\t")
        if f[0] == "option":
            opts.setdefault(f[1], []).append((f[2], f[3]))
    glob = opts.get("seckit", [])
    for p, lst in opts.items():
        every = lst + (glob if p != "seckit" else [])
        longs = [o[0] for o in every]
        shorts = [o[1] for o in every if o[1] != "-"]
        for n in sorted({x for x in longs if longs.count(x) > 1}):
            bad.append("%s: %s is taken twice" % (p, n))
        for s in sorted({x for x in shorts if shorts.count(x) > 1}):
            bad.append("%s: -%s is taken twice" % (p, s))
    for b in bad:
        print(b)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
