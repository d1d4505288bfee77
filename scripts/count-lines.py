#!/usr/bin/env python3
"""Non-test source lines of k3sync's core crates (issue 10's measure).

    scripts/count-lines.py [ROOT]          # ROOT: a checkout or a `git archive` of one (default .)

Counts every line (code, comments and blank lines) of the `.rs` files under `common/src`,
`worker/src`, `producer/src` and `ctl/src`, leaving out tests: files under a `tests` folder,
`*_tests.rs`, `tests.rs`, `fixtures.rs`, and a file's inline `#[cfg(test)] mod x { … }` block
(counted up to the `#[cfg(test)]` line; a `#[cfg(test)] mod x;` declaration is left out).
Prints each crate's total and the sum, as JSON.
"""

import json
import os
import re
import sys

CRATES = ["common", "worker", "producer", "ctl"]
TEST_FILES = {"tests.rs", "fixtures.rs"}


def count_file(path):
    lines = open(path, encoding="utf-8").read().split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    count, i = 0, 0
    while i < len(lines):
        if lines[i].strip() == "#[cfg(test)]" and i + 1 < len(lines):
            following = lines[i + 1].strip()
            if re.match(r"(pub )?mod \w+;", following):
                i += 2
                continue
            if re.match(r"(pub )?mod \w+ \{", following):
                break
        count += 1
        i += 1
    return count


def count_crate(root, crate):
    total = 0
    for folder, _, files in os.walk(os.path.join(root, crate, "src")):
        if "tests" in folder.split(os.sep):
            continue
        for name in files:
            if name.endswith(".rs") and not name.endswith("_tests.rs") and name not in TEST_FILES:
                total += count_file(os.path.join(folder, name))
    return total


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else "."
    counts = {crate: count_crate(root, crate) for crate in CRATES}
    counts["total"] = sum(counts.values())
    print(json.dumps(counts))


if __name__ == "__main__":
    main()
