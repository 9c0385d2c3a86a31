"""Every figure the README publishes names its committed raw data, and no doc points at evidence that is not there.

The rule (issue 18): a figure in README.md or docs/*.md comes with its raw output (small JSON/CSV) committed next to
the doc, written by the command the doc names. Enforced here:

* every row of the README's results table ("Training, evaluation and results") and benchmark table whose result
  cell holds a figure (a decimal, a thousands-separated count, a percentage or a ratio) names at least one existing
  raw-data file (``docs/....json|csv|txt|jsonl``, or a ``docs/.../`` folder holding such files), and every
  ``docs/`` path it names exists;
* every ``docs/`` path named in the prose of README.md and docs/*.md (outside fenced command blocks, which may name
  outputs still to be written) and every relative Markdown link target exists.
* every fenced ``python examples/ppo_steps_table.py docs/...json`` command in docs/*.md is followed by the table it
  prints;
* every evaluation row of docs/ppo.md is printed by ``examples/ppo_eval_report.py`` from committed JSON;
* docs/adr.md's evaluation and training tables are what ``examples/adr_report.py --from-json docs/adr_eval.json``
  and ``examples/ppo_steps_table.py docs/adr_runs/*_metrics.json`` print (docs/ppo.md's are checked in
  tests/test_docs_commands.py).

Figures without raw data that cannot be re-measured belong in a doc's "History (no raw data)" note, not in these
tables. ``make docs-check`` runs this module.
"""

from __future__ import annotations

import glob
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RAW_SUFFIXES = (".json", ".csv", ".txt", ".jsonl")
FIGURE = re.compile(r"\d\.\d|\d,\d{3}|\d\s?%|\d\s?×")
DOCS_PATH = re.compile(r"(?<![\w/.-])docs/[\w./-]*[\w/]")
LINK = re.compile(r"\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```[^\n]*\n.*?^```", re.S | re.M)
TABLE_SECTIONS = ("## Training, evaluation and results", "## Benchmarks")


def cells(row: str) -> list[str]:
    """The cells of a Markdown table row; a ``|`` inside a code span does not split."""
    out, cell, code = [], "", False
    for ch in row.strip().strip("|"):
        if ch == "`":
            code = not code
        if ch == "|" and not code:
            out.append(cell.strip())
            cell = ""
        else:
            cell += ch
    out.append(cell.strip())
    return out


def table_rows(markdown: str, heading: str) -> list[list[str]]:
    """The body rows (as cells) of the first table after ``heading``."""
    section = markdown.split(heading, 1)[1].split("\n## ", 1)[0]
    lines = [ln for ln in section.splitlines() if ln.startswith("|")]
    return [cells(ln) for ln in lines[2:]]  # skip the header and the |---| line


def is_raw_data(path: Path) -> bool:
    if path.is_file():
        return path.suffix in RAW_SUFFIXES
    return path.is_dir() and any(p.suffix in RAW_SUFFIXES for p in path.rglob("*") if p.is_file())


def _exists(path: Path) -> bool:
    """``path`` exists, or is the output prefix of files that do (``--prefix docs/x/s11`` -> ``s11_curve.png``)."""
    return path.exists() or (path.parent.is_dir() and any(path.parent.glob(glob.escape(path.name) + "?*")))


def row_problems(row: list[str], root: Path = ROOT) -> list[str]:
    """Why a results/benchmark row breaks the evidence rule (empty: it keeps it)."""
    text = " | ".join(row)
    named = sorted({m.rstrip("/.") for m in DOCS_PATH.findall(text)})
    problems = [f"names {p}, which does not exist" for p in named if not _exists(root / p)]
    if len(row) > 2 and FIGURE.search(row[2]):
        if not any(is_raw_data(root / p) for p in named):
            problems.append("has figures but names no committed raw data (docs/...json|csv|txt)")
    return problems


def dangling_references(markdown: str, doc: Path, root: Path = ROOT) -> list[str]:
    """``docs/`` paths in the prose and relative link targets of ``doc`` that do not exist."""
    prose = FENCE.sub("", markdown)
    missing = [p for p in DOCS_PATH.findall(prose) if not _exists(root / p.rstrip("."))]
    for target in LINK.findall(markdown):
        target = target.split("#")[0]
        if target and "://" not in target and not (doc.parent / target).exists():
            missing.append(target)
    return sorted(set(missing))


def doc_files() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), ROOT / "policies" / "README.md"]


# --------------------------------------------------------------------------- tests
@pytest.mark.parametrize("heading", TABLE_SECTIONS)
def test_every_figure_row_of_the_readme_names_its_raw_data(heading: str) -> None:
    rows = table_rows((ROOT / "README.md").read_text(), heading)
    assert len(rows) >= 5, rows
    assert sum(bool(FIGURE.search(r[2])) for r in rows) >= 5  # the figure detector sees the figures
    bad = {r[0]: row_problems(r) for r in rows if row_problems(r)}
    assert not bad, bad


def test_no_doc_points_at_missing_evidence() -> None:
    bad = {d.relative_to(ROOT).as_posix(): dangling_references(d.read_text(), d) for d in doc_files()}
    bad = {k: v for k, v in bad.items() if v}
    assert not bad, bad


def _printed_rows(*argv: str) -> list[str]:
    """The Markdown body rows a committed report script prints from committed data."""
    proc = subprocess.run(
        [sys.executable, *argv], capture_output=True, text=True, cwd=ROOT, timeout=300,
        env={**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg"},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = [ln for ln in proc.stdout.splitlines() if ln.startswith("| ")]
    return [r for r in rows if not r.startswith(("| policy |", "| steps |"))]


def test_every_steps_table_command_prints_the_table_below_it() -> None:
    """Each fenced ``python examples/ppo_steps_table.py docs/<committed JSON> ...`` command of docs/*.md is followed,
    row for row, by the table it prints (commands reading an uncommitted ``runs/`` file are history)."""
    checked = 0
    for doc in sorted((ROOT / "docs").glob("*.md")):
        text = doc.read_text()
        lines = text.splitlines()
        for block in FENCE.findall(text):
            for line in block.replace("\\\n", " ").splitlines():
                argv = line.split("#")[0].split()
                if argv[:2] != ["python", "examples/ppo_steps_table.py"] or not argv[2].startswith("docs/"):
                    continue  # a runs/ file is a local run, not committed evidence (it may exist here)
                assert (ROOT / argv[2]).is_file(), (doc.name, line)
                rows = _printed_rows(*argv[1:])
                assert rows and rows[0] in lines, (doc.name, line)
                start = lines.index(rows[0])
                assert lines[start : start + len(rows)] == rows, (doc.name, line)
                checked += 1
    assert checked >= 3


def test_adr_tables_are_the_committed_data() -> None:
    """docs/adr.md's evaluation table and its training table are what the committed JSON prints."""
    doc = (ROOT / "docs" / "adr.md").read_text().splitlines()
    rows = _printed_rows("examples/adr_report.py", "--from-json", "docs/adr_eval.json", "--no-plots")
    assert len(rows) >= 6
    assert [r for r in rows if r not in doc] == []
    for run, label in (("cpu_fullrand", "(b) full randomization"), ("cpu_adr", "(c) ADR")):
        printed = _printed_rows("examples/ppo_steps_table.py", f"docs/adr_runs/{run}_metrics.json",
                                "--ranges", "490000:510000", "1380000:1410000")  # fmt: skip
        assert len(printed) == 2
        for row in printed:  # the doc's rows add the run and leave out the episode length
            cut = cells(row)
            assert f"| {label} | " + " | ".join(cut[:-1]) + " |" in doc, (label, row)


def test_every_evaluation_row_of_ppo_md_is_printed_from_committed_json() -> None:
    """The converse of tests/test_docs_commands.py's check: no evaluation row of docs/ppo.md (``| policy | 8 s |`` or
    ``| policy | 80 s |``) is typed by hand; each is printed by ``examples/ppo_eval_report.py`` from committed JSON."""
    printed = set(_printed_rows("examples/ppo_eval_report.py", "--from-json", "docs/ppo_eval.json", "--no-plots"))
    printed |= set(_printed_rows("examples/ppo_eval_report.py", "--set", "fidelity", "--from-json",
                                 "docs/ppo_fidelity_eval.json", "--no-plots"))  # fmt: skip
    doc = (ROOT / "docs" / "ppo.md").read_text().splitlines()
    rows = [ln for ln in doc if re.match(r"\| [^|]+ \| (8|80) s \| ", ln)]
    assert len(rows) >= 60
    assert [r for r in rows if r not in printed] == []


def test_the_checks_can_fail(tmp_path: Path) -> None:
    """A figure row without data, a row naming a missing file and a dangling link are caught; good rows pass."""
    (tmp_path / "docs" / "runs").mkdir(parents=True)
    (tmp_path / "docs" / "a.json").write_text("{}")
    (tmp_path / "docs" / "runs" / "eval.csv").write_text("x\n")
    (tmp_path / "docs" / "curve.png").write_bytes(b"")
    ok = [
        ["env", "`python benchmarks/x.py`", "**0.87** of the floor (`docs/a.json`)"],
        ["dreamer", "`python examples/y.py`", "return −86.9 ([docs/runs/](docs/runs/))"],
        ["quick", "`python examples/z.py`", "a checkpoint, a curve, a video"],  # no figure
    ]
    assert [row_problems(r, tmp_path) for r in ok] == [[], [], []]
    bad = [
        ["env", "`python benchmarks/x.py`", "**0.87** of the floor"],  # no data at all
        ["env", "`python benchmarks/x.py`", "1,503 steps/s (`docs/curve.png`)"],  # a plot is not raw data
        ["env", "`python benchmarks/x.py`", "12 % faster (`docs/b.json`)"],  # missing file
        ["Dreamer on `Dactyl-v0`", "`python examples/y.py`", "0.22 ± 0.50"],  # no data
    ]
    assert all(row_problems(r, tmp_path) for r in bad), [row_problems(r, tmp_path) for r in bad]
    # a row saying its data is missing is still a row without data
    assert row_problems(["Dreamer on `Dactyl-v0`", "", "0.22 (*raw data not committed*)"], tmp_path) != []
    # an output prefix (`--prefix docs/runs/s11` writing docs/runs/s11_curve.png) names what it wrote
    (tmp_path / "docs" / "runs" / "s11_curve.png").write_bytes(b"")
    assert row_problems(["x", "`python y.py --prefix docs/runs/s11`", "a curve"], tmp_path) == []
    assert row_problems(["x", "`python y.py --prefix docs/runs/s12`", "a curve"], tmp_path) != []
    doc = tmp_path / "docs" / "page.md"
    text = "see `docs/a.json` and [b](b.json) and docs/missing.csv\n```bash\npython x.py --json docs/later.json\n```\n"
    assert dangling_references(text, doc, tmp_path) == ["b.json", "docs/missing.csv"]
    assert cells("| a | `x | y` | c |") == ["a", "`x | y`", "c"]
