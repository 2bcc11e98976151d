"""The README's CI recipes, run as written (issue 31.1): a fresh clone, the recipe's own shell lines.

Nothing reaches the network for pytest-wyn: the clone's ci-requirements.txt is the README's, with its VCS
URL pointing at this checkout (``git+file://``, at its commit). Two things are stood in for, as a CI runner
would have them: cloning and building Wyn (a ``git`` and a ``make`` on PATH that lay out the stand-in
toolchain instead), and ``chmod`` outside the test's folder (GitLab's recipe walks up to ``/``: here only
the clone's own folders are changed). pytest-split and pytest-wyn's dependencies come from the package index.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import REPO, STANDIN, user_docs

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(sys.platform == "win32", reason="the recipes run on Linux runners"),
]
README = user_docs()
YAML = re.findall(r"```yaml\n(.*?)```", README, re.DOTALL)
REQUIREMENTS = re.findall(r"```text\n(# ci-requirements.txt\n.*?)```", README, re.DOTALL)[0]


def commit() -> str:
    done = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip("not a git checkout: the recipes install pytest-wyn from one")
    return done.stdout.strip()


@pytest.fixture(scope="module")
def runner(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CI runner's Python: a fresh virtual environment (the recipes install into it)."""
    venv = tmp_path_factory.mktemp("runner") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    return venv


def clone(tmp_path: Path) -> Path:
    """A fresh clone of a Wyn project, with the file the README tells its users to write."""
    project = tmp_path / "project"
    shutil.copytree(REPO / "example_project", project, ignore=shutil.ignore_patterns(".pytest_cache", "wyn"))
    url = re.search(r"git\+https://\S+", REQUIREMENTS)
    assert url is not None
    (project / "ci-requirements.txt").write_text(REQUIREMENTS.replace(url.group(), f"git+file://localhost{REPO}@{commit()}"))
    return project


def stand_ins(tmp_path: Path) -> Path:
    """``git clone … wyn.git DEST`` lays out the stand-in toolchain; ``make`` does nothing; ``chmod`` stays inside."""
    bin_dir = tmp_path / "stand-ins"
    bin_dir.mkdir()
    real_git, real_chmod = shutil.which("git"), shutil.which("chmod")
    (bin_dir / "git").write_text(
        "#!/bin/sh\n"
        'case "$*" in *wynlang/wyn.git*)\n'
        '  for dest; do :; done\n'
        '  mkdir -p "$dest" && printf \'#!/bin/sh\\nexec %s -S %s "$@"\\n\' '
        f'"{sys.executable}" "{STANDIN}" > "$dest/wyn" && /bin/chmod 755 "$dest/wyn"; exit 0;;\n'
        "esac\n"
        f'exec {real_git} "$@"\n'
    )
    (bin_dir / "make").write_text("#!/bin/sh\nexit 0\n")
    (bin_dir / "chmod").write_text(
        "#!/bin/sh\n"
        'for arg; do case "$arg" in -*|go-w|[0-7]*) ;; '
        f'{tmp_path}|{tmp_path}/*) ;; *) exit 0;; esac; done\n'
        f'exec {real_chmod} "$@"\n'
    )
    for tool in bin_dir.iterdir():
        tool.chmod(0o755)
    return bin_dir


def environment(tmp_path: Path, runner: Path, extra: dict[str, str]) -> dict[str, str]:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True, mode=0o700)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "WYN"))}
    env.update(HOME=str(home), PATH=f"{stand_ins(tmp_path)}:{runner / 'bin'}:{env['PATH']}", **extra)
    return env


def test_the_github_recipe_runs_as_written(tmp_path: Path, runner: Path) -> None:
    workflow = next(yaml.safe_load(b) for b in YAML if "runs-on:" in b and "--splits" in b)
    job = workflow["jobs"]["wyn-tests"]
    project = clone(tmp_path)
    github_env, github_path = tmp_path / "github-env", tmp_path / "github-path"
    github_env.touch()
    github_path.touch()
    env = environment(tmp_path, runner, {"GITHUB_ENV": str(github_env), "GITHUB_PATH": str(github_path)})
    env.update({k: str(v) for k, v in job["env"].items()})
    expressions = {"matrix.group": "1", "env.WYN_TAG": job["env"]["WYN_TAG"], "runner.os": "Linux"}
    ran = []
    for step in job["steps"]:
        if "run" not in step:
            continue  # actions: the checkout is the clone, setup-python the runner's venv, caches start empty
        script = re.sub(r"\$\{\{\s*([\w.]+)\s*\}\}", lambda m: expressions[m.group(1)], step["run"])
        done = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", script], cwd=project, env=env, capture_output=True, text=True)
        assert done.returncode == 0, f"step {step.get('name')!r}:\n{done.stdout[-3000:]}{done.stderr[-3000:]}"
        for line in github_path.read_text().splitlines():
            env["PATH"] = f"{line}:{env['PATH']}"
        github_path.write_text("")
        ran.append((step.get("name", ""), done.stdout))
    tested = next(out for name, out in ran if name == "Test")
    assert re.search(r"\d+ passed", tested) and " failed" not in tested
    assert (project / "junit-1.xml").is_file()
    assert (tmp_path / "home" / ".cache" / "pytest-wyn").is_dir()


def test_the_gitlab_recipe_runs_as_written(tmp_path: Path, runner: Path) -> None:
    job = next(yaml.safe_load(b) for b in YAML if "CI_NODE_INDEX" in b)["wyn-tests"]
    project = clone(tmp_path)
    project.chmod(0o777)  # as GitLab clones: umask 0000
    (project / "tests").chmod(0o777)
    env = environment(tmp_path, runner, {"CI_PROJECT_DIR": str(project), "CI_NODE_INDEX": "1", "CI_NODE_TOTAL": "3"})
    for name, value in job["variables"].items():
        env[name] = os.path.expandvars(str(value).replace("$CI_PROJECT_DIR", str(project)))
    script = "\n".join(job["script"])
    done = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", script], cwd=project, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert re.search(r"\d+ passed", done.stdout) and " failed" not in done.stdout
    assert "another user can write" not in done.stdout  # the recipe closed the clone's folders
    assert (project / "junit.xml").is_file()


def readme_file(name: str) -> str:
    found = re.search(rf"```\w+\n# {re.escape(name)}\n(.*?)```", README, re.DOTALL)
    assert found is not None, f"the README shows no {name}"
    return found.group(1)


@pytest.mark.parametrize("tool", ["tox", "nox"])
def test_the_readmes_tox_and_nox_files_run(tmp_path: Path, tool: str) -> None:
    """Issue 31.9: the README's tox.ini and noxfile.py, in a Wyn project, as written."""
    if shutil.which(tool, path=str(Path(sys.executable).parent)) is None:
        pytest.skip(f"{tool} is not installed (the dev extra installs it)")
    project = clone(tmp_path)
    (project / "wyn").write_text(f'#!/bin/sh\nexec {sys.executable} -S {STANDIN} "$@"\n')
    (project / "wyn").chmod(0o755)  # the project's ./wyn: the stand-in here
    name = "tox.ini" if tool == "tox" else "noxfile.py"
    (project / name).write_text(readme_file(name))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "WYN", "TOX", "NOX", "VIRTUAL_ENV"))}
    env["PYTEST_WYN_CACHE_DIR"] = str(tmp_path / "cache")
    done = subprocess.run(
        [str(Path(sys.executable).parent / tool)], cwd=project, env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert re.search(r"6 passed, 1 skipped, 1 xfailed", done.stdout), done.stdout[-2000:]
