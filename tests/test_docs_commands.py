"""Every ``python examples/...`` / ``python benchmarks/...`` command in README.md and docs/*.md parses.

Each command is cut out of the Markdown (fenced code blocks, with ``\\`` continuations, and inline code spans),
split like a shell would (``shlex``; comments, pipes, ``&&``, ``;`` and redirections end it; a literal ``...``
marks an elision and is dropped), and run up to its script's ``ArgumentParser.parse_args``: the script is
executed as ``__main__`` in a subprocess with ``parse_args`` patched to parse strictly (no abbreviated flags)
and then stop. A wrong flag, a bad value (type or choices) or a missing script fails the test with the file,
the command and argparse's message. ``make docs-check`` runs this module.

Also checked here: the evaluation tables of docs/ppo.md are, row for row, what
``examples/ppo_eval_report.py --from-json docs/ppo_eval.json`` prints, and its 1M-step training table is what
``examples/ppo_steps_table.py docs/ppo_cpu_metrics.json`` prints; every JSON under docs/benchmarks/ is named
in README.md.

Run as a script (``python tests/test_docs_commands.py < commands.json``) it is the checker subprocess.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = re.compile(r"(?:examples|benchmarks)/[\w/.-]+\.py")
ENDS = {"|", "||", "&&", ";", ">", ">>", "2>&1", "&"}
FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.S | re.M)
INLINE = re.compile(r"`([^`\n]+)`")


def doc_files() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def _command(text: str) -> list[str] | None:
    """The argv (script first) of the first ``python examples|benchmarks/...`` in ``text`` (a shell line whose
    comments do not count), or None."""
    try:
        tokens = shlex.split(text, comments=True)
    except ValueError:  # unbalanced quotes: prose, not a command
        return None
    for i, tok in enumerate(tokens[:-1]):
        if tok in ("python", "python3") and SCRIPT.fullmatch(tokens[i + 1]):
            break
    else:
        return None
    argv = []
    for tok in tokens[i + 1 :]:
        if tok in ENDS or tok.startswith(">"):
            break
        if tok != "...":
            argv.append(tok)
    return argv


def extract(markdown: str) -> list[list[str]]:
    """Every example/benchmark command of a Markdown text, as argv lists (script path first)."""
    commands = []
    for block in FENCE.findall(markdown):
        for line in block.replace("\\\n", " ").splitlines():
            cmd = _command(line)
            if cmd:
                commands.append(cmd)
    prose = FENCE.sub("", markdown)
    for span in INLINE.findall(prose):
        cmd = _command(span)
        if cmd:
            commands.append(cmd)
    return commands


def check(commands: list[list[str]]) -> list[str | None]:
    """Run the checker subprocess: for each command None (parses) or the error message."""
    proc = subprocess.run(
        [sys.executable, __file__],
        input=json.dumps(commands),
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg", "OMP_NUM_THREADS": "1"},
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.splitlines()[-1])


# --------------------------------------------------------------------------- tests
def test_extracts_the_commands_of_every_doc() -> None:
    found = {p.name: extract(p.read_text()) for p in doc_files()}
    assert len(found["README.md"]) >= 8 and len(found["ppo.md"]) >= 20, {k: len(v) for k, v in found.items()}
    text = (
        "```bash\n# comment python examples/x.py\npython examples/evaluate.py --episodes 5 \\\n    --goal z  # note\n"
        "PYTHONPATH=. python benchmarks/env_throughput.py --steps 10 | tee out.txt\n```\n"
        "see `python examples/a.py -x ...`"
    )
    assert extract(text) == [
        ["examples/evaluate.py", "--episodes", "5", "--goal", "z"],
        ["benchmarks/env_throughput.py", "--steps", "10"],
        ["examples/a.py", "-x"],
    ]


def test_every_documented_command_parses() -> None:
    commands = [(p, cmd) for p in doc_files() for cmd in extract(p.read_text())]
    errors = check([cmd for _, cmd in commands])
    bad = [
        f"{p.relative_to(ROOT)}: python {shlex.join(cmd)}\n    {err}"
        for (p, cmd), err in zip(commands, errors, strict=True)
        if err is not None
    ]
    assert not bad, "\n".join(bad)


def test_eval_report_commands_parse() -> None:
    """The commands examples/ppo_eval_report.py records in docs/ppo_eval.json when it regenerates it."""
    code = "import json, sys; sys.path.insert(0, 'examples'); from ppo_eval_report import SETS; "
    code += "print(json.dumps([e[3] for entries, _ in SETS.values() for e in entries]))"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg"})  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    commands = [_command(c) for c in json.loads(proc.stdout.splitlines()[-1])]
    assert len(commands) >= 10 and all(commands)
    errors = check(commands)
    assert errors == [None] * len(commands), [(c, e) for c, e in zip(commands, errors, strict=True) if e]


def test_wrong_flags_values_and_scripts_fail() -> None:
    """The check can fail: misspelt, abbreviated and unknown flags, bad values and missing scripts are caught."""
    cases = [
        ["examples/evaluate.py", "--episodes", "50"],  # fine
        ["examples/evaluate.py", "--episdoes", "50"],  # misspelt
        ["examples/evaluate.py", "--episode", "50"],  # an abbreviation argparse would accept by default
        ["examples/evaluate.py", "--episodes", "many"],  # wrong type
        ["benchmarks/env_throughput.py", "--action-type", "analog"],  # not a choice
        ["benchmarks/env_throughput.py", "--json"],  # missing value
        ["examples/no_such_script.py"],
    ]
    errors = check(cases)
    assert errors[0] is None, errors[0]
    assert all(e is not None for e in errors[1:]), errors
    assert "--episdoes" in errors[1] and "--episode" in errors[2] and "many" in errors[3]
    assert "no_such_script" in errors[6]


def _doc(name: str) -> str:
    return (ROOT / "docs" / name).read_text()


def _script_rows(*argv: str) -> list[str]:
    proc = subprocess.run(
        [sys.executable, *argv], capture_output=True, text=True, cwd=ROOT, timeout=300,
        env={**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg"},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    return [line for line in proc.stdout.splitlines() if line.startswith("| ") and not line.startswith("| steps")]


def test_ppo_tables_are_the_committed_data() -> None:
    """docs/ppo.md's evaluation tables and 1M-step table are printed, row for row, from committed JSON."""
    doc = _doc("ppo.md").splitlines()
    eval_rows = _script_rows("examples/ppo_eval_report.py", "--from-json", "docs/ppo_eval.json", "--no-plots")
    assert len(eval_rows) >= 30
    missing = [r for r in eval_rows if r not in doc]
    assert not missing, missing
    steps_rows = _script_rows("examples/ppo_steps_table.py", "docs/ppo_cpu_metrics.json")
    start = doc.index(steps_rows[0])
    assert doc[start : start + len(steps_rows)] == steps_rows


def test_fidelity_tables_are_the_committed_data() -> None:
    """The re-measured cpu run of docs/ppo.md (env-fidelity fixes): evaluation and training tables from JSON."""
    doc = _doc("ppo.md").splitlines()
    eval_rows = _script_rows(
        "examples/ppo_eval_report.py", "--set", "fidelity", "--from-json", "docs/ppo_fidelity_eval.json", "--no-plots"
    )
    assert len(eval_rows) == 24
    missing = [r for r in eval_rows if r not in doc]
    assert not missing, missing
    ranges = ["0:20000", "240000:260000", "490000:510000", "740000:760000", "990000:1010000", "1240000:1260000",
              "1380000:1406936"]  # fmt: skip
    steps_rows = _script_rows("examples/ppo_steps_table.py", "docs/ppo_cpu_hour_metrics.json", "--ranges", *ranges)
    start = doc.index(steps_rows[0])
    assert doc[start : start + len(steps_rows)] == steps_rows


def test_benchmark_evidence_is_named_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text()
    files = sorted((ROOT / "docs" / "benchmarks").glob("*.json"))
    assert files
    for f in files:
        assert f.relative_to(ROOT).as_posix() in readme, f
        assert json.loads(f.read_text())["command"].startswith("python benchmarks/"), f


# --------------------------------------------------------------------------- checker subprocess
class _Parsed(BaseException):
    """Raised by the patched ``parse_args`` once the command line parsed (BaseException: not swallowed)."""


def _run_until_parsed(argv: list[str]) -> str | None:
    import argparse
    import contextlib
    import io
    import runpy

    script = ROOT / argv[0]
    if not script.is_file():
        return f"no such script: {argv[0]}"
    original = argparse.ArgumentParser.parse_args

    def strict_parse_args(self, args=None, namespace=None):
        self.allow_abbrev = False
        original(self, args, namespace)
        raise _Parsed

    saved_argv, saved_path = sys.argv, list(sys.path)
    sys.argv = [str(script), *argv[1:]]
    sys.path.insert(0, str(script.parent))
    err = io.StringIO()
    argparse.ArgumentParser.parse_args = strict_parse_args
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            runpy.run_path(str(script), run_name="__main__")
        return "the script finished without parsing its arguments"
    except _Parsed:
        return None
    except SystemExit as e:
        if e.code in (0, None) and "--help" in argv:
            return None
        return (err.getvalue().strip().splitlines() or [f"exit {e.code}"])[-1]
    except Exception as e:  # noqa: BLE001 - reported as the command's failure
        return f"{type(e).__name__} before its arguments were parsed: {e}"
    finally:
        argparse.ArgumentParser.parse_args = original
        sys.argv, sys.path[:] = saved_argv, saved_path


if __name__ == "__main__":
    results = [_run_until_parsed(cmd) for cmd in json.loads(sys.stdin.read())]
    sys.stdout.flush()
    print(json.dumps(results))
