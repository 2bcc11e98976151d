"""A second machine for xdist's ssh gateways: sshd on 127.0.0.1 and a host in a private mount namespace.

The "second host" is this machine seen through ``unshare --mount``: its Python
(``host/python``) first mounts empty folders over everything of the first
host's that a worker must not reach (the project, pytest-wyn's checkout and its
venv, the compiler, both cache levels) and its own cache over the user cache
folder, then runs its own venv. Its project, venv, compiler and cache live at
other paths. sshd (Debian's openssh-server, installed by .ci/run) runs as a
child process on a free port with a throw-away host key and client key.
Everything here needs root (sshd's privilege separation, mount namespaces):
``ssh_unavailable`` says why a test must skip.
"""

from __future__ import annotations

import importlib.metadata
import os
import pwd
import shlex
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

from servers import Server, free_port

SSHD = shutil.which("sshd") or "/usr/sbin/sshd"
TESTS = Path(__file__).parent
REPO = TESTS.parent


def runtime_closure(name: str = "pytest-wyn", extras: tuple[str, ...] = ()) -> list[str]:
    """A distribution's runtime dependencies (with these extras) and theirs, as installed here."""
    from packaging.requirements import Requirement

    seen: list[str] = []
    todo = [(name, extras)]
    while todo:
        current, wanted = todo.pop()
        for text in importlib.metadata.requires(current) or ():
            req = Requirement(text)
            markers = [{"extra": extra} for extra in ("", *wanted)]
            if req.marker is not None and not any(req.marker.evaluate(m) for m in markers):
                continue
            if req.name.lower() not in seen:
                seen.append(req.name.lower())
                todo.append((req.name, ()))
    return seen


def ssh_unavailable() -> str:
    """Why the ssh tests cannot run here ("" when they can)."""
    if sys.platform != "linux":
        return "ssh gateways to a second host are simulated with Linux mount namespaces"
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return "sshd's privilege separation and mount namespaces need root"
    if not os.path.exists(SSHD) or not shutil.which("ssh"):
        return "sshd (Debian's openssh-server) or ssh is not installed"
    if not shutil.which("unshare"):
        return "unshare (util-linux) is not installed"
    probe = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "mount", "-t", "tmpfs", "none", "/mnt"],
        capture_output=True,
        text=True,
    )
    if probe.returncode != 0:
        return f"this machine refuses a private mount namespace: {probe.stderr.strip()}"
    return ""


def start_sshd(workdir: Path) -> tuple[Server, Path]:
    """sshd on a free loopback port; returns it and an ssh_config naming its host ``host2``."""
    workdir.mkdir(parents=True, exist_ok=True)
    for name in ("host_key", "client_key"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(workdir / name)], check=True)
    (workdir / "authorized_keys").write_text((workdir / "client_key.pub").read_text())
    port = free_port()
    config = workdir / "sshd_config"
    config.write_text(
        textwrap.dedent(
            f"""\
            Port {port}
            ListenAddress 127.0.0.1
            HostKey {workdir / "host_key"}
            AuthorizedKeysFile {workdir / "authorized_keys"}
            PidFile {workdir / "sshd.pid"}
            PasswordAuthentication no
            KbdInteractiveAuthentication no
            PermitRootLogin prohibit-password
            StrictModes no
            UsePAM no
            """
        )
    )
    Path("/run/sshd").mkdir(exist_ok=True)  # its privilege separation directory
    server = Server([SSHD, "-D", "-e", "-f", str(config)], port, workdir, f"ssh://127.0.0.1:{port}")
    client = workdir / "ssh_config"
    client.write_text(
        textwrap.dedent(
            f"""\
            Host host2
                HostName 127.0.0.1
                Port {port}
                User root
                IdentityFile {workdir / "client_key"}
                IdentitiesOnly yes
                StrictHostKeyChecking no
                UserKnownHostsFile /dev/null
                BatchMode yes
                LogLevel ERROR
            """
        )
    )
    return server, client


def portable_launcher() -> str:
    """A ``./wyn`` whose bytes are the same on both hosts (so is the toolchain's identity): the stand-in beside it."""
    return '#!/bin/sh\nexec python3 -S "$(dirname -- "$0")/standin-tool/wyn_standin.py" "$@"\n'


def copy_standin(target_dir: Path) -> None:
    """The stand-in toolchain's program, for a project's ``./wyn`` (portable_launcher)."""
    dest = target_dir / "standin-tool"
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy(TESTS / "wyn_standin.py", dest / "wyn_standin.py")
    shutil.copytree(TESTS / "standin", dest / "standin", ignore=shutil.ignore_patterns("__pycache__", ".root"))


class SecondHost:
    """The second machine: its own venv (pytest-wyn installed by copy), and per test a project, cache and log."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.venv = root / "venv"
        self.python = root / "python"
        self.project = root / "project"
        self.cache_home = root / "user-cache"  # mounted over this user's cache folder: platformdirs finds it
        self.compile_log = root / "compiles.log"
        root.mkdir(parents=True, exist_ok=True)
        self._make_venv()

    def _make_venv(self) -> None:
        base = getattr(sys, "_base_executable", sys.executable)
        subprocess.run([base, "-m", "venv", "--without-pip", str(self.venv)], check=True)
        version = f"python{sys.version_info.major}.{sys.version_info.minor}"
        site = self.venv / "lib" / version / "site-packages"
        for name in runtime_closure(extras=("remote",)):
            dist = importlib.metadata.distribution(name)
            for file in dist.files or ():
                source = Path(str(dist.locate_file(file)))
                if ".." in file.parts or "__pycache__" in file.parts or not source.is_file():
                    continue
                (site / file).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, site / file)
        shutil.copytree(REPO / "pytest_wyn", site / "pytest_wyn", ignore=shutil.ignore_patterns("__pycache__"))
        ours = importlib.metadata.distribution("pytest-wyn")
        info = site / f"pytest_wyn-{ours.version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(ours.read_text("METADATA") or "")
        (info / "entry_points.txt").write_text(ours.read_text("entry_points.txt") or "")

    def prepare(self, project: Path | None, hidden: list[Path], env: dict[str, str] | None = None) -> None:
        """A fresh host for one test: a copy of ``project`` (its checkout), an empty cache, no compiles yet.

        ``hidden``: the first host's folders, not there on this one; ``env``: this host's own environment.
        """
        for path in (self.project, self.cache_home):
            shutil.rmtree(path, ignore_errors=True)
        self.compile_log.unlink(missing_ok=True)
        self.cache_home.mkdir()
        if project is not None:
            shutil.copytree(project, self.project, ignore=shutil.ignore_patterns(".pytest_cache", "__pycache__"))
        else:
            self.project.mkdir()
        # Where platformdirs looks in an ssh session: the account's home (pytester moves $HOME here).
        user_cache = Path(pwd.getpwuid(os.getuid()).pw_dir, ".cache").resolve()
        user_cache.mkdir(parents=True, exist_ok=True)
        tops = [p.resolve() for p in hidden if p.is_dir()]
        tops = [p for p in tops if not any(p != q and p.is_relative_to(q) for q in tops)]  # hidden with their parent
        mounts = [f"mount -t tmpfs none {shlex.quote(str(p))}" for p in dict.fromkeys(tops)]
        mounts.append(f"mount --bind {shlex.quote(str(self.cache_home))} {shlex.quote(str(user_cache))}")
        inner = " && ".join([*mounts, f'exec {shlex.quote(str(self.venv / "bin" / "python"))} "$@"'])
        base_bin = Path(getattr(sys, "_base_executable", sys.executable)).parent
        own = {"WYN_STANDIN_COUNT_FILE": str(self.compile_log), "PATH": f"{base_bin}:/usr/bin:/bin", **(env or {})}
        exports = "".join(f"export {name}={shlex.quote(value)}\n" for name, value in own.items())
        self.python.write_text(
            "#!/bin/sh\n"
            "# The second host's Python: its own environment, and a private mount namespace without the first\n"
            "# host's files.\n"
            f"{exports}"
            f"exec unshare --mount --propagation private /bin/sh -c {shlex.quote(inner)} sh \"$@\"\n"
        )
        self.python.chmod(0o755)

    def spec(self, ssh_config: Path, chdir: Path | None = None) -> str:
        """xdist's ``--tx`` for one worker on this host, in its checkout."""
        return f"ssh=host2//ssh_config={ssh_config}//python={self.python}//chdir={chdir or self.project}"

    def compiles(self) -> list[str]:
        return self.compile_log.read_text().splitlines() if self.compile_log.exists() else []
