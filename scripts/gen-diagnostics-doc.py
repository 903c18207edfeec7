#!/usr/bin/env python3
"""Regenerate docs/diagnostics.md from src/policy/codes.rs (a unit test checks they agree)."""
import pathlib
import re

root = pathlib.Path(__file__).resolve().parent.parent
source = (root / "src/policy/codes.rs").read_text(encoding="utf-8")
rows = re.findall(r'\w+ => "([a-z0-9-]+)", "((?:[^"\\]|\\.)*)";', source)
lines = [
    "# Diagnostic codes",
    "",
    "Every diagnostic ecmguard prints carries a code `ecmguard::<code>`. Codes are stable.",
    "Rules' findings use the rule id as their code. Regenerate with `scripts/gen-diagnostics-doc.py`.",
    "",
    "| code | meaning |",
    "|---|---|",
]
lines += [f"| `{code}` | {text} |" for code, text in rows]
(root / "docs/diagnostics.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
print(f"{len(rows)} codes")
