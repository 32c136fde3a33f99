#!/usr/bin/env python3
"""Check seckit's --json output against docs/json.schema.json (tests/09-json.bats).

json-check.py SCHEMA --coverage SPEC CASES
    every verb of SPEC (seckit --dump-spec) has a definition in the schema
    and, in CASES (DEF|EXIT|ARGS lines), a case that succeeds and one that
    fails; every definition the cases name exists.
json-check.py SCHEMA --results RESULTS
    RESULTS: N<TAB>DEF<TAB>WANT<TAB>GOT<TAB>ARGS lines; out.N and err.N are
    the case's stdout and stderr.  Each case: the exit status wanted; stdout
    exactly one JSON object (one line); valid against the schema's
    definition DEF (spaces as "_"; "-" is "failure"); "ok" true exactly when
    the exit status is 0, else error.exit equal to it and error.code its
    name; stderr empty on success and one "seckit ..." line on failure (help
    text for a missing command, verb or argument).
"""
import json
import sys

import jsonschema

CODES = {1: "failure", 2: "usage", 3: "config", 4: "backend", 5: "auth",
         6: "unsupported", 7: "verification", 8: "not_found", 9: "exists"}
HELP_ON_STDERR = ("missing command", "missing verb", "missing argument")


def def_name(d):
    return "failure" if d == "-" else d.replace(" ", "_")


def leaf_verbs(spec):
    verbs = []
    for line in open(spec):
        f = line.rstrip("\n").split("\t")
        if f[0] in ("verb", "args"):
            verbs.append(f[1][len("seckit "):])
    # a group ("key password") is a prefix of its verbs
    return [v for v in verbs if not any(w.startswith(v + " ") for w in verbs)]


def coverage(schema, spec, cases):
    problems = []
    defs = schema["$defs"]
    seen = {}
    for line in open(cases):
        line = line.rstrip("\n")
        if not line:
            continue
        d, want, _ = line.split("|", 2)
        seen.setdefault(d, set()).add(int(want) == 0)
        if def_name(d) not in defs:
            problems.append("case '%s': no definition '%s' in the schema" % (line, def_name(d)))
    for v in leaf_verbs(spec):
        if def_name(v) not in defs:
            problems.append("verb '%s': no definition '%s' in the schema" % (v, def_name(v)))
        if True not in seen.get(v, ()):
            problems.append("verb '%s': no case that succeeds" % v)
        if False not in seen.get(v, ()):
            problems.append("verb '%s': no case that fails" % v)
    return problems


def one_document(text):
    """The one JSON object of stdout, or a problem string."""
    if not text.endswith("\n") or text.count("\n") != 1:
        return None, "stdout is not exactly one line: %r" % text[:300]
    try:
        doc = json.loads(text)
    except ValueError as e:
        return None, "stdout is not JSON (%s): %r" % (e, text[:300])
    if not isinstance(doc, dict):
        return None, "stdout is not a JSON object: %r" % text[:300]
    return doc, None


def error_of(doc):
    e = doc.get("error")
    return e if isinstance(e, dict) else {}


def results(schema, path):
    problems = []
    for line in open(path):
        n, d, want, got, args = line.rstrip("\n").split("\t", 4)
        want, got = int(want), int(got)
        out = open("out." + n, encoding="utf-8", errors="replace").read()
        err = open("err." + n, encoding="utf-8", errors="replace").read()
        where = "case %s (seckit --json %s)" % (n, args)
        p = []
        if got != want:
            p.append("exit status %d, expected %d" % (got, want))
        doc, bad = one_document(out)
        if bad:
            p.append(bad)
        else:
            sub = dict(schema)
            sub.pop("anyOf", None)
            sub["$ref"] = "#/$defs/" + def_name(d)
            v = jsonschema.Draft202012Validator(sub)
            e = jsonschema.exceptions.best_match(v.iter_errors(doc))
            if e is not None:
                p.append("schema '%s': %s at %s" % (def_name(d), e.message[:300],
                                                    "/".join(map(str, e.absolute_path)) or "top"))
            if doc.get("ok") is not (got == 0):
                p.append('"ok" is %r with exit status %d' % (doc.get("ok"), got))
            if got != 0:
                e = error_of(doc)
                if e.get("exit") != got:
                    p.append('error.exit %r, exit status %d' % (e.get("exit"), got))
                if e.get("code") != CODES.get(got):
                    p.append('error.code %r for exit status %d' % (e.get("code"), got))
        lines = [x for x in err.split("\n") if x]
        if got == 0 and lines:
            p.append("stderr on success: %r" % err[:300])
        elif got != 0 and doc is not None and error_of(doc).get("message") not in HELP_ON_STDERR:
            if len(lines) != 1 or not lines[0].startswith("seckit"):
                p.append("expected one error line on stderr, got %r" % err[:300])
            elif "unknown error" in err:
                p.append("stderr says 'unknown error': %r" % err)
        problems += ["%s: %s\n    stdout: %s" % (where, x, out.strip()[:400]) for x in p]
    return problems


def main():
    schema = json.load(open(sys.argv[1]))
    jsonschema.Draft202012Validator.check_schema(schema)
    if sys.argv[2] == "--coverage":
        problems = coverage(schema, sys.argv[3], sys.argv[4])
    elif sys.argv[2] == "--results":
        problems = results(schema, sys.argv[3])
    else:
        sys.exit("usage: json-check.py SCHEMA --coverage SPEC CASES | --results RESULTS")
    for x in problems:
        print(x)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
