"""The shared remote cache (issue 21): a second machine compiles nothing, and nothing can poison it.

Against real servers on 127.0.0.1 (wsgidav, nginx, redis-server; servers.py)
and misbehaving ones in this process. Every test checks the verdicts against
the ones an ordinary run gives, and what the user is told.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from conftest import MIXED_SUITE, WynProject
from servers import FaultServer, Server, make_key, running, start_nginx, start_redis, start_wsgidav

# Every test here has a time limit (pytest-timeout); the sessions that read a hostile server also run
# under a memory cap (Remote.machine_b).
pytestmark = pytest.mark.timeout(300)
pytest.importorskip(
    "cryptography.hazmat.primitives.asymmetric.ed25519",
    reason="the remote cache needs cryptography (pip install -e '.[dev]')",
    exc_type=ImportError,  # not only missing: a build whose compiled part cannot load (Wine) is skipped too
)

SUITE = MIXED_SUITE
OUTCOMES = {"passed": 3, "failed": 3}


class Remote:
    """A project, its remote cache settings, and a second machine to read what the first wrote."""

    def __init__(self, wyn: WynProject, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.wyn = wyn
        self.tmp = tmp_path
        self.monkeypatch = monkeypatch
        self.key = tmp_path / "keys" / "writer"
        self.key.parent.mkdir()
        self.public = make_key(self.key, "ci-main")
        self.other_key = tmp_path / "keys" / "other"
        self.other_public = make_key(self.other_key, "someone-else")
        for name, text in SUITE.items():
            wyn.write(name, text)
        for name in list(os.environ):
            if name.startswith("PYTEST_WYN_REMOTE_CACHE"):
                monkeypatch.delenv(name)
        # The first level's tier, alone: the second level's entries in the shared cache have tests of their
        # own (test_a_compiler_branch_reuses_mains_c_compiles_through_the_shared_cache).
        monkeypatch.setenv("PYTEST_WYN_C_CACHE", "0")

    def use(
        self, url: str, trusted: list[str] | None = None, write: bool = False, key: Path | None = None, timeout: int = 1
    ) -> None:
        env = self.monkeypatch
        env.setenv("PYTEST_WYN_REMOTE_CACHE", url)
        env.setenv("PYTEST_WYN_REMOTE_CACHE_TRUSTED_KEYS", "\n".join([self.public] if trusted is None else trusted))
        env.setenv("PYTEST_WYN_REMOTE_CACHE_TIMEOUT", str(timeout))
        if write:
            env.setenv("PYTEST_WYN_REMOTE_CACHE_WRITE", "1")
            env.setenv("PYTEST_WYN_REMOTE_CACHE_SIGNING_KEY", str(key or self.key))
        else:
            env.delenv("PYTEST_WYN_REMOTE_CACHE_WRITE", raising=False)
            env.delenv("PYTEST_WYN_REMOTE_CACHE_SIGNING_KEY", raising=False)

    def fill(self, url: str, *args: str) -> pytest.RunResult:
        """Machine A: a cold run that writes the remote."""
        self.use(url, write=True)
        result = self.wyn.run(*args)
        result.assert_outcomes(**OUTCOMES)
        return result

    def machine_b(
        self, *args: str, trusted: list[str] | None = None, seconds: float = 120, timeout: int = 1
    ) -> tuple[subprocess.CompletedProcess[str], Path]:
        """A copy of the project elsewhere, with an empty local cache, reading the remote.

        Under a memory cap and a time limit (issue 28): a reader that a hostile
        server could make grow or wait without end fails its test, not the machine.
        """
        url = os.environ["PYTEST_WYN_REMOTE_CACHE"]
        self.use(url, trusted=trusted, timeout=timeout)
        where = self.tmp / f"machine-b-{len(list(self.tmp.glob('machine-b-*')))}"
        shutil.copytree(self.wyn.path, where, ignore=shutil.ignore_patterns(".pytest_cache", "*.xml"))
        env = dict(os.environ, PYTEST_WYN_CACHE_DIR=str(where / ".local-cache"))
        env.pop("PYTEST_WYN_C_CACHE_DIR", None)  # its second level too: in its own local cache
        counter = where / "compiles.log"
        env["WYN_STANDIN_COUNT_FILE"] = str(counter)
        argv = [sys.executable, "-m", "pytest", "-p", "no:randomly", "-o", "junit_family=xunit1"]
        argv += ["--junitxml", str(where / "report.xml"), "-rA", *args]
        env["MALLOC_ARENA_MAX"] = "2"  # threads' malloc arenas would count against the address-space cap
        proc = subprocess.run(
            argv, cwd=where, env=env, capture_output=True, text=True, timeout=seconds, preexec_fn=memory_cap
        )
        return proc, counter


READER_MEMORY = 2 << 30  # bytes of address space a reading session may use (a pytest session needs about 0.3 GiB)


def memory_cap() -> None:
    """In the child, before exec: cap its address space (each xdist worker inherits the cap)."""
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (READER_MEMORY, READER_MEMORY))


def compiles(counter: Path) -> list[str]:
    return counter.read_text().splitlines() if counter.exists() else []


def summary_counts(output: str) -> str:
    return output.strip().splitlines()[-1].split(" in ")[0].strip("= ")


def verdicts(output: str) -> list[str]:
    """The -rA short summary lines, sorted: every test's verdict (and its reason)."""
    return sorted(line for line in output.splitlines() if line.startswith(("PASSED ", "FAILED ", "ERROR ")))


def cache_properties(report: Path) -> set[str]:
    root = ET.parse(report).getroot()
    return {p.get("value") or "" for p in root.iter("property") if p.get("name") == "wyn_cache"}


@pytest.fixture
def remote(wyn: WynProject, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Remote:
    return Remote(wyn, tmp_path, monkeypatch)


@pytest.fixture
def dav(tmp_path: Path) -> Server:
    server = start_wsgidav(tmp_path / "wsgidav")
    yield server  # type: ignore[misc]
    server.stop()


def baseline(remote: Remote) -> list[str]:
    """The verdicts with no remote at all."""
    remote.monkeypatch.delenv("PYTEST_WYN_REMOTE_CACHE", raising=False)
    return verdicts(remote.wyn.run("-rA", "-p", "no:randomly", "-n0", "--wyn-no-cache").stdout.str())


def objects(root: Path, kind: str) -> list[Path]:
    return sorted((root / kind).iterdir()) if (root / kind).is_dir() else []


# ------------------------------------------------------------- the round trip


@pytest.mark.parametrize("mode", ["serial", "workers"])
def test_a_second_machine_compiles_nothing_and_gets_the_same_verdicts(
    remote: Remote, dav: Server, tmp_path: Path, mode: str
) -> None:
    expected = baseline(remote)
    first = remote.fill(dav.url, "-rA", "-p", "no:randomly")
    assert verdicts(first.stdout.str()) == expected
    first.stdout.fnmatch_lines(["remote cache: 0 of 5 file(s) missing here fetched*, 5 uploaded"])
    data = tmp_path / "wsgidav" / "data"
    assert len(objects(data, "ac")) == 5  # every result, the compile error's too
    assert len(objects(data, "cas")) == 4  # binaries only

    proc, counter = remote.machine_b(*(["-n", "2"] if mode == "workers" else ["-n", "0"]))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert compiles(counter) == []
    assert verdicts(proc.stdout) == expected
    assert "remote cache: 5 of 5 file(s) missing here fetched" in proc.stdout
    assert "compiled 0 file(s)" in proc.stdout
    assert cache_properties(counter.parent / "report.xml") == {"remote"}
    assert "WynWarning" not in proc.stdout


def test_a_reader_never_writes_and_a_second_run_is_a_local_hit(remote: Remote, dav: Server, tmp_path: Path) -> None:
    remote.fill(dav.url)
    before = sorted(p.name for p in (tmp_path / "wsgidav" / "data").rglob("*"))
    _, counter = remote.machine_b()
    assert compiles(counter) == []
    assert sorted(p.name for p in (tmp_path / "wsgidav" / "data").rglob("*")) == before
    again = remote.wyn.run("-o", "junit_family=xunit1", "--junitxml", str(tmp_path / "again.xml"))
    again.assert_outcomes(**OUTCOMES)
    assert cache_properties(tmp_path / "again.xml") == {"hit"}  # the local cache, not the remote


def test_an_edited_file_is_compiled_not_fetched(remote: Remote, dav: Server) -> None:
    remote.fill(dav.url)
    remote.wyn.write("test_pass.wyn", '// EXPECT: hello\nprintln("changed")\n')
    proc, counter = remote.machine_b()
    assert compiles(counter) == ["test_pass.wyn"]
    assert "FAILED test_pass.wyn::test_pass" in proc.stdout
    assert "remote cache: 4 of 5 file(s) missing here fetched" in proc.stdout


def test_a_writer_uploads_local_hits_the_remote_lacks(remote: Remote, dav: Server, tmp_path: Path) -> None:
    remote.monkeypatch.delenv("PYTEST_WYN_REMOTE_CACHE", raising=False)
    remote.wyn.run().assert_outcomes(**OUTCOMES)  # the local cache is warm, the remote empty
    remote.use(dav.url, write=True)
    result = remote.wyn.run()
    result.assert_outcomes(**OUTCOMES)
    assert sorted(remote.wyn.compiles()) == sorted(SUITE.keys() - {"util.wyn"})  # only the first run compiled
    result.stdout.fnmatch_lines(["remote cache: 5 uploaded"])
    assert len(objects(tmp_path / "wsgidav" / "data", "ac")) == 5


def test_a_compiler_branch_reuses_mains_c_compiles_through_the_shared_cache(
    remote: Remote, dav: Server, tmp_path: Path
) -> None:
    """Issue 29: main's writer shares both levels; a branch with an edited compiler misses the first level
    everywhere, and takes main's binaries by their generated C."""
    from test_compiler_loop import own_compiler

    remote.monkeypatch.delenv("PYTEST_WYN_C_CACHE")
    remote.wyn.own_c_cache()
    compiler = own_compiler(remote.wyn, tmp_path)
    expected = baseline(remote)
    main = remote.fill(dav.url).stdout.str()
    assert "remote cache, C level: 0 of 4 file(s) missing here fetched" in main and ", 4 uploaded" in main
    driver = compiler / "standin" / "driver.py"
    driver.write_text(driver.read_text() + "\n# the branch's compiler edit: the same C for every file\n")
    proc, counter = remote.machine_b()
    assert verdicts(proc.stdout) == expected
    assert len(compiles(counter)) == 5  # the first level missed: a new compiler
    assert "C generated for 4 of them: 4 C compile(s) reused (the second cache level), 0 compiled" in proc.stdout
    assert "remote cache, C level: 4 of 4 file(s) missing here fetched" in proc.stdout
    tampered = remote.machine_b(trusted=[remote.other_public])[0]  # main's signer untrusted: nothing taken
    assert "C generated for 4 of them: 0 C compile(s) reused (the second cache level), 4 compiled" in tampered.stdout
    assert verdicts(tampered.stdout) == expected


# ------------------------------------------------------------- no one can poison it


def _tamper_content(data: Path) -> None:
    for blob in objects(data, "cas"):
        blob.write_bytes(b"#!/bin/sh\necho owned\n")


def _strip_signatures(data: Path) -> None:
    for manifest in objects(data, "ac"):
        body = json.loads(manifest.read_bytes())
        body["signature"] = ""
        manifest.write_text(json.dumps(body))


def _change_recorded_result(data: Path) -> None:
    """Keep each signature, change what it covers: a failed compile made to look like a pass, and so on."""
    for manifest in objects(data, "ac"):
        body = json.loads(manifest.read_bytes())
        inner = json.loads(base64.b64decode(body["manifest"]))
        inner["result"]["diagnostics"] = "all good"
        inner["result"]["returncode"] = 0
        body["manifest"] = base64.b64encode(json.dumps(inner, sort_keys=True, separators=(",", ":")).encode()).decode()
        manifest.write_text(json.dumps(body))


def _remove_content(data: Path) -> None:
    for blob in objects(data, "cas"):
        blob.unlink()


@pytest.mark.parametrize(
    ("tamper", "reason", "count"),
    [
        (_tamper_content, "content not matching its digest", 4),
        (_strip_signatures, "unsigned", 5),
        (_change_recorded_result, "wrongly signed", 5),
        (_remove_content, "content missing", 4),
    ],
)
def test_a_tampered_server_changes_no_verdict(
    remote: Remote, dav: Server, tmp_path: Path, tamper: object, reason: str, count: int
) -> None:
    expected = baseline(remote)
    remote.fill(dav.url)
    tamper(tmp_path / "wsgidav" / "data")  # type: ignore[operator]
    proc, counter = remote.machine_b()
    assert verdicts(proc.stdout) == expected
    assert len(compiles(counter)) == count  # what was rejected was compiled here
    assert f"{count} rejected ({count} {reason})" in proc.stdout
    assert f"{count} entries of the remote cache rejected ({count} {reason}); they were compiled here instead" in (
        proc.stdout
    )
    assert "owned" not in proc.stdout
    metas = [json.loads(m.read_text()) for m in (counter.parent / ".local-cache" / "entries").glob("*/*/meta.json")]
    fetched = [m for m in metas if m["origin"].startswith("remote:")]
    assert len(metas) == 5 and len(fetched) == 5 - count  # nothing rejected reached the local cache


@pytest.mark.parametrize("who", ["untrusted", "revoked", "none"])
def test_entries_from_an_untrusted_or_revoked_signer_are_rejected(remote: Remote, dav: Server, who: str) -> None:
    expected = baseline(remote)
    remote.fill(dav.url)
    trusted = {
        "untrusted": [remote.other_public],
        "revoked": [remote.public, f"@revoked {remote.public}", remote.other_public],
        "none": [],
    }[who]
    proc, counter = remote.machine_b(trusted=trusted)
    assert verdicts(proc.stdout) == expected
    assert len(compiles(counter)) == 5
    if who == "none":
        assert "no trusted keys (wyn_remote_cache_trusted_keys)" in proc.stdout
        return
    reason = "signed by a key the project does not trust" if who == "untrusted" else "signed by a revoked key"
    assert f"5 rejected (5 {reason})" in proc.stdout


def test_a_writer_never_re_signs_what_it_fetched_and_a_revoked_signer_is_a_local_miss(
    remote: Remote, dav: Server, tmp_path: Path
) -> None:
    """Issue 28.3: entries fetched under a key keep that key; revoking it reaches the local cache too."""
    expected = baseline(remote)
    remote.use(dav.url, trusted=[remote.other_public], write=True, key=remote.other_key)  # another writer fills it
    remote.wyn.run().assert_outcomes(**OUTCOMES)
    data = tmp_path / "wsgidav" / "data"
    signed_by_other = {p.name: p.read_bytes() for p in objects(data, "ac")}
    assert len(signed_by_other) == 5
    remote.monkeypatch.setenv("PYTEST_WYN_CACHE_DIR", str(tmp_path / "writer-cache"))  # this writer's own machine
    remote.use(dav.url, trusted=[remote.public, remote.other_public], write=True)
    before = len(remote.wyn.compiles())
    for _ in range(2):  # the session that fetched them, and a later one that finds them in its local cache
        result = remote.wyn.run("-rA", "-p", "no:randomly")
        assert verdicts(result.stdout.str()) == expected
        assert "uploaded" not in result.stdout.str()
    assert len(remote.wyn.compiles()) == before
    assert {p.name: p.read_bytes() for p in objects(data, "ac")} == signed_by_other
    metas = [json.loads(m.read_text()) for m in (tmp_path / "writer-cache" / "entries").glob("*/*/meta.json")]
    assert sorted(m["signer"] for m in metas) == [base64.b64decode(remote.other_public.split()[1])[-32:].hex()] * 5
    remote.use(dav.url, trusted=[remote.public, f"@revoked {remote.other_public}"], write=True)
    result = remote.wyn.run("-rA", "-p", "no:randomly")
    assert verdicts(result.stdout.str()) == expected
    assert len(remote.wyn.compiles()) == before + 5  # misses locally too: compiled here, by this writer
    result.stdout.fnmatch_lines(["*signed by a revoked key*", "*5 uploaded*"])
    assert "under a key that is no longer trusted (or is revoked)" in result.stdout.str()


def test_an_entry_signed_for_another_key_is_rejected(remote: Remote, dav: Server, tmp_path: Path) -> None:
    """A valid signed manifest copied to another file's name (a replay) is refused."""
    remote.fill(dav.url)
    ac = objects(tmp_path / "wsgidav" / "data", "ac")
    for manifest in ac[1:]:
        manifest.write_bytes(ac[0].read_bytes())
    proc, counter = remote.machine_b()
    assert "4 rejected (4 signed for another key or system)" in proc.stdout
    assert len(compiles(counter)) == 4


# ------------------------------------------------------------- never worse than no remote


def test_a_refused_port_turns_the_remote_off_with_one_warning(remote: Remote) -> None:
    expected = baseline(remote)
    remote.use("http://127.0.0.1:9/")  # the discard port: nothing listens
    result = remote.wyn.run("-rA", "-p", "no:randomly")
    assert verdicts(result.stdout.str()) == expected
    out = result.stdout.str()
    assert out.count("the remote cache is off: cannot connect to http://127.0.0.1:9/") == 1
    assert "this session goes on with the local cache only" in out


def test_the_remotes_warnings_point_where_it_was_set(remote: Remote) -> None:
    """Issue 31.7: they were located at `remote cache:0`."""
    remote.wyn.ini("wyn_remote_cache = http://127.0.0.1:9/\n")
    remote.monkeypatch.delenv("PYTEST_WYN_REMOTE_CACHE", raising=False)
    remote.monkeypatch.setenv("PYTEST_WYN_REMOTE_CACHE_TRUSTED_KEYS", remote.public)
    out = remote.wyn.run().stdout.str()
    assert out.count("tox.ini:3: WynWarning: pytest-wyn: the remote cache is off: cannot connect") == 1
    assert "remote cache:0" not in out
    remote.use("http://127.0.0.1:9/")  # from the environment, as the recipes set it
    out = remote.wyn.run("--wyn-cache-clear").stdout.str()
    assert "PYTEST_WYN_REMOTE_CACHE:1: WynWarning: pytest-wyn: the remote cache is off: cannot connect" in out


def test_a_server_that_never_answers_costs_one_timeout(remote: Remote) -> None:
    server = FaultServer("silent")
    try:
        expected = baseline(remote)
        remote.use(server.url)
        proc, _ = remote.machine_b("-n", "0", seconds=60)
        assert verdicts(proc.stdout) == expected
        assert proc.stdout.count("did not complete a request within 1 s") == 1
        assert len(server.requests) <= 8  # the fetch threads asked once each at most, then the remote was off
    finally:
        server.stop()


@pytest.mark.parametrize(
    ("mode", "told"),
    [
        ("nested", "5 rejected (5 not a manifest (over 64 KiB))"),
        ("endless", "5 rejected (5 not a manifest (over 64 KiB))"),
        ("endless-content", "rejected (4 content larger than its signed size)"),
        ("drip", "did not complete a request within 1 s (connecting, the headers and the body together)"),
    ],
)
@pytest.mark.parametrize("workers", ["0", "2"])
def test_a_hostile_server_costs_a_reader_bounded_memory_and_time(
    remote: Remote, mode: str, told: str, workers: str
) -> None:
    """Issue 28.4-6: deep nesting crashed readers, an endless body took 23 GB, a drip held the session."""
    server = FaultServer()
    try:
        expected = baseline(remote)
        remote.fill(server.url)
        server.mode = mode
        proc, counter = remote.machine_b("-n", workers, seconds=90)  # under the memory cap (machine_b)
        assert "INTERNALERROR" not in proc.stdout + proc.stderr
        assert verdicts(proc.stdout) == expected
        assert told in proc.stdout
        # The compile error's entry has no content to send: it is fetched whole even from the endless-content server.
        assert len(compiles(counter)) == (4 if mode == "endless-content" else 5)
    finally:
        server.stop()


def test_a_slow_server_costs_at_most_the_fetch_ahead_budget(remote: Remote) -> None:
    """Every reply just inside the timeout, one after another: fetching ahead stops at 3 timeouts in all."""
    server = FaultServer()
    try:
        for n in range(40):
            remote.wyn.write(f"test_more{n}.wyn", f'println("{n}")\n// EXPECT: {n}\n')
        remote.use(server.url, write=True)
        remote.wyn.run().assert_outcomes(passed=43, failed=3)
        # 46 manifests, 8 at a time, 1.2 s each: 7.2 s in all, past the budget of 3 timeouts of 2 s,
        # while each request stays well inside its own 2 s (room for a busy machine).
        server.delay = 1.2
        proc, counter = remote.machine_b("-n", "0", seconds=90, timeout=2)
        assert "fetching ahead did not finish within 6 s" in proc.stdout
        assert proc.stdout.count("this session goes on with the local cache only") == 1
        assert len(compiles(counter)) > 0
        assert "3 failed, 43 passed" in proc.stdout
    finally:
        server.stop()


@pytest.mark.parametrize("mode", ["500", "truncated"])
def test_server_errors_turn_the_remote_off_after_three_in_a_row(remote: Remote, mode: str) -> None:
    server = FaultServer()
    try:
        remote.fill(server.url)
        server.mode = mode
        proc, counter = remote.machine_b("-n", "0")
        assert proc.returncode == 1
        assert len(compiles(counter)) == 5
        why = "HTTP 500" if mode == "500" else "the reply was cut short"
        assert "the remote cache is off after 3 errors in a row" in proc.stdout
        assert why in proc.stdout
    finally:
        server.stop()


def test_a_writer_makes_the_base_folders_on_a_fresh_webdav_server(remote: Remote, dav: Server, tmp_path: Path) -> None:
    """Issue 28.7: PUT answered 409 and MKCOL never made the URL's own folders: nothing was ever uploaded."""
    url = dav.url.rstrip("/") + "/team/wyn"
    remote.fill(url).stdout.fnmatch_lines(["remote cache: *, 5 uploaded"])
    assert len(objects(tmp_path / "wsgidav" / "data" / "team" / "wyn", "ac")) == 5
    proc, counter = remote.machine_b()
    assert "5 of 5 file(s) missing here fetched" in proc.stdout
    assert compiles(counter) == []


def test_failed_uploads_are_counted_and_said_once(remote: Remote) -> None:
    server = FaultServer("put409")
    try:
        remote.use(server.url, write=True)
        result = remote.wyn.run("-n0")
        result.assert_outcomes(**OUTCOMES)
        out = result.stdout.str()
        assert "upload(s) failed" in out.split("remote cache:")[-1].splitlines()[0]
        assert out.count("upload(s) to the remote cache failed (the last: PUT cas/") == 1
        assert "HTTP 409" in out
        assert "the shared cache is not being filled" in out
    finally:
        server.stop()


def test_a_refused_upload_stops_uploads_only(remote: Remote) -> None:
    server = FaultServer("put401")
    try:
        result = remote.fill(server.url)
        out = result.stdout.str()
        assert out.count("remote cache uploads stopped") == 1
        assert "HTTP 401" in out
        assert server.objects == {}
        assert sum(r.startswith("PUT") for r in server.requests) == 1  # one refusal, then no more tries
    finally:
        server.stop()


def test_a_server_that_dies_mid_session_changes_no_verdict(remote: Remote, dav: Server) -> None:
    expected = baseline(remote)
    remote.wyn.write(
        "test_zz_kill.py",
        f"import os, signal\n\ndef test_the_server_dies():\n    os.kill({dav.proc.pid}, signal.SIGKILL)\n",
    )
    remote.wyn.write("test_zzz_after.wyn", '// EXPECT: after\nprintln("after")\n')
    remote.use(dav.url, write=True)
    result = remote.wyn.run("-rA", "-p", "no:randomly", "--wyn-no-run-ahead")
    result.assert_outcomes(passed=OUTCOMES["passed"] + 2, failed=OUTCOMES["failed"])
    got = [v for v in verdicts(result.stdout.str()) if "zz" not in v]
    assert got == expected
    assert "the remote cache is off" in result.stdout.str()


# ------------------------------------------------------------- the other servers


def test_nginx_anonymous_reads_and_password_writes(remote: Remote, tmp_path: Path) -> None:
    """The README's nginx block, and its recipes' writer (the password in the URL; a refused upload fails the job)."""
    with running(start_nginx(tmp_path / "nginx", "ci", "s3cret")) as nginx:
        remote.monkeypatch.setenv("PYTEST_ADDOPTS", os.environ.get("PYTEST_ADDOPTS", "") + " -W error::pytest_wyn.WynWarning")
        remote.use(nginx.url, write=True)  # no password: nginx refuses the PUT
        anonymous = remote.wyn.run()
        assert anonymous.ret == pytest.ExitCode.TESTS_FAILED
        anonymous.stdout.fnmatch_lines(["ERROR (a WynWarning made an error by -W): *remote cache uploads stopped*HTTP 401*"])
        assert "Traceback" not in anonymous.stdout.str() + anonymous.stderr.str()
        with_password = nginx.url.replace("http://", "http://ci:s3cret@")  # as the recipes write the writer's URL
        written = remote.fill(with_password, "--wyn-cache-clear")
        written.stdout.fnmatch_lines(["remote cache: *5 uploaded"])
        remote.monkeypatch.setenv("PYTEST_WYN_REMOTE_CACHE", nginx.url)
        proc, counter = remote.machine_b()
        assert compiles(counter) == []
        assert "5 of 5 file(s) missing here fetched" in proc.stdout


def test_redis_with_a_read_only_user(remote: Remote, tmp_path: Path) -> None:
    with running(start_redis(tmp_path / "redis", "readpw")) as redis_server:
        remote.fill(redis_server.url).stdout.fnmatch_lines(["remote cache: *5 uploaded"])
        reader = redis_server.url.replace("redis://", "redis://reader:readpw@")
        remote.monkeypatch.setenv("PYTEST_WYN_REMOTE_CACHE", reader)
        proc, counter = remote.machine_b()
        assert compiles(counter) == []
        assert "5 of 5 file(s) missing here fetched" in proc.stdout
        remote.use(reader, write=True)
        remote.wyn.write("test_new.wyn", '// EXPECT: new\nprintln("new")\n')  # compiled here: offered
        refused = remote.wyn.run()
        refused.assert_outcomes(passed=OUTCOMES["passed"] + 1, failed=OUTCOMES["failed"])
        assert "remote cache uploads stopped" in refused.stdout.str()
        assert "this Redis user may not write" in refused.stdout.str()


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permission bits")
def test_a_signing_key_others_can_read_is_refused_as_ssh_does(remote: Remote, dav: Server) -> None:
    remote.key.chmod(0o644)
    remote.use(dav.url, write=True)
    result = remote.wyn.run()
    result.assert_outcomes(**OUTCOMES)
    out = result.stdout.str()
    assert f"remote cache writes are off: the signing key {remote.key} can be read by other users (mode 644)" in out
    assert "uploaded" not in out
    remote.key.chmod(0o600)
    remote.wyn.run("--wyn-cache-clear").stdout.fnmatch_lines(["*5 uploaded*"])


def test_a_bearer_token_comes_from_the_environment(remote: Remote) -> None:
    server = FaultServer()
    seen: list[str] = []
    try:
        remote.monkeypatch.setenv("PYTEST_WYN_REMOTE_CACHE_TOKEN", "t0ken")
        original = server.httpd.RequestHandlerClass.parse_request

        def parse(handler: object) -> bool:
            ok = original(handler)  # type: ignore[arg-type]
            seen.append(str(handler.headers.get("Authorization")))  # type: ignore[attr-defined]
            return bool(ok)

        server.httpd.RequestHandlerClass.parse_request = parse  # type: ignore[method-assign]
        remote.fill(server.url)
        assert seen and set(seen) == {"Bearer t0ken"}
    finally:
        server.stop()


# ------------------------------------------------------------- settings


@pytest.mark.parametrize(
    "url",
    [
        "http://ci:S3CRET@127.0.0.1:9/",
        "HTTPS://ci:S3CRET@127.0.0.1:9/",
        "redis://127.0.0.1:9/0?password=S3CRET",
        "redis://127.0.0.1:9/0?db=0&Token=S3CRET&x=1",
    ],
)
def test_credentials_in_the_ini_file_are_refused(remote: Remote, url: str) -> None:
    remote.wyn.ini(f"wyn_remote_cache = {url}\n")
    result = remote.wyn.run()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*wyn_remote_cache in the ini file holds credentials*PYTEST_WYN_REMOTE_CACHE_TOKEN*"])
    assert "S3CRET" not in result.stdout.str() + result.stderr.str()


@pytest.mark.parametrize(
    ("url", "told"),
    [
        ("HTTP://ci:S3CRET@127.0.0.1:9/", "cannot connect to http://127.0.0.1:9/"),
        ("http://ci:S3CRET@:8080/", "not a usable http(s) URL: 'http://***@:8080/'"),
        ("http://ci:S3/CRET@127.0.0.1:9/", "not a usable http(s) URL: 'http://***@127.0.0.1:9/'"),
        ("http://ci:S3#CRET@127.0.0.1:9/", "not a usable http(s) URL: 'http://***@127.0.0.1:9/'"),
        ("ftp://ci:S3CRET@127.0.0.1:9/", "must be an http(s):// or redis:// URL, not 'ftp://***@127.0.0.1:9/'"),
    ],
    ids=["upper-case-scheme", "no-host", "slash-in-password", "hash-in-password", "other-scheme"],
)
def test_no_message_shows_a_credential_whatever_the_urls_shape(remote: Remote, url: str, told: str) -> None:
    """Issue 28.8: each of these printed the password, or a part of it."""
    remote.monkeypatch.setenv("PYTEST_WYN_REMOTE_CACHE", url)
    remote.monkeypatch.setenv("PYTEST_WYN_REMOTE_CACHE_TRUSTED_KEYS", remote.public)
    result = remote.wyn.run("-W", "always::pytest_wyn.WynWarning")
    out = result.stdout.str() + result.stderr.str()
    assert told in out
    for piece in ("S3CRET", "CRET", "ci:S3"):
        assert piece not in out


def test_ini_settings_and_the_switch_off(remote: Remote, dav: Server) -> None:
    remote.fill(dav.url)
    remote.monkeypatch.delenv("PYTEST_WYN_REMOTE_CACHE")
    remote.monkeypatch.delenv("PYTEST_WYN_REMOTE_CACHE_TRUSTED_KEYS")
    remote.wyn.ini(
        f"wyn_remote_cache = {dav.url}\nwyn_remote_cache_timeout = 2\n"
        f"wyn_remote_cache_trusted_keys =\n    {remote.other_public}\n    {remote.public}\n"
    )
    remote.wyn.run("--wyn-cache-clear", "--wyn-no-remote-cache").stdout.no_fnmatch_line("*remote cache*")
    result = remote.wyn.run("--wyn-cache-clear")
    result.assert_outcomes(**OUTCOMES)
    result.stdout.fnmatch_lines(["remote cache: 5 of 5 file(s) missing here fetched*"])


def test_without_cryptography_a_configured_remote_is_off_with_one_warning(remote: Remote, dav: Server) -> None:
    remote.use(dav.url)
    remote.wyn.write("conftest.py", "import sys\n\nsys.modules['cryptography'] = None\n")
    result = remote.wyn.run_subprocess("-n0", "-p", "no:randomly")
    result.assert_outcomes(**OUTCOMES)
    out = result.stdout.str()
    assert out.count("checking signatures needs the cryptography package: pip install 'pytest-wyn[remote]'") == 1
