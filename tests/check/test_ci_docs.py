"""docs/ci-github-actions.md and the README section: the workflow parses and its commands work.

The workflow's YAML is loaded and its structure checked; every profiler-kit
option it (or a shell block of the page) uses must exist; the TOML example
must be accepted by ``check``; and the workflow's own ``run:`` commands are
run, in order, against a small app standing in for ``shop.main:app``.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).parents[2]
DOC = ROOT / "docs" / "ci-github-actions.md"
README = ROOT / "README.md"
BIN = Path(sys.executable).parent
FENCE = re.compile(r"^```(\w+)\n(.*?)^```", re.S | re.M)
SUBCOMMANDS = ("bench", "check", "baseline save")

SHOP_APP = """\
from flask import Flask, request

app = Flask(__name__)


@app.get("/products")
def products():
    return {"products": [{"id": number, "name": f"product {number}"} for number in range(20)]}


@app.post("/cart")
def cart():
    body = request.get_json()
    return {"items": len(body["items"])}
"""


def _blocks(text: str, language: str) -> list[str]:
    return [body for lang, body in FENCE.findall(text) if lang == language]


def _workflow() -> dict[Any, Any]:
    documents = [yaml.safe_load(block) for block in _blocks(DOC.read_text("utf-8"), "yaml")]
    workflows = [d for d in documents if isinstance(d, dict) and "jobs" in d]
    assert len(workflows) == 1, "expected one complete workflow in the page"
    return workflows[0]


def _steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    steps = job["steps"]
    assert isinstance(steps, list) and steps
    for step in steps:
        assert isinstance(step, dict) and ("run" in step) != ("uses" in step), step
    return steps


def _runs(job: dict[str, Any]) -> list[str]:
    return [step["run"] for step in _steps(job) if "run" in step]


def _uses(job: dict[str, Any], action: str) -> list[dict[str, Any]]:
    return [s for s in _steps(job) if "uses" in s and s["uses"].split("@")[0] == action]


def _commands(script: str) -> list[list[str]]:
    """Each ``profiler-kit ...`` command of a shell script, as words."""
    script = re.sub(r"\\\n", " ", script)
    commands = []
    for line in script.splitlines():
        line = line.split(" #", 1)[0].strip()
        if line.startswith("profiler-kit "):
            commands.append(shlex.split(line))
    return commands


# -- the workflow's structure ------------------------------------------------------------


def test_workflow_structure() -> None:
    workflow = _workflow()
    triggers = workflow.get("on", workflow.get(True))  # PyYAML reads a bare `on` as true
    assert triggers["push"]["branches"] == ["main"]
    assert "pull_request" in triggers
    assert workflow["permissions"]["actions"] == "read"
    jobs = workflow["jobs"]
    assert set(jobs) == {"baseline", "check"}
    for job in jobs.values():
        assert job["runs-on"] and _steps(job)
        assert _uses(job, "actions/checkout") and _uses(job, "actions/setup-python")
    assert "push" in jobs["baseline"]["if"] and "pull_request" in jobs["check"]["if"]


def test_baseline_job_saves_and_uploads() -> None:
    workflow = _workflow()
    job = workflow["jobs"]["baseline"]
    commands = [command for run in _runs(job) for command in _commands(run)]
    assert [command[1] for command in commands] == ["bench", "baseline"]
    assert commands[1][1:] == ["baseline", "save", "-o", "baseline.json"]
    (upload,) = _uses(job, "actions/upload-artifact")
    assert upload["with"]["path"] == "baseline.json"
    assert upload["with"]["name"] == "${{ env.BASELINE_ARTIFACT }}"
    assert workflow["env"]["BASELINE_ARTIFACT"]


def test_check_job_downloads_benches_checks_and_keeps_the_report() -> None:
    workflow = _workflow()
    job = workflow["jobs"]["check"]
    runs = _runs(job)
    download = next(run for run in runs if "gh run download" in run)
    assert "--workflow perf.yml --branch main" in download
    assert '--name "$BASELINE_ARTIFACT"' in download
    assert "`.github/workflows/perf.yml`" in DOC.read_text("utf-8")
    commands = [command for run in runs for command in _commands(run)]
    assert [command[1] for command in commands] == ["bench", "check"]
    # The same targets as the baseline job's, or the check fails on missing targets.
    baseline_bench = _commands(_runs(workflow["jobs"]["baseline"])[1])[0]
    assert commands[0] == baseline_bench
    check = " ".join(commands[1])
    assert "check --baseline baseline.json --format junit -o perf.xml" in check
    report = commands[1][commands[1].index("--report") + 1]
    (keep,) = _uses(job, "actions/upload-artifact")
    assert "failure()" in keep["if"]
    assert report in keep["with"]["path"].split()


def test_every_option_exists() -> None:
    """Options used in the workflow and the shell blocks are in the commands' --help."""
    doc = DOC.read_text("utf-8")
    scripts = [step for job in _workflow()["jobs"].values() for step in _runs(job)]
    scripts += _blocks(doc, "bash") + _blocks(_readme_section(), "bash")
    commands = [command for script in scripts for command in _commands(script)]
    assert commands
    helps: dict[str, str] = {}
    for command in commands:
        name = "baseline save" if command[1] == "baseline" else command[1]
        if name not in SUBCOMMANDS:
            continue
        if name not in helps:
            helps[name] = subprocess.run(
                [sys.executable, "-m", "profiler_kit", *name.split(), "--help"],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
        for word in command:
            option = word.split("=", 1)[0]
            if option.startswith("-") and option != "--":
                assert re.search(rf"(^|[\s,]){re.escape(option)}\b", helps[name]), (
                    f"{option} of {' '.join(command)} is not an option of {name}"
                )


def _readme_section() -> str:
    readme = README.read_text("utf-8")
    return readme.split("\n## Performance checks in CI\n", 1)[1].split("\n## ", 1)[0]


@pytest.mark.parametrize("source", ["doc", "readme"])
def test_toml_example_is_accepted(tmp_path: Path, source: str) -> None:
    """The ``[tool.profiler-kit.check]`` example passes validation (the error is about the
    baseline, which is read next, not about a setting)."""
    text = DOC.read_text("utf-8") if source == "doc" else _readme_section()
    (block,) = _blocks(text, "toml")
    assert block.startswith("[tool.profiler-kit.check]\n")
    (tmp_path / "pyproject.toml").write_text(block, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "profiler_kit", "check", "--baseline", "missing.json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert "cannot read the baseline missing.json" in result.stderr, result.stderr


def test_readme_section() -> None:
    readme = README.read_text("utf-8")
    headings = re.findall(r"^## .*$", FENCE.sub("", readme), re.M)
    index = headings.index("## Performance checks in CI")
    assert headings[index + 1] == "## The HTML report"
    section = _readme_section()
    assert "docs/ci-github-actions.md" in section
    for command in ("profiler-kit bench", "profiler-kit baseline save", "profiler-kit check"):
        assert command in section


# -- the workflow's commands, run ----------------------------------------------------------


@pytest.mark.usefixtures("needs_memray")
def test_workflow_commands_run(tmp_path: Path) -> None:
    """The baseline job's then the check job's profiler-kit steps, as the runner would."""
    if shutil.which("valgrind") is None:
        pytest.skip("the workflow benches with --instructions, which needs valgrind")
    (tmp_path / "shop").mkdir()
    (tmp_path / "shop" / "__init__.py").write_text("", encoding="utf-8")
    (tmp_path / "shop" / "main.py").write_text(SHOP_APP, encoding="utf-8")
    (tmp_path / "bench").mkdir()
    (tmp_path / "bench" / "cart.json").write_text('{"items": [1, 2]}', encoding="utf-8")
    summary = tmp_path / "summary.md"
    workflow = _workflow()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROFILER_KIT_")}
    env.update({k: str(v) for k, v in workflow["env"].items()})
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["GITHUB_STEP_SUMMARY"] = str(summary)
    scripts = [
        run
        for job in ("baseline", "check")
        for run in _runs(workflow["jobs"][job])
        if run.startswith("profiler-kit ")
    ]
    results = [
        subprocess.run(
            ["bash", "-c", script],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        for script in scripts
    ]
    *setup, check = results
    for result in setup:
        assert result.returncode == 0, f"{result.args}\n{result.stdout}\n{result.stderr}"
    baseline = json.loads((tmp_path / "baseline.json").read_text("utf-8"))
    assert sorted(baseline["targets"]) == ["GET /products", "POST /cart"]
    # Two runs of the same code: with instruction counts the timings only
    # advise, so machine noise cannot fail the check.
    assert check.returncode == 0, (tmp_path / "perf.xml").read_text("utf-8")
    assert "Traceback" not in check.stderr
    suite = ET.parse(tmp_path / "perf.xml").getroot()
    assert len(list(suite.iter("testcase"))) == 2 * 9
    assert baseline["targets"]["GET /products"]["counts"]["instructions"] > 0
    assert summary.read_text("utf-8").startswith("## profiler-kit check: ")
    assert (tmp_path / "perf-diff.html").exists() == (check.returncode == 1)
