"""A throwaway PostgreSQL cluster on a free loopback port, for the MLflow server's store.

A team's MLflow server keeps its runs in PostgreSQL. To run that set-up on one
machine (a demo, a check, a test) without touching any system cluster, this
module makes a cluster of its own: ``initdb`` into a fresh temporary folder,
``postgres`` listening on 127.0.0.1 only (its unix socket inside that folder),
one database, a random password. On exit the server is stopped by its process
id and the folder is deleted.

PostgreSQL refuses to run as root. As root, the server programs run as the
``postgres`` system user (Debian's package creates it) through ``setpriv``
(``runuser`` where there is no setpriv), and the folder is handed to that
user; it is made with :func:`tempfile.mkdtemp` under the system's temporary
folder, which that user can reach (pytest's own temporary folders are 0700
and it could not).

The server programs are not on the PATH on Debian (they live in
``/usr/lib/postgresql/<version>/bin``); :func:`find_bindir` looks there and in
the other usual places, or where ``LATENTLAB_PG_BIN`` says.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from latentlab.team import TeamTrackingError

BIN_ENV = "LATENTLAB_PG_BIN"
PROGRAMS = ("initdb", "pg_ctl", "postgres")
INSTALL_HINT = ("run `make setup-test`, which installs Debian's postgresql package (or "
                "`apt-get install postgresql`), or set LATENTLAB_PG_BIN to the folder that "
                "holds initdb and postgres")
SYSTEM_USER = "postgres"
HOST = "127.0.0.1"
USER = "mlflow"
DRIVER_SCHEME = "postgresql+psycopg2"  # the pinned driver (requirements.txt)
START_TIMEOUT = 60.0  # seconds for the server to accept connections
STOP_TIMEOUT = 30.0  # seconds for a fast shutdown before SIGKILL


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def _version_key(path: Path) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", str(path)))


def candidate_dirs() -> list[Path]:
    """Where the server programs may be, in the order they are tried.

    ``LATENTLAB_PG_BIN`` alone when it is set; else the folder of an ``initdb``
    on the PATH, ``pg_config --bindir``, Debian's ``/usr/lib/postgresql/<ver>/bin``
    (newest first), RHEL's ``/usr/pgsql-<ver>/bin`` and ``/usr/local/pgsql/bin``.
    """
    if os.environ.get(BIN_ENV):
        return [Path(os.environ[BIN_ENV])]
    found: list[Path] = []
    if shutil.which("initdb"):
        found.append(Path(shutil.which("initdb")).resolve().parent)
    if shutil.which("pg_config"):
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True,
                                 timeout=10)
            if out.returncode == 0 and out.stdout.strip():
                found.append(Path(out.stdout.strip()))
    for pattern in ("usr/lib/postgresql/*/bin", "usr/pgsql-*/bin"):
        found.extend(sorted(Path("/").glob(pattern), key=_version_key, reverse=True))
    found.append(Path("/usr/local/pgsql/bin"))
    return list(dict.fromkeys(found))


def find_bindir() -> Path:
    """The first folder of :func:`candidate_dirs` that holds initdb, pg_ctl and postgres."""
    searched = candidate_dirs()
    for folder in searched:
        if all(os.access(folder / name, os.X_OK) for name in PROGRAMS):
            return folder
    where = ", ".join(str(p) for p in searched) or "nowhere"
    if os.environ.get(BIN_ENV):
        raise TeamTrackingError(f"PostgreSQL server programs ({', '.join(PROGRAMS)}) not found "
                                f"in {BIN_ENV}={os.environ[BIN_ENV]}; {INSTALL_HINT}")
    raise TeamTrackingError(f"PostgreSQL is not installed: no {', '.join(PROGRAMS)} (looked on "
                            f"the PATH and in {where}); {INSTALL_HINT}")


@dataclass(frozen=True)
class Owner:
    """Who runs the server programs: this user, or (as root) the ``postgres`` system user."""

    uid: int
    gid: int
    prefix: tuple[str, ...]  # what runs a command as that user; empty: as this user

    def chown(self, path: Path) -> None:
        if self.prefix:
            os.chown(path, self.uid, self.gid)


def server_owner() -> Owner:
    """This user, unless it is root; then the ``postgres`` system user."""
    if os.geteuid() != 0:
        return Owner(os.geteuid(), os.getegid(), ())
    try:
        entry = pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        raise TeamTrackingError(
            f"PostgreSQL refuses to run as root, and there is no `{SYSTEM_USER}` system user "
            f"to run it as; {INSTALL_HINT}") from None
    if shutil.which("setpriv"):  # execs the program itself: its pid is the server's
        prefix = ("setpriv", f"--reuid={entry.pw_uid}", f"--regid={entry.pw_gid}",
                  "--init-groups", "--")
    elif shutil.which("runuser"):
        prefix = ("runuser", "-u", SYSTEM_USER, "--")
    else:
        raise TeamTrackingError("PostgreSQL refuses to run as root, and neither setpriv nor "
                                "runuser (util-linux) is here to run it as the postgres user")
    return Owner(entry.pw_uid, entry.pw_gid, prefix)


@dataclass(frozen=True)
class Cluster:
    """A running throwaway cluster. Connect as :attr:`user` with :attr:`password`."""

    port: int
    password: str = field(repr=False)
    database: str
    folder: Path  # data/, socket/, postgres.log: all deleted on exit
    pid: int
    version: str
    host: str = HOST
    user: str = USER

    def uri(self, database: str | None = None) -> str:
        """A SQLAlchemy URI without the password (libpq reads it from ``PGPASSWORD``).

        The driver is named: SQLAlchemy 2.1 reads a bare ``postgresql://`` as
        psycopg 3, while requirements.txt pins psycopg2.
        """
        return (f"{DRIVER_SCHEME}://{self.user}@{self.host}:{self.port}/"
                f"{database or self.database}")

    def env(self) -> dict[str, str]:
        """The environment a client process needs: libpq's ``PGPASSWORD``."""
        return {"PGPASSWORD": self.password}

    def connect(self, database: str | None = None):
        """A psycopg2 connection to ``database`` (default: the cluster's one database)."""
        import psycopg2

        return psycopg2.connect(host=self.host, port=self.port, user=self.user,
                                password=self.password, dbname=database or self.database,
                                connect_timeout=5)


def _log_tail(path: Path, lines: int = 1) -> str:
    with contextlib.suppress(OSError):
        text = [line for line in path.read_text(errors="replace").splitlines() if line.strip()]
        return " | ".join(text[-lines:])
    return ""


def _run_as(owner: Owner, argv: list[str], cwd: Path, what: str) -> None:
    out = subprocess.run([*owner.prefix, *argv], cwd=cwd, capture_output=True, text=True,
                         timeout=300)
    if out.returncode != 0:
        lines = [line for line in (out.stderr + out.stdout).splitlines() if line.strip()]
        raise TeamTrackingError(f"{what} failed (exit {out.returncode}): "
                                f"{lines[-1] if lines else 'no output'}")


def _wait_ready(proc: subprocess.Popen, cluster: Cluster, log: Path) -> None:
    import psycopg2

    deadline = time.monotonic() + START_TIMEOUT
    while True:
        if proc.poll() is not None:
            raise TeamTrackingError(f"postgres exited {proc.returncode} on start: "
                                    f"{_log_tail(log, 2)}")
        try:
            cluster.connect("postgres").close()
            return
        except psycopg2.OperationalError as exc:
            if time.monotonic() > deadline:
                raise TeamTrackingError(f"postgres did not accept connections within "
                                        f"{START_TIMEOUT:.0f} s: {str(exc).strip()}") from None
        time.sleep(0.2)


def _stop(proc: subprocess.Popen) -> None:
    """Fast shutdown (SIGINT to the postmaster, by pid); SIGKILL to its process group if stuck."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            pass
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)  # backends left behind (none after a clean stop)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=STOP_TIMEOUT)


@contextlib.contextmanager
def throwaway_cluster(database: str = "mlflow", port: int | None = None) -> Iterator[Cluster]:
    """Start a fresh cluster holding an empty ``database``; stop and delete it on exit.

    Parameters
    ----------
    database : str
        The database to create (MLflow's server migrates it on start).
    port : int, optional
        The TCP port on 127.0.0.1; a free one by default.

    Raises
    ------
    TeamTrackingError
        PostgreSQL is not installed, cannot run as this user, or did not start.
    """
    bindir = find_bindir()
    owner = server_owner()
    version = subprocess.run([str(bindir / "postgres"), "--version"], capture_output=True,
                             text=True, timeout=30).stdout.strip()
    folder = Path(tempfile.mkdtemp(prefix="latentlab-pg-"))
    proc = None
    try:
        owner.chown(folder)
        if owner.prefix and subprocess.run([*owner.prefix, "test", "-w", str(folder)]).returncode:
            raise TeamTrackingError(
                f"the {SYSTEM_USER} user cannot write {folder} (a parent folder is closed to "
                "it); set TMPDIR to a folder it can reach, such as /tmp")
        password = secrets.token_urlsafe(24)
        pwfile = folder / "pwfile"
        pwfile.write_text(password + "\n")
        pwfile.chmod(0o600)
        owner.chown(pwfile)
        _run_as(owner, [str(bindir / "initdb"), "-D", str(folder / "data"), "-U", USER,
                        f"--pwfile={pwfile}", "--auth=scram-sha-256", "-E", "UTF8",
                        "--no-locale", "--no-sync"], folder, "initdb")
        pwfile.unlink()
        (folder / "socket").mkdir()
        owner.chown(folder / "socket")
        log = folder / "postgres.log"
        port = port or free_port()
        with open(log, "wb") as log_file:
            proc = subprocess.Popen(
                [*owner.prefix, str(bindir / "postgres"), "-D", str(folder / "data"),
                 "-c", f"listen_addresses={HOST}", "-c", f"port={port}",
                 "-c", f"unix_socket_directories={folder / 'socket'}",
                 "-c", "fsync=off",  # the cluster is deleted at exit: nothing to make durable
                 "-c", "full_page_writes=off"],
                cwd=folder, stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT,
                start_new_session=True)
        cluster = Cluster(port=port, password=password, database=database, folder=folder,
                          pid=proc.pid, version=version)
        _wait_ready(proc, cluster, log)
        conn = cluster.connect("postgres")
        try:
            conn.autocommit = True  # CREATE DATABASE cannot run inside a transaction
            with conn.cursor() as cursor:
                cursor.execute(f'CREATE DATABASE "{database}"')
        finally:
            conn.close()
        yield cluster
    finally:
        if proc is not None:
            _stop(proc)
        shutil.rmtree(folder, ignore_errors=True)
