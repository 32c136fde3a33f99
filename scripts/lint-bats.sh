#!/bin/sh
# Reject bats lines that can never fail a test.  bats runs a test under
# `set -e`: only a failing simple command, or the test's last command,
# fails it.  So these shapes assert less than they seem to:
#
#   and-chain   [ A ] && [ B ]      A is never checked (a failing left
#                                   side of && does not stop the shell)
#   negation    ! cmd               never fails, wherever it is
#   pipeline    sk ... | cmp - f    seckit's exit status is lost (only the
#                                   last stage of a pipeline counts)
#   run-status  run cmd             without -N, !, or a look at $status
#                                   before the next run: nothing checked
#
# Write one assertion per line, `run -N cmd` / `run ! cmd`, `[[ A && B ]]`,
# or the output to a file and then compare.  A chain that is a condition
# (`[ -d x ] && continue`, `cmd && rc=0 || rc=$?`, `if A && B; then`) is
# not an assertion and passes.
#
# Usage: scripts/lint-bats.sh FILE.bats...   (exit 1 and one line per
# finding, FILE:LINE: what, if anything is found)
set -eu
[ $# -gt 0 ] || { echo "usage: $0 FILE.bats..." >&2; exit 2; }
exec python3 - "$@" <<'EOF'
import re
import sys

SEPARATORS = {";", ";;", "&", "\n", "(", ")"}
KEYWORDS_SEP = {"then", "do", "else", "fi", "done", "esac", "{", "}"}
CONDITION = {"if", "elif", "while", "until"}
# Commands whose failure is the point: a chain ending in one of them is an
# assertion, not a condition.
CHECKS = {"[", "[[", "test", "!", "cmp", "diff", "grep", "run", "sk", "sk2",
          "sk_fails", '"$SECKIT"', "$SECKIT", '"${SECKIT}"'}
SECKIT = {"sk", "sk2", '"$SECKIT"', "$SECKIT", '"${SECKIT}"'}


class Scanner:
    """Splits a bats file into tokens: words (quotes, substitutions and
    [[ ]] kept whole), control operators and newlines; comments and here
    documents are dropped."""

    def __init__(self, text):
        self.s = text
        self.i = 0
        self.line = 1
        self.heredocs = []
        self.tokens = []

    def peek(self, k=0):
        j = self.i + k
        return self.s[j] if j < len(self.s) else ""

    def adv(self, n=1):
        for _ in range(n):
            if self.i < len(self.s) and self.s[self.i] == "\n":
                self.line += 1
            self.i += 1

    def skip_quoted(self, q):
        self.adv()
        while self.i < len(self.s) and self.peek() != q:
            if q == '"' and self.peek() == "\\":
                self.adv()
            elif q == '"' and self.peek() == "$" and self.peek(1) in "({":
                self.skip_dollar()
                continue
            elif q == '"' and self.peek() == "`":
                self.skip_quoted("`")
                continue
            self.adv()
        self.adv()

    def skip_group(self, open_, close):
        """From an opening bracket to its match, quotes respected."""
        depth = 0
        while self.i < len(self.s):
            c = self.peek()
            if c in "'\"`":
                self.skip_quoted(c)
                continue
            if c == "\\":
                self.adv(2)
                continue
            if c == "#" and open_ == "(" and self.i > 0 and self.s[self.i - 1] in " \t\n":
                while self.i < len(self.s) and self.peek() != "\n":
                    self.adv()
                continue
            if c == open_:
                depth += 1
            elif c == close:
                depth -= 1
                if depth == 0:
                    self.adv()
                    return
            self.adv()

    def skip_dollar(self):
        self.adv()  # $
        if self.peek() == "(":
            self.skip_group("(", ")")
        else:
            self.skip_group("{", "}")

    def word(self):
        start = self.i
        while self.i < len(self.s):
            c = self.peek()
            if c in " \t\n;|()" or (c == "&" and self.s[self.i - 1] not in "<>"):
                break
            if c in "'\"`":
                self.skip_quoted(c)
            elif c == "\\":
                self.adv(2)
            elif c == "$" and self.peek(1) in "({":
                self.skip_dollar()
            elif c in "<>" and self.peek(1) == "(":
                self.adv()
                self.skip_group("(", ")")
            elif c == "<" and self.peek(1) == "<" and self.peek(2) != "<":
                self.adv(2)
                strip = self.peek() == "-"
                if strip:
                    self.adv()
                while self.peek() in " \t":
                    self.adv()
                m = re.match(r"""(['"]?)([A-Za-z_0-9]+)\1""", self.s[self.i:])
                if m:
                    self.heredocs.append((m.group(2), strip))
                    self.adv(len(m.group(0)))
                break
            else:
                self.adv()
        return self.s[start:self.i]

    def skip_heredocs(self):
        for delim, strip in self.heredocs:
            while self.i < len(self.s):
                end = self.s.find("\n", self.i)
                end = len(self.s) if end < 0 else end
                text = self.s[self.i:end]
                if strip:
                    text = text.lstrip("\t")
                self.adv(end - self.i + 1)
                if text == delim:
                    break
        self.heredocs = []

    def double_bracket(self):
        """[[ ... ]] as one word."""
        start = self.i
        self.adv(2)
        while self.i < len(self.s):
            c = self.peek()
            if c in "'\"`":
                self.skip_quoted(c)
            elif c == "\\":
                self.adv(2)
            elif c == "$" and self.peek(1) in "({":
                self.skip_dollar()
            elif c == "]" and self.peek(1) == "]" and self.s[self.i - 1] in " \t":
                self.adv(2)
                break
            else:
                self.adv()
        return self.s[start:self.i]

    def run(self):
        cmd_pos = True
        while self.i < len(self.s):
            c = self.peek()
            line = self.line
            if c in " \t":
                self.adv()
            elif c == "\\" and self.peek(1) == "\n":
                self.adv(2)
            elif c == "#" and (self.i == 0 or self.s[self.i - 1] in " \t\n;"):
                while self.i < len(self.s) and self.peek() != "\n":
                    self.adv()
            elif c == "\n":
                self.adv()
                self.tokens.append(("op", "\n", line))
                cmd_pos = True
                if self.heredocs:
                    self.skip_heredocs()
            elif self.s.startswith("&&", self.i) or self.s.startswith("||", self.i) \
                    or self.s.startswith(";;", self.i):
                self.tokens.append(("op", self.s[self.i:self.i + 2], line))
                self.adv(2)
                cmd_pos = True
            elif c in ";&|()":
                if c == "&" and self.peek(1) == ">":
                    self.tokens.append(("word", self.word(), line))
                    continue
                self.tokens.append(("op", c, line))
                self.adv()
                cmd_pos = True
            elif cmd_pos and self.s.startswith("[[", self.i) and self.peek(2) in " \t":
                self.tokens.append(("word", self.double_bracket(), line))
                cmd_pos = False
            else:
                w = self.word()
                if not w:
                    self.adv()
                    continue
                self.tokens.append(("word", w, line))
                if w in ("!",) or w in CONDITION or w in KEYWORDS_SEP:
                    cmd_pos = True
                elif re.match(r"^[A-Za-z_][A-Za-z_0-9]*(\[[^]]*\])?\+?=", w):
                    cmd_pos = True  # an assignment before a command
                else:
                    cmd_pos = False
        return self.tokens


def statements(tokens):
    """Groups tokens into command lists: dicts with the line, the words, the
    control operators (&& || |) and the pipeline stages between them.
    Block braces come out as statements of their own, kw "{" (kind "test"
    for a @test body) or "}"."""
    out = []
    cur = None
    pending_continue = False
    first_word = True
    for kind, text, line in tokens:
        if kind == "op" and text == "\n" and pending_continue:
            continue
        if kind == "op" and text in SEPARATORS:
            if cur is not None:
                out.append(cur)
            cur = None
            pending_continue = False
            first_word = True
            continue
        if kind == "word" and (first_word and text in KEYWORDS_SEP or
                               text == "{" and cur is not None and cur["words"][0] == "@test"):
            block = "test" if cur is not None and cur["words"][0] == "@test" else "other"
            if cur is not None:
                out.append(cur)
            out.append({"line": line, "words": [], "ops": [], "stages": [[]], "kw": text,
                        "block": block})
            cur = None
            first_word = True
            continue
        if cur is None:
            cur = {"line": line, "words": [], "ops": [], "stages": [[]], "kw": None}
        if kind == "op":
            cur["ops"].append(text)
            cur["stages"].append([])
            cur["words"].append(text)
            pending_continue = True
            first_word = True
        else:
            cur["words"].append(text)
            cur["stages"][-1].append(text)
            pending_continue = False
            first_word = False
    if cur is not None:
        out.append(cur)
    return out


def head(stage):
    """The command word of a pipeline stage (after assignments)."""
    for w in stage:
        if re.match(r"^[A-Za-z_][A-Za-z_0-9]*\+?=", w):
            continue
        return "[[" if w.startswith("[[ ") else w
    return None


def run_checks_status(stage):
    """run -N / run ! check the status themselves."""
    for w in stage[stage.index("run") + 1:]:
        if w == "!" or re.match(r"^-[0-9]+$", w):
            return True
        if not w.startswith("-"):
            return False
    return False


RUN_STATUS = "`run` without -N or ! and no look at $status before the next run"


def lint(path):
    with open(path, encoding="utf-8") as f:
        sts = statements(Scanner(f.read()).run())
    wrappers = set()
    check(sts, wrappers)  # first pass: which functions end in an unchecked run
    return check(sts, wrappers)


def check(sts, wrappers):
    """The findings in sts.  A call of a function in wrappers counts as a
    run without -N; functions found to end in such a run are added."""
    found = []
    stack = []    # (kind, function name) of the open { } blocks
    pending = []  # (line, depth) of runs whose $status nobody looked at yet
    for n, st in enumerate(sts):
        if st["kw"] == "{":
            prev = sts[n - 1]["words"] if n > 0 else []
            name = prev[0] if st["block"] == "other" and len(prev) == 1 else None
            stack.append((st["block"], name))
            continue
        if st["kw"] == "}":
            depth = len(stack)
            kind, name = stack.pop() if stack else ("other", None)
            # the end of a test is the end of the look-out; a function
            # that ends in a run leaves the look to its caller
            if kind == "test":
                found += [(ln, "run-status", RUN_STATUS) for ln, d in pending if d >= depth]
            elif name is not None and any(d >= depth for ln, d in pending):
                wrappers.add(name)
            pending = [(ln, d) for ln, d in pending if d < depth]
            continue
        if st["kw"] is not None or not st["words"]:
            continue
        words, ops, stages, line = st["words"], st["ops"], st["stages"], st["line"]
        if any(re.search(r"\$\{?status\b", w) for w in words):
            pending = []
        defines = n + 1 < len(sts) and sts[n + 1]["kw"] == "{"  # name() {
        runs = [s for s in stages if not defines and (head(s) == "run" or head(s) in wrappers)]
        if runs:
            found += [(ln, "run-status", RUN_STATUS) for ln, d in pending]
            pending = [(line, len(stack)) for s in runs
                       if head(s) in wrappers or not run_checks_status(s)]
        first = words[0]
        if first in CONDITION or first in ("for", "case", "select", "function", "@test"):
            continue
        # and-chain: [ A ] && [ B ], unless a || after it catches a failure,
        # or it is what a function returns (a predicate)
        returns = (stack and stack[-1][0] == "other" and n + 1 < len(sts) and
                   sts[n + 1]["kw"] == "}")
        if "&&" in ops and not returns:
            last_and = max(i for i, o in enumerate(ops) if o == "&&")
            caught = "||" in ops[last_and:]
            if not caught and head(stages[last_and + 1]) in CHECKS:
                found.append((line, "and-chain",
                              "`A && B`: a failing A does not fail the test; one assertion per line"))
        # negation: ! cmd (a condition such as `! A || skip` is fine)
        if first == "!" and "||" not in ops and "&&" not in ops:
            found.append((line, "negation",
                          "`! cmd` never fails a bats test; use `run ! cmd` or a test"))
        # pipeline: seckit's exit status lost
        for i, o in enumerate(ops):
            if o == "|" and head(stages[i]) in SECKIT:
                found.append((line, "pipeline",
                              "seckit before `|`: its exit status is lost; write to a file, then compare"))
                break
    return found


def main():
    bad = 0
    for path in sys.argv[1:]:
        for line, rule, msg in sorted(set(lint(path))):
            print(f"{path}:{line}: {rule}: {msg}")
            bad += 1
    sys.exit(1 if bad else 0)


main()
EOF
