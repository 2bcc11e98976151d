"""Issue 22 (3): every YAML block of the README is complete: it parses and names no placeholder."""

from __future__ import annotations

import re

import yaml
from conftest import DOC_FILES, REPO, user_docs

README = user_docs()
BLOCKS = re.findall(r"```yaml\n(.*?)```", README, re.DOTALL)
PLACEHOLDER = re.compile(r"<(you|your[^>]*|placeholder|todo)>|/ci/install-wyn\.sh|\.\.\.$", re.IGNORECASE | re.MULTILINE)


def test_every_yaml_block_parses_and_has_no_placeholder() -> None:
    assert len(BLOCKS) >= 2
    for block in BLOCKS:
        yaml.safe_load(block)
        assert not PLACEHOLDER.search(block), block


def test_the_github_recipe_is_a_whole_workflow() -> None:
    workflow = next(yaml.safe_load(b) for b in BLOCKS if "runs-on:" in b)
    assert set(workflow[True]) >= {"push", "pull_request"}  # YAML reads the key `on` as true
    steps = workflow["jobs"]["wyn-tests"]["steps"]
    runs = "\n".join(str(step.get("run", "")) for step in steps)
    assert "https://github.com/wynlang/wyn.git" in runs and "make -C ~/wyn" in runs
    assert "pytest --splits 3" in runs
    assert any(step.get("uses", "").startswith("actions/upload-artifact") for step in steps)


def test_the_gitlab_recipe_builds_wyn_and_restricts_the_build_directories() -> None:
    job = next(yaml.safe_load(b) for b in BLOCKS if "script:" in b and "CI_PROJECT_DIR" in b)["wyn-tests"]
    script = "\n".join(job["script"])
    assert "https://github.com/wynlang/wyn.git" in script
    assert 'chmod go-w "$d"' in script
    # GitLab clones with umask 0000: the folders inside the project are writable by all too (issue 31.3).
    for block in BLOCKS:
        if "CI_PROJECT_DIR" in block and "script:" in block:
            assert 'chmod -R go-w "$CI_PROJECT_DIR"' in block
    assert job["artifacts"]["reports"]["junit"] == "junit.xml"


def test_the_remote_recipes_write_as_the_readmes_nginx_lets_them() -> None:
    """Issue 31.2: the recipes sent a bearer token to an nginx that asks for a password: uploads were refused."""
    nginx = re.search(r"```nginx\n(.*?)```", README, re.DOTALL)
    assert nginx is not None and "auth_basic " in nginx.group(1) and "limit_except GET HEAD" in nginx.group(1)
    writers = [b for b in BLOCKS if "PYTEST_WYN_REMOTE_CACHE_WRITE" in b]
    assert len(writers) == 2  # GitHub and GitLab
    for block in writers:
        assert "PYTEST_WYN_REMOTE_CACHE_TOKEN" not in block
        assert re.search(r"PYTEST_WYN_REMOTE_CACHE=.?https://ci:\$\w+@wyn-cache\.example\.org/", block), block
        assert "-W error::pytest_wyn.WynWarning" in block  # a refused upload fails the writer's job


def test_the_readme_is_the_users_path_and_every_link_lands() -> None:
    """Issue 31.6: the README stays short; the rest is under docs/; no link or anchor points nowhere."""
    readme = (REPO / "README.md").read_text()
    assert len(readme.splitlines()) <= 300
    for path in DOC_FILES:
        text = path.read_text()
        assert not re.search(r"round[- ]\d|the seed'?s? runner", text, re.IGNORECASE), path.name
        for target, anchor in re.findall(r"\]\((?!https?://)([^)#\s]*)(?:#([^)\s]+))?\)", text):
            page = (path.parent / target).resolve() if target else path
            assert page.is_file(), f"{path.name}: a link to {target}"
            if anchor and page.suffix == ".md":
                slugs = {_slug(h) for h in re.findall(r"^#+ (.+)$", page.read_text(), re.MULTILINE)}
                assert anchor in slugs, f"{path.name}: a link to {target}#{anchor}"


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
