#!/usr/bin/env python3
"""Doxygen INPUT_FILTER for Strata's headers (docs/tools/Doxyfile).

The headers document themselves in plain `//` comments (STYLE.md, "Comments and docs"), which
Doxygen ignores. This filter turns them into Doxygen comments as Doxygen reads them, without
touching the sources:
  - the comment block that opens the file documents the file (`/// @file`);
  - a comment block on lines of its own documents the declaration below it (`///`);
  - a comment after a declaration on the same line (`int x = 0;  // ...`, `ok = 0,  // ...`)
    documents that member (`///<`), and so do comment lines indented under it that continue it;
  - comment lines indented by two or more extra spaces (code examples, grammars) are wrapped in
    `@code` ... `@endcode`, so they keep their layout.
Other lines pass through unchanged. The added `@file`/`@code`/`@endcode` lines shift the line
numbers of Doxygen's warnings a little.
Usage: doxygen_filter.py FILE (Doxygen's INPUT_FILTER convention); writes the result to stdout.
"""
import re
import sys

COMMENT = re.compile(r"^(\s*)//(?![/<!])\s?(.*)$")
TRAILING = re.compile(r"^(\s*\S.*?[;,])(\s+)//(?![/<!])\s?(.*)$")


def convert(lines):
    out = []
    in_code = False
    at_top = True  # still in the comment block that opens the file
    trailing_indent = None  # indent of the code line whose trailing comment may continue

    def end_code(indent):
        nonlocal in_code
        if in_code:
            out.append(indent + "/// @endcode")
            in_code = False

    for i, line in enumerate(lines):
        m = COMMENT.match(line)
        if m:
            indent, text = m.groups()
            if trailing_indent is not None and len(indent) > trailing_indent:
                out.append(indent + "///< " + text)  # continues the member's trailing comment
                continue
            trailing_indent = None
            if i == 0:
                out.append(indent + "/// @file")
            is_code = text.startswith("  ") and text.strip() != ""
            if is_code and not in_code:
                out.append(indent + "/// @code")
                in_code = True
            elif not is_code:
                end_code(indent)
            out.append(indent + "///" + (" " + text if text else ""))
            continue
        end_code(re.match(r"^(\s*)", line).group(1) if line.strip() else "")
        if line.strip():
            at_top = False
        t = TRAILING.match(line)
        if t:
            code, space, text = t.groups()
            out.append(code + space + "///< " + text)
            trailing_indent = len(code) - len(code.lstrip())
        else:
            out.append(line)
            trailing_indent = None
    end_code("")
    return out


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: doxygen_filter.py FILE")
    with open(sys.argv[1], encoding="utf-8") as f:
        lines = f.read().split("\n")
    sys.stdout.write("\n".join(convert(lines)))


if __name__ == "__main__":
    main()
