"""Unit tests of the pure modules: names, bounded capture, sizes, selection, the record."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pytest_wyn.engine.defaults import parse_size
from pytest_wyn.engine.inflight import InFlight
from pytest_wyn.engine.names import item_names, safe_name
from pytest_wyn.engine.process import BoundedBuffer
from pytest_wyn.engine.record import FileCosts, Record
from pytest_wyn.engine.runahead import Kind, kind_of
from pytest_wyn.engine.spec import Block, parse
from pytest_wyn.engine.testfile import skipped_whole
from pytest_wyn.workers.selection import Selection


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("adds", "adds"),
        ("a::b", "a:\\x3ab"),
        ("list[0]", "list\\x5b0\\x5d"),
        (" padded ", "\\x20padded\\x20"),
        ("tab\there", "tab\\there"),
        ("back\\slash", "back\\\\slash"),
        ("", "(empty name)"),
    ],
)
def test_safe_names(name: str, safe: str) -> None:
    assert safe_name(name) == safe


def test_duplicate_names_are_numbered() -> None:
    blocks = [Block("x", 1, 2), Block("x", 3, 4), Block("y", 5, 6), Block("x", 7, 8)]
    assert [n for n, _, _ in item_names(blocks)] == ["x", "x#2", "y", "x#3"]


def test_bounded_buffer_keeps_whole_head_and_tail_lines() -> None:
    buf = BoundedBuffer(40)
    for n in range(100):
        buf.add(f"line {n:03d}\n".encode())
    out, cut = buf.result()
    assert out.startswith(b"line 000\n") and out.endswith(b"line 099\n")
    assert all(line.startswith(b"line ") for line in out.splitlines())
    assert cut == 100 * 9 - len(out)
    small = BoundedBuffer(1000)
    small.add(b"all of it\n")
    assert small.result() == (b"all of it\n", 0)


@pytest.mark.parametrize(
    ("text", "size"),
    [("4GiB", 4 << 30), ("500MB", 500 * 1000**2), ("1.5k", 1536), ("100", 100), (" 2 MiB ", 2 << 20)],
)
def test_sizes(text: str, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "lots", "4XB", "MB"])
def test_bad_sizes(text: str) -> None:
    with pytest.raises(ValueError, match="not a size"):
        parse_size(text)


BLOCKS = parse('// MARK: fast\ntest "parser works" {\n    // MARK: slow\n}\ntest "lexer" {\n}\n')


@pytest.mark.parametrize(
    ("keyword", "marker", "deselect", "selected"),
    [
        ("", "", (), True),
        ("parser", "", (), True),
        ("nothing", "", (), False),
        ("test_f", "", (), True),  # the file name is a keyword too
        ("", "slow", (), True),
        ("", "not fast", (), False),
        ("", "wyn", (), True),
        ("", "", ("tests/test_f.wyn::parser works", "tests/test_f.wyn::lexer"), False),
        ("", "", ("tests/test_f.wyn",), False),
    ],
)
def test_selection_before_collection(keyword: str, marker: str, deselect: tuple[str, ...], selected: bool) -> None:
    from pytest_wyn.workers.selection import _compile

    selection = Selection(_compile(keyword, substring=True), _compile(marker, substring=False), deselect)
    assert selection.selects_any("tests/test_f.wyn", BLOCKS) is selected


def test_a_file_level_skip_skips_the_whole_file() -> None:
    assert skipped_whole(parse("// SKIP: later\nprintln(1)\n"))
    assert not skipped_whole(parse('test "a" {\n    // SKIP: one block\n}\n'))


def test_the_record_reads_both_layouts_and_says_what_changed(tmp_path: Path) -> None:
    (tmp_path / "a.wyn").write_text("x")
    st = (tmp_path / "a.wyn").stat()
    record = Record(
        {
            "a.wyn": [1.5, st.st_mtime_ns, st.st_size],  # the first version's layout
            "b.wyn": {"compile_seconds": 2.0, "mtime_ns": 1, "size": 1, "run_seconds": 1.0, "run_cpu": 0.9},
            "junk.wyn": "not a record",
        }
    )
    assert set(record.files) == {"a.wyn", "b.wyn"}
    assert record.priorities(tmp_path) == {"a.wyn": (1.5, 0.0), "b.wyn": (2.0, 1.0)}  # b.wyn is gone: a miss
    assert record.files["b.wyn"].cpu_bound and not FileCosts(1, 0, 0, 1.0, 0.01).cpu_bound
    assert FileCosts(1, 0, 0, 0.8, 0.28).cpu_bound  # computed, though sharing the cores made it slower
    record.note("c.wyn", FileCosts(0.5, 0, 0))
    merged = Record({})
    merged.merge_notes(record.serialized_notes())
    assert merged.notes == {"c.wyn": FileCosts(0.5, 0, 0)}


def test_run_ahead_kinds_come_from_the_last_run() -> None:
    assert kind_of(None) is Kind.UNKNOWN
    assert kind_of(FileCosts(1, 0, 0, 0.3, 0.29)) is Kind.HEAVY
    assert kind_of(FileCosts(1, 0, 0, 1.4, 0.004)) is Kind.SLEEPER
    assert kind_of(FileCosts(1, 0, 0, 0.005, 0.004)) is Kind.QUICK


class FakeCache:
    def __init__(self, root: Path) -> None:
        self.root = root

    def mkdir(self, name: str) -> Path:
        path = self.root / "d" / name
        path.mkdir(parents=True, exist_ok=True)
        return path


def test_in_flight_logs_name_what_a_dead_session_left_running(tmp_path: Path) -> None:
    logs = FakeCache(tmp_path).mkdir("wyn-in-flight")
    dead = 2**22 + 12345  # above the kernel's default pid_max: never alive
    (logs / f"{dead}.log").write_text('+"a.wyn"\n+"b.wyn"\n-"a.wyn"\n+"c w\\nith newline.wyn"\n+"cut')
    (logs / f"{os.getppid()}.log").write_text('+"alive.wyn"\n')  # a session still running: not ours to judge
    flight = InFlight(FakeCache(tmp_path))
    assert flight.left_over() == ["b.wyn", "c w\nith newline.wyn"]
    assert not (logs / f"{dead}.log").exists() and (logs / f"{os.getppid()}.log").exists()
    flight.started("x.wyn")
    flight.started("y.wyn")
    flight.finished("x.wyn")
    assert (logs / f"{os.getpid()}.log").read_text() == '+"x.wyn"\n+"y.wyn"\n-"x.wyn"\n'
    flight.close()
    assert not (logs / f"{os.getpid()}.log").exists()
    assert InFlight(FakeCache(tmp_path)).left_over() == []


def test_which_files_are_tests_and_what_they_become_is_decided_once() -> None:
    from pytest_wyn.engine.testfile import file_stem, is_test_file, planned_tests
    from pytest_wyn.workers.selection import _items

    patterns = ("test_*.wyn", "*/unit/*.wyn")
    assert is_test_file(Path("tests/test_a.wyn"), patterns)
    assert is_test_file(Path("tests/unit/check.wyn"), patterns)  # by path, as collection matches
    assert not is_test_file(Path("tests/helper.wyn"), patterns)
    assert is_test_file(Path("tests/helper.wyn"), patterns, named=True)
    assert not is_test_file(Path("tests/test_a.py"), patterns, named=True)
    assert file_stem("tests/test_a.wyn") == "test_a"
    spec = parse('test "EXPECT" {\n    assert(true)\n}\n// EXPECT: x\n')
    names = [t.name for t in planned_tests(spec, "t.wyn")]
    assert names == ["EXPECT", "EXPECT (file)"]
    # -k/-m prediction names the tests exactly as collection does.
    assert [nodeid for nodeid, *_ in _items("t.wyn", spec)] == ["t.wyn::EXPECT", "t.wyn::EXPECT (file)"]
