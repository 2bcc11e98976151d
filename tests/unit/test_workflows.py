"""The project's GitHub Actions workflows are complete YAML: they parse, run on the platforms they name."""

from __future__ import annotations

import re

import yaml
from conftest import REPO

WORKFLOWS = REPO / ".github" / "workflows"


def test_the_ci_workflow_covers_every_platform_wyn_ships_on() -> None:
    workflow = yaml.safe_load((WORKFLOWS / "ci.yml").read_text())
    assert set(workflow[True]) >= {"push", "pull_request"}  # YAML reads the key `on` as true
    matrix = workflow["jobs"]["suite"]["strategy"]["matrix"]
    assert matrix["os"] == ["ubuntu-latest", "macos-15", "macos-15-intel", "windows-latest"]
    assert matrix["python"] == ["3.10", "3.13"]
    steps = "\n".join(str(step.get("run", "")) for step in workflow["jobs"]["suite"]["steps"])
    assert "git clone --depth 1 --branch \"$WYN_TAG\" https://github.com/wynlang/wyn.git" in steps
    assert "python -m pytest tests -n 2" in steps
    lint = "\n".join(str(step.get("run", "")) for step in workflow["jobs"]["lint"]["steps"])
    assert "--platform \"$platform\"" in lint and "linux darwin win32" in lint


def test_no_workflow_has_a_placeholder() -> None:
    for path in WORKFLOWS.glob("*.yml"):
        text = path.read_text()
        yaml.safe_load(text)
        assert not re.search(r"<(you|your[^>]*|placeholder|TODO)>|\.\/ci\/install-wyn\.sh", text), path
