"""Issue 32: xdist's ssh workers on another machine, with its own compiler, cache and checkout.

A real sshd on 127.0.0.1 and a second host whose Python runs in a private mount
namespace where this host's project, venv, compiler and caches do not exist
(sshhost.py). Verdicts are compared with a local run's, compiles are counted
on each host by the stand-in (WYN_STANDIN_COUNT_FILE), and what the summary
says is checked against those counts.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import MIXED_SUITE, REPO, WynProject
from sshhost import SecondHost, copy_standin, portable_launcher, ssh_unavailable, start_sshd

pytestmark = [pytest.mark.timeout(300), pytest.mark.skipif(bool(ssh_unavailable()), reason=ssh_unavailable())]

SUITE = MIXED_SUITE
FILES = 5  # the test files of SUITE


class Machines:
    """This host's project (the controller's) and the second host, reached through sshd."""

    def __init__(self, wyn: WynProject, host: SecondHost, ssh_config: Path) -> None:
        self.wyn = wyn
        self.host = host
        self.ssh_config = ssh_config
        for name, text in SUITE.items():
            wyn.write(name, text)
        wyn.compiler.write_text(portable_launcher())  # the same bytes on both hosts: the same toolchain
        copy_standin(wyn.path)

    def hidden(self) -> list[Path]:
        """This host's folders a worker on the second host must not reach."""
        paths = [REPO, Path(sys.prefix), self.wyn.path, self.wyn.cache]
        c_level = os.environ.get("PYTEST_WYN_C_CACHE_DIR")
        return paths + ([Path(c_level)] if c_level else [])

    def prepare(self, env: dict[str, str] | None = None) -> None:
        """The second host's checkout: a copy of the project as it is now; its cache empty."""
        self.host.prepare(self.wyn.path, self.hidden(), env)

    def spec(self) -> str:
        return self.host.spec(self.ssh_config)

    def run(self, *args: str) -> pytest.RunResult:
        return self.wyn.run_subprocess("-rA", "-p", "no:randomly", *args)


@pytest.fixture(scope="module")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, SecondHost]]:
    base = tmp_path_factory.mktemp("ssh")
    server, ssh_config = start_sshd(base / "sshd")
    try:
        yield ssh_config, SecondHost(base / "host2")
    finally:
        server.stop()


@pytest.fixture
def machines(wyn: WynProject, sshd: tuple[Path, SecondHost]) -> Machines:
    return Machines(wyn, sshd[1], sshd[0])


def verdicts(result: pytest.RunResult) -> dict[str, str]:
    """Each test's outcome, from the -rA short summary."""
    found = {}
    for line in result.stdout.lines:
        m = re.match(r"^(PASSED|FAILED|ERROR|SKIPPED|XFAIL|XPASS) (\S+)", line)
        if m:
            found[m.group(2)] = m.group(1)
    return found


def workers_of(result: pytest.RunResult) -> dict[str, str]:
    """Which worker ran each test (pytest -v under xdist: ``[gw0] PASSED nodeid``)."""
    return {
        m.group(2): m.group(1)
        for line in result.stdout.lines
        if (m := re.match(r"^\[(gw\d+)\] \[\s*\d+%\] \w+ (\S+)", line))
    }


def test_ssh_workers_give_the_local_verdicts_and_compile_nothing_the_second_time(machines: Machines) -> None:
    machines.prepare()
    spec = machines.spec()
    first = machines.run("-d", "--tx", spec, "--tx", spec, "-v")
    first.stdout.fnmatch_lines(["2 workers [6 items]"])  # the named gateways, and no local worker added
    assert machines.wyn.compiles() == [], "this host compiled: the workers are on the other one"
    assert sorted(machines.host.compiles()) == sorted(n for n in SUITE if n.startswith("test_"))
    first.stdout.fnmatch_lines(
        [f"compiled {FILES} file(s) in *, 0 from the cache*", f"  on ssh=host2 (gw0, gw1): compiled {FILES} file(s)*"]
    )
    ran_on = workers_of(first)
    assert ran_on["test_blocks.wyn::one"] == ran_on["test_blocks.wyn::two"], "a file's blocks are one compile"
    assert "could not be started" not in first.stdout.str()

    second = machines.run("-d", "--tx", spec)
    assert len(machines.host.compiles()) == FILES, "the second run compiled again on the second host"
    second.stdout.fnmatch_lines([f"compiled 0 file(s) in *, {FILES} from the cache*"])

    local = machines.run("-n0")
    assert verdicts(first) == verdicts(second) == verdicts(local)
    assert verdicts(local) == {
        "test_pass.wyn::test_pass": "PASSED",
        "test_fail.wyn::test_fail": "FAILED",
        "test_compile_error.wyn::test_compile_error": "FAILED",
        "test_blocks.wyn::one": "PASSED",
        "test_blocks.wyn::two": "FAILED",
        "test_util.wyn::answer": "PASSED",
    }


def test_local_and_ssh_workers_together_each_compile_what_they_run(machines: Machines) -> None:
    machines.prepare()
    result = machines.run("-d", "--tx", "2*popen", "--tx", machines.spec(), "-v")
    here, there = machines.wyn.compiles(), machines.host.compiles()
    assert sorted(here + there) == sorted(n for n in SUITE if n.startswith("test_")), "each file compiled once"
    result.stdout.fnmatch_lines(
        [
            f"compiled {FILES} file(s) in *",
            f"  on this machine (gw0, gw1): compiled {len(here)} file(s)*",
            f"  on ssh=host2 (gw2): compiled {len(there)} file(s)*",
        ]
    )
    assert verdicts(result) == verdicts(machines.run("-n0"))


def test_another_build_of_wyn_on_the_second_host_fails_its_tests_naming_both(machines: Machines) -> None:
    machines.prepare()
    with (machines.host.project / "wyn").open("a") as f:
        f.write("# built from another commit\n")
    result = machines.run("-d", "--tx", machines.spec())
    outcomes = verdicts(result)
    assert set(outcomes.values()) == {"FAILED"} and len(outcomes) == 6
    result.stdout.fnmatch_lines(
        [
            "*the Wyn toolchain on ssh=host2 is not the controller's*",
            f"*ssh=host2: {machines.host.project / 'wyn'} (Wyn *; identity *",
            f"*controller: {machines.wyn.compiler} (Wyn *; identity *",
        ]
    )
    assert machines.host.compiles() == []


def test_a_shared_cache_filled_by_the_second_host_is_read_here(
    machines: Machines, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The cache's URL, trust and write settings travel; the signing key is the second host's own."""
    pytest.importorskip("cryptography", reason="the remote cache needs cryptography")
    from servers import make_key, running, start_wsgidav

    key = tmp_path / "host2-signing-key"
    public = make_key(key, "host2")
    for name in list(os.environ):
        if name.startswith("PYTEST_WYN_REMOTE_CACHE"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("PYTEST_WYN_C_CACHE", "0")
    with running(start_wsgidav(tmp_path / "dav")) as server:
        monkeypatch.setenv("PYTEST_WYN_REMOTE_CACHE", server.url)
        monkeypatch.setenv("PYTEST_WYN_REMOTE_CACHE_TRUSTED_KEYS", public)
        monkeypatch.setenv("PYTEST_WYN_REMOTE_CACHE_WRITE", "1")
        machines.prepare({"PYTEST_WYN_REMOTE_CACHE_SIGNING_KEY": str(key)})
        filled = machines.run("-d", "--tx", machines.spec())
        filled.stdout.fnmatch_lines([f"remote cache: * {FILES} uploaded*"])
        assert "names no key" not in filled.stdout.str(), "this host uploads nothing and need not say so"
        assert len(machines.host.compiles()) == FILES

        monkeypatch.delenv("PYTEST_WYN_REMOTE_CACHE_WRITE")
        read_here = machines.run("-n0")
        assert machines.wyn.compiles() == [], "this host compiled what the second one had shared"
        read_here.stdout.fnmatch_lines([f"remote cache: {FILES} of {FILES} file(s) missing here fetched*"])
        assert verdicts(read_here) == verdicts(filled)

        machines.prepare()  # the second host again, its local cache empty, reading what it shared
        again = machines.run("-d", "--tx", machines.spec())
        assert machines.host.compiles() == []
        again.stdout.fnmatch_lines([f"remote cache: {FILES} of {FILES} file(s) missing here fetched*"])


def test_wyn_on_in_the_ini_reaches_a_worker_that_has_no_ini(machines: Machines, tmp_path: Path) -> None:
    """--rsyncdir copies the project into the worker's folder, where no ini file turns Wyn on."""
    toolchain = tmp_path / "host2-toolchain"
    toolchain.mkdir()
    (toolchain / "wyn").write_text(portable_launcher())
    (toolchain / "wyn").chmod(0o755)
    copy_standin(toolchain)
    machines.host.prepare(None, machines.hidden(), {"WYN": str(toolchain / "wyn")})
    spec = machines.host.spec(machines.ssh_config)
    result = machines.run("-d", "--tx", spec, f"--rsyncdir={machines.wyn.path}", "-W", "ignore::DeprecationWarning")
    outcomes = verdicts(result)
    assert len(outcomes) == 6, result.stdout.str()
    assert sorted(outcomes.values()) == ["FAILED"] * 3 + ["PASSED"] * 3


def test_a_second_host_that_collects_fewer_wyn_files_is_named(machines: Machines) -> None:
    machines.prepare()
    (machines.host.project / "test_pass.wyn").unlink()
    result = machines.run("-d", "--tx", machines.spec())
    result.stdout.fnmatch_lines(
        ["*worker gw0 (ssh=host2) did not collect 1 of the 5 Wyn test file(s) this machine finds: test_pass.wyn*"]
    )

