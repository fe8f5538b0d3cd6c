#!/usr/bin/python3
"""Cross-checks the expectations of regex_dfa_test.cpp's kMatchCases and kEcmaCases against
independent regex engines: Python's re (kMatchCases) and Node's RegExp with the "u" flag, which is
ECMA-262 itself (both tables; without "u" where a pattern uses an escape "u" refuses, such as \\-).
Run by hand after editing the tables (the unit tests never run Python):
    /usr/bin/python3 tests/unit/regex_cases_check.py
Prints each disagreement and exits 1 if there is any."""
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

SOURCE = Path(__file__).with_name("regex_dfa_test.cpp")
CASE = re.compile(r'\{R"\((.*?)\)", "((?:[^"\\]|\\.)*)", (true|false)\}')


def tables():
    text = SOURCE.read_text(encoding="utf-8")
    out = {}
    for name in ("kMatchCases", "kEcmaCases"):
        body = text[text.index(name + "[] = {"):]
        body = body[:body.index("\n};")]
        out[name] = [(p, c_string(s), m == "true") for p, s, m in CASE.findall(body)]
    return out


def c_string(literal):
    """The text of a C++ string literal's body (escapes \\n \\t \\uXXXX \\UXXXXXXXX ...)."""
    return literal.encode("ascii").decode("unicode_escape")


def python_search(pattern, text):
    # Python's $ also matches before a final newline; JSON Schema's (ECMA's) only at the end.
    py = re.sub(r"(?<!\\)\$(?=\||$)", r"\\Z", pattern)
    return re.search(py, text, re.ASCII) is not None


def node_verdicts(cases):
    script = r"""
const cases = JSON.parse(require('fs').readFileSync(0, 'utf8'));
console.log(JSON.stringify(cases.map(([p, s]) => {
  let r;
  try { r = new RegExp(p, 'u'); } catch (e) { r = new RegExp(p); }
  return r.test(s);
})));
"""
    out = subprocess.run(["node", "-e", script], input=json.dumps(cases), capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def main():
    t = tables()
    bad = 0
    for pattern, text, expected in t["kMatchCases"]:
        got = python_search(pattern, text)
        if got != expected:
            bad += 1
            print(f"python re: {pattern!r} on {text!r} gives {got}, the table says {expected}")
    if shutil.which("node"):
        every = t["kMatchCases"] + t["kEcmaCases"]
        for (pattern, text, expected), got in zip(every, node_verdicts([[p, s] for p, s, _ in every])):
            if got != expected:
                bad += 1
                print(f"node RegExp: {pattern!r} on {text!r} gives {got}, the table says {expected}")
    else:
        print("node not found: kEcmaCases unchecked")
    print(f"{len(t['kMatchCases'])} + {len(t['kEcmaCases'])} cases, {bad} disagreements")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
