"""Run every ``pip install`` command of the README and the docs as written, on fresh venvs.

    python scripts/check_install_docs.py DIST WORK     (scripts/check-wheels.sh calls it)

Each command must say where it installs from, on its own line:

- ``# from a checkout`` (or "in this repo"): run from the repository root, as written;
- ``wheels``: run from a directory whose ``dist/`` holds the wheels built from this checkout;
- ``once published`` (the package index): nothing is published yet, so it runs as written
  plus ``--find-links DIST``: exactly what the index will serve, with the other requirements
  from the real index.

After each install, ``lstarb plugins --json`` must list the plugins the command installed,
loaded. Identical commands run once. Exit status 1 names every command that failed or is not
labelled.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
import venv
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = ["README.md", "docs/**/*.md", "plugins/*/README.md", "examples/*/README.md"]
COMMAND = re.compile(r"pip install ([^`#\n]*)")
PLUGIN_DIRS = {"examples/plugin-template": "example"}


@dataclass(frozen=True)
class Command:
    args: tuple[str, ...]
    kind: str  # "checkout", "wheels" or "index"

    def __str__(self) -> str:
        return "pip install " + " ".join(self.args)


LABELS = {"checkout": ("checkout", "in this repo"), "index": ("published",), "wheels": ("wheels",)}


def label_of(line: str) -> str | None:
    """The kinds of install a line says it shows (comma-separated), or None."""
    text = line.lower()
    kinds = [kind for kind, words in LABELS.items() if any(w in text for w in words)]
    return ",".join(kinds) or None


def kind_of(args: list[str]) -> str:
    if any(a == "-e" or a.startswith((".", "plugins/", "examples/")) for a in args):
        return "checkout"
    if "--find-links" in args:
        return "wheels"
    return "index"


def commands() -> tuple[dict[Command, list[str]], list[str]]:
    """Every install command and where it appears; and the unlabelled ones."""
    found: dict[Command, list[str]] = {}
    problems = []
    for pattern in DOCS:
        for path in sorted(ROOT.glob(pattern)):
            for number, line in enumerate(path.read_text().splitlines(), 1):
                for match in COMMAND.finditer(line):
                    args = shlex.split(match.group(1).strip())
                    if not args:
                        continue  # prose: "lets `pip install` make it appear"
                    command = Command(tuple(args), kind_of(args))
                    where = f"{path.relative_to(ROOT)}:{number}"
                    label = label_of(line)
                    if label is None or command.kind not in label:
                        problems.append(
                            f"{where}: `{command}` installs {command.kind}-style but its line "
                            f"does not say so (label it: from a checkout / wheels / once published)"
                        )
                    found.setdefault(command, []).append(where)
    return found, problems


def expected_plugins(command: Command) -> set[str]:
    names = set()
    for arg in command.args:
        arg = arg.rstrip("/").split("[")[0]
        if arg.startswith("lstarb-plugin-"):
            names.add(arg.removeprefix("lstarb-plugin-"))
        elif arg.startswith("plugins/"):
            names.add(arg.removeprefix("plugins/"))
        elif arg in PLUGIN_DIRS:
            names.add(PLUGIN_DIRS[arg])
    return names


def run(command: Command, dist: Path, work: Path, index: int) -> str | None:
    """None when the command installs and lstarb lists its plugins; else what went wrong."""
    env_dir = work / f"venv-{index}"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    args = list(command.args)
    cwd = ROOT
    if command.kind == "wheels":
        cwd = dist.parent
    elif command.kind == "index":
        cwd = work
        args += ["--find-links", str(dist)]
    done = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        return f"failed:\n{done.stderr[-3000:]}"
    listed = subprocess.run(
        [str(env_dir / "bin" / "lstarb"), "plugins", "--json"],
        cwd=work,
        capture_output=True,
        text=True,
    )
    if listed.returncode != 0:
        return f"installed, but `lstarb plugins` failed:\n{listed.stderr[-2000:]}"
    rows = {row["name"]: row for row in json.loads(listed.stdout)}
    for name in expected_plugins(command):
        row = rows.get(name)
        if row is None or row["error"] is not None:
            return f"installed, but lstarb does not load plugin {name!r}: {row}"
    return None


def main() -> int:
    dist, work = Path(sys.argv[1]).resolve(), Path(sys.argv[2]).resolve()
    found, problems = commands()
    ordered = sorted(found.items(), key=lambda c: str(c[0]))
    # pip spends most of its time waiting on files and the network: three at a time
    with ThreadPoolExecutor(max_workers=3) as pool:
        failures = pool.map(lambda job: run(job[1][0], dist, work, job[0]), enumerate(ordered))
        for (command, places), failure in zip(ordered, failures, strict=True):
            print(f"[{command.kind}] {command}   ({', '.join(places)}): {failure or 'ok'}")
            if failure:
                problems.append(f"{', '.join(places)}: `{command}` {failure}")
    if problems:
        print("\n".join(["", "install commands that do not work as written:", *problems]))
        return 1
    print(f"{len(found)} install commands work as written")
    return 0


if __name__ == "__main__":
    sys.exit(main())
