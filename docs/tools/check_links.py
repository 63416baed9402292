#!/usr/bin/env python3
"""Checks that every relative link in Markdown files resolves to a file or directory that exists.

    check_links.py [--root DIR] PATH...    PATH: a .md file, or a directory searched for *.md

Links checked: inline links and images `[text](target)` / `![alt](target)`, reference
definitions `[id]: target`, and HTML `href="..."` / `src="..."`, outside fenced code blocks and
code spans. Skipped: URLs with a scheme (https:, mailto:), links to a fragment of the same page
(`#section`), and the fragment of any other link (only the file is checked, not the heading).
A target is resolved against the directory of the file that links it (a leading `/` against
the repository root), percent-decoded, and must exist there.

Also reported, as notes that do not fail the check: mentions of Markdown files that are not
links (`DESIGN.md`, `docs/format/wal.md`, in prose or in code spans) and exist neither beside
the file nor under the root, because a reader will look for them too.

Exit status: 0 when every link resolves, 1 when one does not (each printed as
`FILE:LINE: broken link: TARGET`), 2 on a usage error.
"""
import argparse
import os
import re
import sys
from urllib.parse import unquote

FENCE = re.compile(r"^\s*(```|~~~)")
CODE_SPAN = re.compile(r"(`+)(?:(?!\1).)*?\1")
INLINE = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+(?:\"[^\"]*\"|'[^']*'|\([^)]*\)))?\s*\)")
REFDEF = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$")
HTML = re.compile(r"\b(?:href|src)\s*=\s*[\"']([^\"']+)[\"']", re.I)
MENTION = re.compile(r"(?<![\w/.\-])((?:[\w.\-]+/)*[\w.\-]+\.md)\b")
SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.\-]*:")


def markdown_files(paths):
    for p in paths:
        if os.path.isdir(p):
            for dirpath, dirnames, filenames in os.walk(p):
                dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
                for name in sorted(filenames):
                    if name.endswith(".md"):
                        yield os.path.join(dirpath, name)
        else:
            yield p


def links_and_mentions(text):
    """Yields (line number, kind, target); kind is "link" or "mention"."""
    in_fence = None
    for number, line in enumerate(text.split("\n"), 1):
        m = FENCE.match(line)
        if m:
            if in_fence is None:
                in_fence = m.group(1)
            elif m.group(1) == in_fence:
                in_fence = None
            continue
        if in_fence:
            continue
        prose = CODE_SPAN.sub("", line)
        for target in INLINE.findall(prose):
            yield number, "link", target
        m = REFDEF.match(prose)
        if m:
            yield number, "link", m.group(1)
        for target in HTML.findall(prose):
            yield number, "link", target
        for target in MENTION.findall(INLINE.sub("", line)):
            yield number, "mention", target


def resolve(target, source, root):
    path = unquote(target.split("#", 1)[0].split("?", 1)[0])
    if path.startswith("/"):
        return os.path.normpath(os.path.join(root, path.lstrip("/")))
    return os.path.normpath(os.path.join(os.path.dirname(source), path))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", default=".", help="the repository root (for /links and mentions)")
    parser.add_argument("paths", nargs="+")
    args = parser.parse_args()
    broken = 0
    checked = 0
    notes = 0
    for source in markdown_files(args.paths):
        try:
            with open(source, encoding="utf-8") as f:
                text = f.read()
        except OSError as e:
            print(f"{source}: cannot read: {e}", file=sys.stderr)
            return 2
        for number, kind, target in links_and_mentions(text):
            if kind == "mention":
                beside = os.path.join(os.path.dirname(source), target)
                if not os.path.exists(beside) and not os.path.exists(os.path.join(args.root, target)):
                    print(f"{source}:{number}: note: mentions {target}, which does not exist")
                    notes += 1
                continue
            if SCHEME.match(target) or target.startswith("#"):
                continue
            checked += 1
            if not os.path.exists(resolve(target, source, args.root)):
                print(f"{source}:{number}: broken link: {target}")
                broken += 1
    print(f"check_links: links_checked={checked} broken={broken} notes={notes}")
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
