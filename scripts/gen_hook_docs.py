"""Write docs/plugins/hooks.md from the hook specifications' docstrings (the single source).

Run ``python scripts/gen_hook_docs.py``; tests/meta checks the committed file is current.
"""

from __future__ import annotations

import inspect
import sys
from pathlib import Path

from trackline.plugins import hookspecs

OUTPUT = Path(__file__).resolve().parents[1] / "docs" / "plugins" / "hooks.md"

HEADER = """# Hook reference

Generated from `core/trackline/plugins/hookspecs.py` by `scripts/gen_hook_docs.py`; edit the
docstrings there, not this file.

A plugin module implements any of these hooks with `@trackline.hookimpl` (or
`from trackline.plugins import hookimpl`). An implementation may accept any subset of a hook's
parameters. Record types (`TrackingStoreSpec`, `ArtifactRepositorySpec`…) come from
`trackline.plugins`.
"""


def render() -> str:
    parts = [HEADER]
    module_doc = inspect.getdoc(hookspecs) or ""
    parts.append("## The contract\n\n" + module_doc + "\n")
    for name, function in inspect.getmembers(hookspecs, inspect.isfunction):
        options = getattr(function, "trackline_spec", None)
        if options is None:
            continue
        signature = f"{name}({', '.join(inspect.signature(function).parameters)})"
        doc = inspect.getdoc(function) or ""
        parts.append(f"## `{signature}`\n\n{doc}\n")
    return "\n".join(parts)


def main() -> int:
    OUTPUT.write_text(render(), encoding="utf-8")
    print(f"wrote {OUTPUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
