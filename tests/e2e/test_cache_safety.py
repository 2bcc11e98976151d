"""Issue 14 (security, locks): the cache and the build locks are only used where no one else can swap them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import WynProject

HELLO = '// EXPECT: hello\nprintln("hello")\n'

needs_root = pytest.mark.skipif(os.getuid() != 0, reason="needs root to chown to another user")


def test_a_writable_directory_above_the_cache_is_refused(wyn: WynProject, tmp_path: Path) -> None:
    wyn.write("test_a.wyn", HELLO)
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)  # not sticky: another user could rename our cache away
    result = wyn.run(f"--wyn-cache-dir={shared / 'mine'}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*refusing the cache directory: {shared} (on the way to *) can be written by others*"])


def test_a_writable_subdirectory_inside_the_cache_is_refused(wyn: WynProject) -> None:
    wyn.write("test_a.wyn", HELLO)
    wyn.run().assert_outcomes(passed=1)
    (wyn.cache / "entries").chmod(0o777)
    result = wyn.run()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*entries can be written by group or others (mode 777)*"])


def test_the_cache_dir_is_resolved_once_and_workers_get_the_real_path(wyn: WynProject, tmp_path: Path) -> None:
    real = tmp_path / "real-cache"
    link = tmp_path / "link-cache"
    link.symlink_to(real, target_is_directory=True)
    real.mkdir(mode=0o700)
    wyn.write("test_a.wyn", HELLO)
    wyn.write("test_b.wyn", HELLO)
    result = wyn.run_subprocess(f"--wyn-cache-dir={link}", "-n", "2")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines([f"wyn cache: {real}"])
    assert len(list((real / "entries").glob("*/*"))) == 2


def test_a_dangling_symlink_as_cache_dir_is_named_for_what_it_is(wyn: WynProject, tmp_path: Path) -> None:
    link = tmp_path / "dangling"
    link.symlink_to(tmp_path / "nowhere")
    wyn.write("test_a.wyn", HELLO)
    result = wyn.run(f"--wyn-cache-dir={link}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*{link} is a symbolic link to '{tmp_path / 'nowhere'}', which does not exist*"])


def test_a_symlink_inside_the_cache_is_never_followed(wyn: WynProject, tmp_path: Path) -> None:
    wyn.write("test_a.wyn", HELLO)
    wyn.run().assert_outcomes(passed=1)
    (entry,) = [p for p in (wyn.cache / "entries").glob("*/*")]
    impostor = tmp_path / "impostor"
    impostor.write_bytes((entry / "binary").read_bytes())  # same bytes: only the link gives it away
    (entry / "binary").unlink()
    (entry / "binary").symlink_to(impostor)
    result = wyn.run()
    result.assert_outcomes(passed=1, warnings=1)
    result.stdout.fnmatch_lines(["*cache entry * was damaged*"])
    assert len(wyn.compiles()) == 2
    assert not (entry / "binary").is_symlink()


def test_build_locks_live_with_the_user_not_in_tmpdir(
    wyn: WynProject, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wyn.write("test_a.wyn", HELLO)
    for n in (1, 2):
        other_tmp = tmp_path / f"tmp{n}"
        other_tmp.mkdir()
        monkeypatch.setenv("TMPDIR", str(other_tmp))
        wyn.run_subprocess("--wyn-no-cache").assert_outcomes(passed=1)
    locks = Path(os.environ["HOME"]) / ".cache" / "pytest-wyn" / "locks"
    assert any(p.name.endswith(".lock") for p in locks.iterdir())  # both sessions used the same place


@needs_root
def test_build_locks_that_cannot_be_had_are_warned_about(wyn: WynProject) -> None:
    locks = Path(os.environ["HOME"]) / ".cache" / "pytest-wyn" / "locks"
    locks.mkdir(parents=True, mode=0o700)
    os.chown(locks, 65534, 65534)
    wyn.write("test_a.wyn", HELLO)
    result = wyn.run()
    result.assert_outcomes(passed=1, warnings=1)
    result.stdout.fnmatch_lines(["*build locks disabled: * belongs to another user*"])


@needs_root
def test_a_group_writable_directory_is_accepted_only_for_a_private_group(wyn: WynProject, tmp_path: Path) -> None:
    """Issue 31.4: a laptop's ~/.cache of mode 775 with a user-private group stopped the first run."""
    import grp

    from pytest_wyn.engine.cache import group_has_only

    wyn.write("test_a.wyn", HELLO)
    home_cache = tmp_path / "home-cache"
    home_cache.mkdir()
    home_cache.chmod(0o775)
    assert group_has_only(os.stat(home_cache).st_gid, os.getuid())  # root's own group here
    wyn.run(f"--wyn-cache-dir={home_cache / 'pytest-wyn'}").assert_outcomes(passed=1)
    shared_gid = next(
        (g.gr_gid for g in grp.getgrall() if not group_has_only(g.gr_gid, os.getuid())),
        None,
    )
    if shared_gid is None:
        pytest.skip("no group with another member on this machine")
    os.chown(home_cache, -1, shared_gid)
    result = wyn.run(f"--wyn-cache-dir={home_cache / 'pytest-wyn'}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*can be written by others (mode 775)*README: Troubleshooting*"])
