"""Every setting in one table: its ini name, command-line option, environment variable and default.

``options.py`` registers the options and ini values from it and reads each
setting's sources through it; the configuration table of docs/configuration.md
is generated from it (``readme_table``; ``tests/e2e/test_newcomer.py`` checks the page
holds exactly that).

How a setting's sources combine is each row's ``combine``: for most
(``first``), the first that gives a value wins, in the order command line,
environment, ini, default. Four combine instead: ``wyn_compile_args`` and
``wyn_remote_cache_trusted_keys`` (``concatenate``: the ini's values, then the
environment's, then the command line's), ``wyn_run_ahead`` (``all_allow``:
on unless any of the option, the environment or the ini turns it off), and
``wyn_compiler`` (``apart``: each source kept, as the toolchain searches them
in order and says which it used). What the sources gave then goes through the
row's ``parse`` (``setting_values.py``), which makes the value or names the
setting in a usage error, and the value fills the row's ``field`` of
``engine.Settings``. ``options.py`` reads every row this way, and only
this way. Credentials and the signing key come from the environment only.
The settings are read once per session, by the xdist controller (or the only
process); workers take what it read.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from typing import Any, Literal

from . import setting_values as V
from .engine import (
    CONNECT_TIMEOUT,
    DEFAULT_CACHE_SIZE,
    DEFAULT_COMPILE_TIMEOUT,
    DEFAULT_FILES,
    DEFAULT_MEMORY_LIMIT,
    DEFAULT_OUTPUT_LIMIT,
    DEFAULT_REMOTE_TIMEOUT,
    DEFAULT_RETRIES,
    DEFAULT_TIMEOUT,
    DEFAULT_WORKERS,
    default_compile_jobs,
)

IniType = Literal["string", "args", "bool", "linelist"]
# How a setting's sources combine (options.sources reads each row by its rule):
# first: the first source that gives a value, in the order command line, environment, ini, default;
# concatenate: every source's values, the ini's first; all_allow: on unless any source turns it off;
# apart: each source's value kept (option, environment, ini).
Combine = Literal["first", "concatenate", "all_allow", "apart"]


@dataclass(frozen=True)
class Setting:
    ini: str = ""  # the ini name ("" for a command-line or environment switch only)
    ini_type: IniType = "string"
    ini_default: Any = ""
    ini_help: str = ""
    option: str = ""  # the option string ("" when there is none)
    option_args: dict[str, Any] = field(default_factory=dict)  # for parser.addoption
    env: str = ""  # the environment variable ("" when there is none)
    default_shown: str = ""  # the README's default cell
    # How the option and the variable are written in the README, where not as usual (`--opt=METAVAR`, `VAR`).
    option_note: str = ""
    env_note: str = ""
    combine: Combine = "first"
    parse: V.Parser = V.text  # what the sources gave (by ``combine``) -> the value (setting_values.py)
    # The field of engine.Settings the value fills (several: the parser gives one value each); "" for
    # a value read with others (the shared cache's rows make `remote`) or before any (`wyn`).
    field: str | tuple[str, ...] = ""

    @property
    def name(self) -> str:
        """How messages name it: the ini name, else the environment variable, else the option."""
        return self.ini or self.env or self.option

    @property
    def dest(self) -> str:
        return str(self.option_args.get("dest") or self.option.lstrip("-").replace("-", "_"))

    @property
    def option_shown(self) -> str:
        if self.option_note or not self.option:
            return self.option_note
        metavar = self.option_args.get("metavar")
        return f"`{self.option}={metavar}`" if metavar else f"`{self.option}`"

    @property
    def env_shown(self) -> str:
        return self.env_note or (f"`{self.env}`" if self.env else "")


def _opt(help: str, metavar: str = "", **kwargs: Any) -> dict[str, Any]:
    return {"help": help, **({"metavar": metavar} if metavar else {}), **kwargs}


def _switch(help: str, **kwargs: Any) -> dict[str, Any]:
    return {"action": "store_true", "default": False, "help": help, **kwargs}


SETTINGS: tuple[Setting, ...] = (
    Setting("wyn", "string", "", "collect .wyn test files (as --wyn): 1/0, true/false, yes/no, on/off",
            "--wyn", _switch("collect and run .wyn test files"), default_shown="off", parse=V.flag(False)),
    Setting("wyn_files", "args", DEFAULT_FILES, "glob patterns of Wyn test files",
            "--wyn-files", _opt("Wyn test file name patterns, space-separated (wyn_files)", "PATTERNS"),
            default_shown="`test_*.wyn *_test.wyn`", option_note="`--wyn-files='PATTERNS'`",
            field="files", parse=V.words),
    Setting("wyn_compiler", "string", "", "path of the Wyn compiler",
            "--wyn-compiler", _opt("the Wyn compiler (default: ini wyn_compiler, $WYN, ./wyn, wyn on PATH)", "PATH"),
            "WYN", "then `./wyn` in the rootdir, then `wyn` on PATH",
            combine="apart", field=("compiler_option", "compiler_env", "compiler_ini"), parse=V.apart),
    Setting("wyn_compile_command", "string", "", "compile command with {compiler} {args} {source} {output}",
            default_shown="`{compiler} build {args} {source} -o {output}`", field="compile_command", parse=V.text),
    Setting("wyn_compile_output", "string", "", "where the binary appears when the command has no {output}",
            default_shown="only for a command without `{output}`: where the binary appears",
            field="compile_output", parse=V.text_or_none),
    Setting("wyn_compile_args", "args", [], "extra compiler arguments",
            "--wyn-compile-args", _opt("extra compiler arguments, e.g. '--release'", "ARGS"),
            default_shown="none (e.g. `--release`)", option_note="`--wyn-compile-args='…'`", combine="concatenate",
            field="compile_args", parse=V.args),
    Setting("wyn_timeout", "string", "", f"per-test run timeout in s (default {DEFAULT_TIMEOUT:g})",
            "--wyn-timeout", _opt(f"per-test run timeout (default {DEFAULT_TIMEOUT:g})", "SECONDS", type=float),
            "PYTEST_WYN_TIMEOUT", f"{DEFAULT_TIMEOUT:g} s per run", field="timeout", parse=V.number(DEFAULT_TIMEOUT)),
    Setting("wyn_compile_timeout", "string", "",
            f"per-file compile timeout in s (default {DEFAULT_COMPILE_TIMEOUT:g})", "--wyn-compile-timeout",
            _opt(f"per-file compile timeout (default {DEFAULT_COMPILE_TIMEOUT:g})", "SECONDS", type=float),
            "PYTEST_WYN_COMPILE_TIMEOUT", f"{DEFAULT_COMPILE_TIMEOUT:g} s per compile",
            field="compile_timeout", parse=V.number(DEFAULT_COMPILE_TIMEOUT)),
    Setting("wyn_compile_retries", "string", "",
            f"retries of host-resource build failures (default {DEFAULT_RETRIES})",
            default_shown=f"{DEFAULT_RETRIES} (host-resource failures only)",
            field="compile_retries", parse=V.whole(DEFAULT_RETRIES, 0, 100, low_included=True)),
    Setting("wyn_compile_jobs", "string", "", "compiles at once (default: CPUs)",
            "--wyn-compile-jobs", _opt("compiles at once on this machine (default: CPUs)", "N"),
            "PYTEST_WYN_COMPILE_JOBS", "one compile per CPU pytest may use",
            field="compile_jobs", parse=V.whole(default_compile_jobs, 0, 1024)),
    Setting("wyn_memory_limit", "string", "",
            f"address space per test binary, or none (default {DEFAULT_MEMORY_LIMIT})", "--wyn-memory-limit",
            _opt(f"address-space limit of each test binary, or 'none' (default {DEFAULT_MEMORY_LIMIT})", "SIZE"),
            "PYTEST_WYN_MEMORY_LIMIT", f"{DEFAULT_MEMORY_LIMIT} of address space per test binary; `none` for no limit",
            field=("memory_limit", "memory_limit_set"), parse=V.memory_limit(DEFAULT_MEMORY_LIMIT)),
    Setting("wyn_max_output", "string", "", "bytes of output kept per run (head + tail)",
            "--wyn-max-output", _opt("output kept per run, head + tail (default 4MiB)", "SIZE"),
            "PYTEST_WYN_MAX_OUTPUT", "4MiB kept per run (head + tail)",
            field="max_output", parse=V.size(str(DEFAULT_OUTPUT_LIMIT), at_least=1024)),
    Setting("wyn_cache_dir", "string", "", "compile cache directory",
            "--wyn-cache-dir", _opt("compile cache directory (default: the user cache dir)", "DIR"),
            "PYTEST_WYN_CACHE_DIR", "the platformdirs user cache directory",
            field="cache_dir", parse=V.folder_or_user_cache),
    Setting("wyn_cache_max_size", "string", "", f"cache size cap (default {DEFAULT_CACHE_SIZE})",
            env="PYTEST_WYN_CACHE_MAX_SIZE", default_shown=DEFAULT_CACHE_SIZE,
            field="cache_max_size", parse=V.size(DEFAULT_CACHE_SIZE)),
    Setting("wyn_c_cache", "string", "", "the second cache level, generated C -> binary (default on)",
            env="PYTEST_WYN_C_CACHE", default_shown="on, with the compile cache: a compile whose generated C "
            "was compiled before reuses that binary ([the compiler developer's loop](compiler-loop.md))",
            field="c_cache", parse=V.flag(True)),
    Setting(env="PYTEST_WYN_C_CACHE_DIR",
            default_shown="`c/` in the compile cache directory: where the second level keeps its entries",
            field="c_cache_dir", parse=V.folder_or_none),
    Setting("wyn_known_failures", "linelist", [], "known-failure lists: lines `<filename> <fail|hang|flaky>`",
            default_shown="none; files (from the rootdir) of `<filename> <kind>` lines (kind: fail, hang or "
            "flaky), as Wyn's `tests/stdlib/known_failures.txt`: a listed test is an expected failure "
            "(`xfail`, not strict)", field="known_failures", parse=V.known_failures),
    Setting(option="--wyn-no-cache", option_args=_switch("neither read nor write the compile cache"),
            env="PYTEST_WYN_NO_CACHE", env_note="`PYTEST_WYN_NO_CACHE=1`", field="use_cache", parse=V.switched_off),
    Setting(option="--wyn-cache-clear", option_args=_switch("empty the compile cache first"),
            field="clear_cache", parse=V.flag(False)),
    Setting(option="--wyn-keep-binaries",
            option_args=_switch("keep each test binary in .pytest_cache/d/wyn-binaries and say how to run it again"),
            default_shown="off; with it, each test binary is kept in `.pytest_cache/d/wyn-binaries/` and its "
            "report says how to run it again by hand (`-vv` also shows each file's compile command)",
            field="keep_binaries", parse=V.kept_binaries),
    Setting("wyn_workers", "string", "",
            f"most xdist workers started by default: N or auto (default {DEFAULT_WORKERS})", "--wyn-workers",
            _opt(f"most xdist workers started by default: N or auto (default {DEFAULT_WORKERS})", "N"),
            "PYTEST_WYN_WORKERS",
            f"at most {DEFAULT_WORKERS}, as many as pay for themselves; `auto` lets xdist count the CPUs",
            option_note="`--wyn-workers=N` (or `-n N` as usual)", field="workers", parse=V.workers),
    Setting("wyn_run_ahead", "string", "", "without workers, run upcoming files' binaries ahead (default true)",
            "--wyn-no-run-ahead", _switch("run every binary only when its test's turn comes (see wyn_run_ahead)"),
            "PYTEST_WYN_RUN_AHEAD", "on", env_note="`PYTEST_WYN_RUN_AHEAD=0`",
            combine="all_allow", field="run_ahead", parse=V.all_allow),
    # A plain switch that never takes the next argument (`--wyn-update tests/x.wyn` updates that file);
    # `--wyn-update=all` and `=expect` are spelled whole (add_to), so argparse finds them before splitting at '='.
    Setting("wyn_update", "string", "", "expect or all: as --wyn-update (normally unset)",
            "--wyn-update",
            {"action": "store_const", "const": "expect", "dest": "wyn_update",
             "help": "rewrite failing EXPECT lines from the actual output; --wyn-update=all also pins passing "
             "program tests' output"},
            "PYTEST_WYN_UPDATE", "off", option_note="`--wyn-update`, `--wyn-update=all`",
            env_note="`PYTEST_WYN_UPDATE` (`expect` or `all`)", field="update", parse=V.update_mode),
    Setting("wyn_remote_cache", "string", "", "shared cache URL, http(s):// or redis:// (no credentials here)",
            "--wyn-remote-cache",
            _opt("shared cache: http(s)://… or redis://… (wyn_remote_cache; docs/remote-cache.md)", "URL"),
            "PYTEST_WYN_REMOTE_CACHE",
            "none; `http(s)://…` or `redis://…` ([the shared cache](remote-cache.md)); "
            "credentials never in the ini file", parse=V.remote_url),
    Setting(option="--wyn-no-remote-cache", option_args=_switch("neither read nor write the shared cache"),
            env="PYTEST_WYN_NO_REMOTE_CACHE", env_note="`PYTEST_WYN_NO_REMOTE_CACHE=1`", parse=V.flag(False)),
    Setting("wyn_remote_cache_write", "string", "", "upload to the shared cache (also needs a signing key)",
            env="PYTEST_WYN_REMOTE_CACHE_WRITE", env_note="`PYTEST_WYN_REMOTE_CACHE_WRITE=1`",
            default_shown="off; writing also needs `PYTEST_WYN_REMOTE_CACHE_SIGNING_KEY`", parse=V.flag(False)),
    Setting(env="PYTEST_WYN_REMOTE_CACHE_SIGNING_KEY",
            default_shown="none; the path of the `ssh-ed25519` private key file of a job that may write "
            "(environment only)", parse=V.path_or_none),
    Setting("wyn_remote_cache_trusted_keys", "linelist", [], "ssh-ed25519 public key lines whose entries are accepted",
            env="PYTEST_WYN_REMOTE_CACHE_TRUSTED_KEYS",
            env_note="`PYTEST_WYN_REMOTE_CACHE_TRUSTED_KEYS` (one per line, added to the ini's)",
            default_shown="none: nothing is read; `ssh-ed25519 AAAA… name` lines, `@revoked ssh-ed25519 AAAA…` "
            "to revoke", combine="concatenate", parse=V.lines),
    Setting("wyn_remote_cache_timeout", "string", "",
            f"seconds per shared-cache request (default {DEFAULT_REMOTE_TIMEOUT:g})",
            env="PYTEST_WYN_REMOTE_CACHE_TIMEOUT",
            default_shown=f"{DEFAULT_REMOTE_TIMEOUT:g} s per request (connecting: {CONNECT_TIMEOUT:g} s)",
            parse=V.number(DEFAULT_REMOTE_TIMEOUT, high=600)),
    Setting(env="PYTEST_WYN_REMOTE_CACHE_TOKEN",
            default_shown="none; a bearer token sent to the server (or `user:password@` in the environment's URL)",
            parse=V.text),
)

BY_NAME = {s.name: s for s in SETTINGS}
HIDDEN_UPDATE_MODES = ("all", "expect")  # `--wyn-update=all`, `--wyn-update=expect`: whole option strings


def add_to(parser: Any) -> None:
    """Register every option and ini value of the table with pytest's parser."""
    group = parser.getgroup("wyn", "Wyn tests (pytest-wyn)")
    for setting in SETTINGS:
        if setting.option:
            group.addoption(setting.option, **setting.option_args)
        if setting.option == "--wyn-update":
            for mode in HIDDEN_UPDATE_MODES:
                group.addoption(
                    f"--wyn-update={mode}", action="store_const", const=mode, dest="wyn_update", help=argparse.SUPPRESS
                )
    for setting in SETTINGS:
        if setting.ini:
            parser.addini(setting.ini, type=setting.ini_type, default=setting.ini_default, help=setting.ini_help)


def readme_table() -> str:
    """docs/configuration.md's table of settings, row for row."""
    rows = [
        "| ini (`[pytest]` / `[tool.pytest.ini_options]`) | command line | environment | default |",
        "|---|---|---|---|",
    ]
    for s in SETTINGS:
        cells = (f"`{s.ini}`" if s.ini else "", s.option_shown, s.env_shown, s.default_shown)
        rows.append("|" + "|".join(f" {cell} " if cell else " " for cell in cells) + "|")
    return "\n".join(rows) + "\n"
