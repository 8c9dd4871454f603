#!/usr/bin/env python3
"""embed.py -- turns a prompt text file into a C string the binary carries.

levbot must run from any directory, so the prompt is compiled in; the text
file stays the reviewed source.  Run after editing a prompt:

    python3 prompts/embed.py prompts/system-v1.txt src/ai/ai_prompt_v1.inc

tests/ai checks that the embedded text equals the file byte for byte, so a
stale .inc fails the test suite instead of shipping an unreviewed prompt.
"""
import sys


def c_literal(line):
    out = []
    for ch in line:
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif 32 <= ord(ch) < 127:
            out.append(ch)
        else:
            out.extend("\\%03o" % b for b in ch.encode("utf-8"))
    return '"' + "".join(out) + '"'


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: embed.py PROMPT.txt OUT.inc")
    src, dst = sys.argv[1], sys.argv[2]
    with open(src, encoding="utf-8") as f:
        text = f.read()
    lines = text.splitlines(keepends=True)
    with open(dst, "w", encoding="ascii") as f:
        f.write("/* Generated from %s by prompts/embed.py: do not edit. */\n" % src)
        for line in lines:
            f.write(c_literal(line) + "\n")


if __name__ == "__main__":
    main()
