#!/usr/bin/env python3
"""Writes Tests/Fixtures/training/debian.csv: short descriptions of Debian packages (text no one here wrote),
labelled by their archive Section, from `apt-cache dumpavail` of this machine's package lists.

    python3 Tests/Fixtures/make_debian_csv.py

Five sections, 80 packages each (every k-th of the section's packages sorted by name, so the pick is spread over
the alphabet and stable for a given package list), shuffled with a fixed seed. Also writes debian-tags.jsonl, a
token classification set from the same descriptions: each word tagged by what it looks like (NUM: has a digit,
SYM: has another character that is not a letter, O: otherwise; all visible to an uncased tokenizer) — a
learnable task with real text."""
import csv
import os
import random
import subprocess

ROOT = os.path.dirname(os.path.abspath(__file__))
SECTIONS = ["games", "fonts", "python", "science", "admin"]
PER_SECTION = 80

text = subprocess.run(["apt-cache", "dumpavail"], check=True, capture_output=True, text=True).stdout
packages = {}
for stanza in text.split("\n\n"):
    fields = {}
    for line in stanza.splitlines():
        if line and not line[0].isspace() and ":" in line:
            key, value = line.split(":", 1)
            fields[key] = value.strip()
    name, section, description = fields.get("Package"), fields.get("Section", ""), fields.get("Description")
    section = section.split("/")[-1]
    if name and description and section in SECTIONS:
        packages.setdefault(section, {})[name] = description
rows = []
for section in SECTIONS:
    names = sorted(packages[section])
    step = max(1, len(names) // PER_SECTION)
    picked = names[::step][:PER_SECTION]
    rows += [(packages[section][name], section) for name in picked]
random.Random(7).shuffle(rows)
os.makedirs(os.path.join(ROOT, "training"), exist_ok=True)
with open(os.path.join(ROOT, "training", "debian.csv"), "w", newline="") as f:
    writer = csv.writer(f)
    writer.writerow(["text", "label"])
    writer.writerows(rows)


def tag(word):
    if any(c.isdigit() for c in word):
        return "NUM"
    return "SYM" if any(not c.isalpha() for c in word) else "O"


import json
with open(os.path.join(ROOT, "training", "debian-tags.jsonl"), "w") as f:
    for description, _ in rows[:200]:
        words = description.split()
        f.write(json.dumps({"tokens": words, "tags": [tag(w) for w in words]}, ensure_ascii=False) + "\n")
print(len(rows), "rows;", {s: min(PER_SECTION, len(packages[s])) for s in SECTIONS})
