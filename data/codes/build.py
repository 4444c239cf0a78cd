#!/usr/bin/env python3
"""Derive the compact code lists under data/codes/ from the original code-set files.

Usage: python3 data/codes/build.py [SOURCE_DIR]
SOURCE_DIR holds the originals described in README.md (default /work/shared/data/codes).
The outputs are sorted, one code per line, so a new edition shows up as a readable diff.
"""

import re
import sys
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

OUT = Path(__file__).resolve().parent
ICD10_TABULAR = "icd10cm-tabular-April-1-2026.xml"
HCPCS_ZIP = "2020-Alpha-Numeric-HCPCS-File.zip"
HCPCS_RECORDS = "HCPC2020_ANWEB_w_disclaimer.txt"
PYX12_CODES = "pyx12-codes.xml"


def write(name, codes):
    codes = sorted(set(codes))
    (OUT / name).write_text("".join(code + "\n" for code in codes), encoding="ascii")
    print(f"{name}: {len(codes)} codes")


def icd10cm(source):
    """Billable codes are the leaves of the tabular list. Where a seventh-character
    definition (sevenChrDef) applies, from the code itself or an ancestor, the leaf is
    not billable as written: each of its seventh characters makes a billable code, the
    code padded with the placeholder X to six characters first (S02.0 -> S020XXA).
    One exception is stated only in a note: in category S06, codes whose sixth
    character is 7 or 8 (death before regaining consciousness) take only A."""
    billable, headers = [], []

    def seventh_characters(code, extensions):
        if code.startswith("S06") and len(code) == 6 and code[5] in "78":
            return ["A"]
        return extensions

    def walk(diag, extensions):
        code = diag.findtext("name").replace(".", "")
        own = diag.find("sevenChrDef")
        if own is not None:
            extensions = [e.get("char") for e in own.findall("extension")]
        children = diag.findall("diag")
        if children:
            headers.append(code)
            for child in children:
                walk(child, extensions)
        elif extensions:
            headers.append(code)
            billable.extend(
                code.ljust(6, "X") + char for char in seventh_characters(code, extensions)
            )
        else:
            billable.append(code)

    root = ET.parse(source / ICD10_TABULAR).getroot()
    for diag in root.iterfind("chapter/section/diag"):
        walk(diag, None)
    write("icd10cm-2026-billable.txt", billable)
    write("icd10cm-2026-headers.txt", headers)


def hcpcs(source):
    """The 2020 file has fixed-width records: HCPCS code in columns 1-5, record id in
    column 11 (3 = first line of a procedure, 7 = first line of a modifier; 4 and 8
    continue a description) and the termination date in columns 285-292. Codes with a
    termination date were no longer valid in 2020, so they are left out."""
    with zipfile.ZipFile(source / HCPCS_ZIP) as archive:
        text = archive.read(HCPCS_RECORDS).decode("latin-1")
    procedures, modifiers = [], []
    for line in text.splitlines():
        if len(line) < 292 or not line[5:10].isdigit() or line[284:292].strip():
            continue
        code, record = line[:5].strip(), line[10]
        if record == "3":
            assert re.fullmatch(r"[A-V][0-9]{4}", code), code
            procedures.append(code)
        elif record == "7":
            assert re.fullmatch(r"[A-Z0-9]{2}", code), code
            modifiers.append(code)
    write("hcpcs-2020-codes.txt", procedures)
    write("hcpcs-2020-modifiers.txt", modifiers)


def place_of_service(source):
    root = ET.parse(source / PYX12_CODES).getroot()
    (codeset,) = [c for c in root.iterfind("codeset") if c.findtext("id") == "pos"]
    write("place-of-service.txt", (code.text for code in codeset.iter("code")))


def main():
    source = Path(sys.argv[1] if len(sys.argv) > 1 else "/work/shared/data/codes")
    icd10cm(source)
    hcpcs(source)
    place_of_service(source)


if __name__ == "__main__":
    main()
