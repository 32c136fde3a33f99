#!/usr/bin/env python3
"""What can be checked of the seckit recipe without BitBake.

  check-recipe.py syntax RECIPE            every line is BitBake syntax this
                                           recipe may use
  check-recipe.py vars RECIPE MAKEFILE     every variable EXTRA_OEMAKE and
                                           PACKAGECONFIG pass is one the
                                           Makefile reads
  check-recipe.py make-args RECIPE         the path variables EXTRA_OEMAKE
                                           passes, expanded with OE's default
                                           paths, one NAME=VALUE a line
  check-recipe.py make-targets RECIPE      the targets do_install makes
  check-recipe.py files RECIPE DESTDIR     every file `make install` put in
                                           DESTDIR is claimed by a package's
                                           FILES, and every FILES entry of
                                           the recipe matches something

One line per problem on stderr; exit 1 when there is one, 2 on usage.
"""
import fnmatch
import os
import re
import sys

# OE's defaults (bitbake.conf) for what the recipe's values name.
OE = {
    "prefix": "/usr", "exec_prefix": "/usr", "bindir": "/usr/bin",
    "sbindir": "/usr/sbin", "libdir": "/usr/lib", "libexecdir": "/usr/libexec",
    "datadir": "/usr/share", "mandir": "/usr/share/man",
    "docdir": "/usr/share/doc", "infodir": "/usr/share/info",
    "includedir": "/usr/include", "sysconfdir": "/etc",
    "localstatedir": "/var", "base_libdir": "/lib", "PN": "seckit",
    "systemd_system_unitdir": "/lib/systemd/system", "INIT_D_DIR": "/etc/init.d",
}
# Packages and FILES from bitbake.conf and the classes the recipe
# inherits, in the order packaging assigns files (first match wins).
DEFAULT_FILES = {
    "${PN}-dbg": ["/usr/src/debug", "${bindir}/.debug", "${libdir}/.debug",
                  "${libdir}/ossl-modules/.debug"],
    "${PN}-staticdev": ["${libdir}/*.a"],
    "${PN}-dev": ["${includedir}", "${libdir}/lib*.so", "${libdir}/pkgconfig"],
    "${PN}-doc": ["${docdir}", "${mandir}", "${infodir}"],
    "${PN}-locale": ["${datadir}/locale"],
    "${PN}-bash-completion": ["${datadir}/bash-completion"],
}

ASSIGN = re.compile(r'^(export\s+)?([A-Za-z0-9_${}.:/+-]+(\[[A-Za-z0-9_-]+\])?)\s*'
                    r'(\?\?=|\?=|:=|\+=|=\+|\.=|=\.|=)\s*"(.*)"\s*$', re.S)


def logical_lines(text):
    """Join continued lines; keep function bodies whole."""
    out, cur, func = [], "", None
    for n, line in enumerate(text.splitlines(), 1):
        if func is not None:
            func[1].append(line)
            if line.rstrip() == "}":
                out.append((func[0], "\n".join(func[1])))
                func = None
            continue
        if not cur and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if not cur and re.match(r'^(python\s+)?[a-z_][a-z0-9_:-]*\s*\(\)\s*\{\s*$', line):
            func = (n, [line])
            continue
        if line.endswith("\\"):
            cur += line[:-1] + " "
            continue
        out.append((n, cur + line))
        cur = ""
    if func is not None or cur:
        out.append((-1, "unterminated function or continued line at the end"))
    return out


def parse(path):
    """The recipe's assignments {name: [values]} and syntax problems."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    values, problems, funcs = {}, [], []
    for n, line in logical_lines(text):
        if n < 0:
            problems.append("%s: %s" % (path, line))
            continue
        if "\n" in line:
            funcs.append(line.split("(")[0].strip())
            values["function:" + funcs[-1]] = [line]
            continue
        if re.match(r'^inherit(\s+[a-z0-9_.-]+)+\s*$', line):
            values.setdefault("inherit", []).extend(line.split()[1:])
            continue
        m = ASSIGN.match(line)
        if not m:
            problems.append("%s:%d: not an assignment, inherit or function: %s" % (path, n, line.strip()))
            continue
        if m.group(5).count('"') % 2:
            problems.append("%s:%d: unbalanced quotes" % (path, n))
        values.setdefault(m.group(2), []).append(m.group(5))
    values["functions"] = funcs
    return values, problems


def expand(s, extra=None):
    env = dict(OE)
    env.update(extra or {})
    for _ in range(5):
        s = re.sub(r'\$\{([A-Za-z0-9_]+)\}', lambda m: env.get(m.group(1), m.group(0)), s)
    return s


def oemake_args(values):
    """NAME=VALUE words of EXTRA_OEMAKE, quotes removed."""
    words = re.findall(r"([A-Z][A-Z0-9_]*)=('[^']*'|\S*)", " ".join(values.get("EXTRA_OEMAKE", [])))
    return [(k, v.strip("'")) for k, v in words]


def makefile_reads(makefile):
    with open(makefile, encoding="utf-8") as f:
        text = f.read()
    return set(re.findall(r'\$\(([A-Z][A-Z0-9_]*)\)', text)) | \
        set(re.findall(r'^([A-Z][A-Z0-9_]*)\s*\?=', text, re.M)) | \
        set(re.findall(r'\$\((?:origin|findstring [^,]*,)\s*\$?\(?([A-Z][A-Z0-9_]*)', text))


def make_targets(values):
    """The targets of do_install's oe_runmake lines (words without '=')."""
    targets = []
    for body in values.get("function:do_install", []):
        for m in re.finditer(r'^\s*oe_runmake\s+(.*)$', body, re.M):
            targets += [w for w in m.group(1).split() if "=" not in w]
    return targets


def check_vars(values, makefile):
    reads = makefile_reads(makefile)
    problems = []
    names = [k for k, _ in oemake_args(values)]
    for k, v in values.items():
        if k.startswith("PACKAGECONFIG["):
            for field in v[0].split(",")[:2]:
                names += re.findall(r'([A-Z][A-Z0-9_]*)=', field)
    names.append("DESTDIR")  # do_install passes it
    for k in names:
        if k not in reads:
            problems.append("recipe passes %s, which %s does not read" % (k, makefile))
    if not any(n == "PACKAGECONFIG_CONFARGS" or "PACKAGECONFIG_CONFARGS" in v
               for n, vs in values.items() for v in vs if n == "EXTRA_OEMAKE"):
        problems.append("EXTRA_OEMAKE does not pass ${PACKAGECONFIG_CONFARGS}")
    return problems


def package_files(values):
    pkgs = dict(DEFAULT_FILES)
    order = list(DEFAULT_FILES)
    before = expand(" ".join(values.get("PACKAGE_BEFORE_PN", []))).split()
    for p in before:
        order.append(p.replace("seckit", "${PN}", 1))
    order.append("${PN}")
    own = {}
    for k, v in values.items():
        m = re.match(r'^FILES:(.+)$', k)
        if m:
            own[m.group(1)] = " ".join(v).split()
            pkgs[m.group(1)] = own[m.group(1)]
    return [(p, [expand(x) for x in pkgs.get(p, [])]) for p in order], own


def matches(pattern, path):
    return path == pattern or path.startswith(pattern.rstrip("/") + "/") or \
        fnmatch.fnmatchcase(path, pattern)


def check_files(values, destdir):
    pkgs, own = package_files(values)
    installed = []
    for root, dirs, files in os.walk(destdir):
        for f in files + [d for d in dirs if os.path.islink(os.path.join(root, d))]:
            installed.append("/" + os.path.relpath(os.path.join(root, f), destdir))
    problems, used = [], set()
    for path in sorted(installed):
        for pkg, pats in pkgs:
            hit = [p for p in pats if matches(p, path)]
            if hit:
                used.update((pkg, h) for h in hit)
                break
        else:
            problems.append("installed but in no package: %s" % path)
    for pkg, pats in own.items():
        for p in pats:
            if (pkg, expand(p)) not in used:
                problems.append("FILES:%s entry %s matches nothing installed" % (pkg, p))
    return problems


def main(argv):
    if len(argv) < 3 or argv[1] not in ("syntax", "vars", "make-args", "make-targets", "files"):
        sys.stderr.write(__doc__)
        return 2
    values, problems = parse(argv[2])
    if argv[1] == "vars":
        problems += check_vars(values, argv[3])
    elif argv[1] == "files":
        problems += check_files(values, argv[3])
    elif argv[1] == "make-args":
        for k, v in oemake_args(values):
            if k in ("PREFIX", "BINDIR", "MANDIR", "DATADIR", "SYSCONFDIR", "MODULESDIR",
                     "LIBEXECDIR", "SYSTEMDUNITDIR", "INITDIR"):
                print("%s=%s" % (k, expand(v)))
    elif argv[1] == "make-targets":
        targets = make_targets(values)
        if not targets:
            problems.append("%s: do_install runs no oe_runmake target" % argv[2])
        print(" ".join(targets))
    for p in problems:
        sys.stderr.write("check-recipe: %s\n" % p)
    return 1 if problems else 0


sys.exit(main(sys.argv))
