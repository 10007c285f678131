"""Lists every function longer than the limit (80 lines by default) in the files or folders given, and exits 1
if there is one; migrations are left out (they are history, written once). `make lint` runs it over src/."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

LIMIT = 80


def long_functions(path: Path, limit: int = LIMIT) -> list[str]:
    tree = ast.parse(path.read_text(), str(path))
    return [
        f"{path}:{node.lineno}: {node.name} is {node.end_lineno - node.lineno + 1} lines (at most {limit})"
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno is not None
        and node.end_lineno - node.lineno + 1 > limit
    ]


def main(arguments: list[str]) -> int:
    files = [
        file
        for argument in arguments or ["src"]
        for file in (sorted(Path(argument).rglob("*.py")) if Path(argument).is_dir() else [Path(argument)])
        if "migrations" not in file.parts
    ]
    found = [line for file in files for line in long_functions(file)]
    print("\n".join(found) if found else f"No function over {LIMIT} lines in {len(files)} files.")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
