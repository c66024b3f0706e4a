"""The stand-in's flag table: the catalog's table for the version this image stands in for.

tests/container_helpers.py builds each stand-in image with /opt/standin/flags.json (a copy of
generator/data/flags/<server>-<version>.json, produced by tools/flags from the engine's own code) and
/opt/standin/version. Rows are turned into (option strings, kind, extra) for argparse_flags.
"""
import json

with open("/opt/standin/flags.json", encoding="utf-8") as fh:
    TABLE = json.load(fh)
with open("/opt/standin/version", encoding="utf-8") as fh:
    VERSION = fh.read().strip()

_KINDS = {"bool": "bool", "flag": "true", "int": "int", "float": "float", "json": "json", "str": "str",
          "list": "list:str", "choice": "choice"}


def rows():
    out = []
    for row in TABLE["flags"]:
        kind = _KINDS[row["kind"]]
        extra = [str(c) for c in row["choices"]] if kind == "choice" and row.get("choices") else None
        out.append((list(row["names"]), kind, extra))
    return out


def version_tuple(text=VERSION):
    parts = []
    for piece in text.replace("-", ".").split("."):
        digits = "".join(ch for ch in piece if ch.isdigit())
        if not digits or not piece[0].isdigit():
            break
        parts.append(int(digits))
    return tuple(parts)
