"""Throwaway PostgreSQL and Redis servers, for the test suite and for ``bin/test``.

From the shell, start the servers, run one command with their URLs in its environment,
then stop the servers and remove their files, whatever the command did::

    python -m tests.servers postgres -- pytest -x
    python -m tests.servers postgres redis -- sh -c 'psql "$DATABASE_URL" -c "select 1"'

``postgres`` sets ``DATABASE_URL=postgres://postgres@127.0.0.1:PORT/fenghuo`` (the
database ``fenghuo`` exists; Django's test runner creates ``test_fenghuo`` beside it);
``redis`` sets ``REDIS_URL=redis://127.0.0.1:PORT/0``. The exit status is the command's.

From Python::

    with postgres_server() as url: ...
    with redis_server() as url: ...
    with RedisServer() as redis:
        redis.url
        redis.restart()  # stop and start again on the same port, data lost

Both servers listen on 127.0.0.1 only, on a free port, with their files in a fresh
temporary directory. PostgreSQL refuses to run as root, so when we are root its
programs (initdb, pg_ctl) run as the ``postgres`` account through ``runuser`` and the
temporary directory is handed to that account. The binaries are looked up under
``/usr/lib/postgresql/*/bin`` (highest version first; ``FENGHUO_PG_BINDIR`` overrides),
then on ``PATH``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pwd
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from types import FrameType, TracebackType

logger = logging.getLogger("tests.servers")

LOCALHOST = "127.0.0.1"
PG_SUPERUSER = "postgres"
PG_OS_ACCOUNT = "postgres"
PG_BINDIR_GLOB = "/usr/lib/postgresql/*/bin"
DEFAULT_DBNAME = "fenghuo"
START_ATTEMPTS = 5


class ServerError(RuntimeError):
    """A throwaway server could not be started."""


def free_port(host: str = LOCALHOST) -> int:
    """A TCP port nobody listens on right now (it may be taken before we use it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _is_root() -> bool:
    return os.geteuid() == 0


def _run(cmd: Sequence[str], *, what: str) -> subprocess.CompletedProcess[str]:
    logger.debug("running %s", " ".join(cmd))
    result = subprocess.run(
        list(cmd),
        capture_output=True,
        text=True,
        check=False,
        start_new_session=True,  # Ctrl-C in the terminal must not reach the servers
    )
    if result.returncode != 0:
        raise ServerError(
            f"{what} failed with exit status {result.returncode}:\n"
            f"{result.stdout}{result.stderr}".rstrip()
        )
    return result


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _traversable_by_others(path: Path) -> bool:
    """Whether an unrelated account (postgres) can reach files under ``path``."""
    for part in [path, *path.parents]:
        try:
            if not part.stat().st_mode & stat.S_IXOTH:
                return False
        except OSError:
            return False
    return True


def _make_tempdir(prefix: str, owner: str | None = None) -> Path:
    base = Path(tempfile.gettempdir())
    if owner is not None and not _traversable_by_others(base):
        logger.warning("%s is not reachable by %s; using /tmp instead", base, owner)
        base = Path("/tmp")  # noqa: S108 - a private mkdtemp directory below
    path = Path(tempfile.mkdtemp(prefix=prefix, dir=base))
    if owner is not None:
        account = pwd.getpwnam(owner)
        os.chown(path, account.pw_uid, account.pw_gid)
    return path


# --------------------------------------------------------------------------- PostgreSQL


def _version_key(bindir: Path) -> tuple[int, ...]:
    digits = bindir.parent.name.split(".")
    try:
        return tuple(int(d) for d in digits)
    except ValueError:
        return (0,)


def find_pg_bindir() -> Path:
    """The directory of initdb/pg_ctl/createdb: the highest installed version."""
    override = os.environ.get("FENGHUO_PG_BINDIR")
    if override:
        return Path(override)
    candidates = [p for p in Path("/").glob(PG_BINDIR_GLOB.lstrip("/")) if (p / "initdb").is_file()]
    if candidates:
        return max(candidates, key=_version_key)
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).resolve().parent
    raise ServerError(
        f"PostgreSQL not found: no initdb under {PG_BINDIR_GLOB} nor on PATH "
        "(Debian: apt-get install -y postgresql)"
    )


class PostgresServer(AbstractContextManager["PostgresServer"]):
    """A PostgreSQL cluster in a temporary directory, deleted on :meth:`stop`."""

    def __init__(
        self,
        dbname: str = DEFAULT_DBNAME,
        *,
        host: str = LOCALHOST,
        port: int | None = None,
        bindir: Path | None = None,
        settings: Mapping[str, str] | None = None,
    ) -> None:
        self.dbname = dbname
        self.host = host
        self.port = port
        self._fixed_port = port is not None
        self.bindir = bindir
        # Extra server settings (``-c name=value``), e.g. {"track_commit_timestamp": "on"}.
        self.settings = dict(settings or {})
        self.tempdir: Path | None = None
        self._running = False

    @property
    def url(self) -> str:
        if self.port is None:
            raise ServerError("PostgreSQL server not started")
        return f"postgres://{PG_SUPERUSER}@{self.host}:{self.port}/{self.dbname}"

    @property
    def datadir(self) -> Path:
        assert self.tempdir is not None
        return self.tempdir / "data"

    @property
    def logfile(self) -> Path:
        assert self.tempdir is not None
        return self.tempdir / "postgres.log"

    def _as_pg_account(self, *cmd: str | Path) -> list[str]:
        args = [str(c) for c in cmd]
        if _is_root():
            return ["runuser", "-u", PG_OS_ACCOUNT, "--", *args]
        return args

    def start(self) -> str:
        if self._running:
            return self.url
        self.bindir = self.bindir or find_pg_bindir()
        owner: str | None = None
        if _is_root():
            try:
                pwd.getpwnam(PG_OS_ACCOUNT)
            except KeyError:
                raise ServerError(
                    f"running as root but there is no {PG_OS_ACCOUNT!r} account to run "
                    "PostgreSQL as (Debian: apt-get install -y postgresql)"
                ) from None
            owner = PG_OS_ACCOUNT
        try:
            self.tempdir = _make_tempdir("fenghuo-pg-", owner)
            sockdir = self.tempdir / "sock"
            self._initdb()
            self._mkdir_for_postgres(sockdir)
            self._pg_ctl_start(sockdir)
            self._running = True
            _run(
                [
                    str(self.bindir / "createdb"),
                    "-h", self.host, "-p", str(self.port), "-U", PG_SUPERUSER,
                    self.dbname,
                ],
                what=f"createdb {self.dbname}",
            )  # fmt: skip
        except BaseException:
            self.stop()
            raise
        logger.info("PostgreSQL %s ready at %s", self.bindir.parent.name, self.url)
        return self.url

    def _initdb(self) -> None:
        assert self.bindir is not None
        # C.UTF-8 keeps sorting simple while upper()/lower() still understand non-ASCII.
        locale_args = (
            ["--locale=C.UTF-8"] if Path("/usr/lib/locale/C.utf8").exists() else ["--no-locale"]
        )
        _run(
            self._as_pg_account(
                self.bindir / "initdb",
                "-D", self.datadir,
                "--auth=trust", "-U", PG_SUPERUSER,
                "-E", "UTF8", *locale_args,
                "--no-sync",
            ),
            what="initdb",
        )  # fmt: skip

    def _mkdir_for_postgres(self, path: Path) -> None:
        path.mkdir(mode=0o700)
        if _is_root():
            account = pwd.getpwnam(PG_OS_ACCOUNT)
            os.chown(path, account.pw_uid, account.pw_gid)

    def _pg_ctl_start(self, sockdir: Path) -> None:
        assert self.bindir is not None
        for attempt in range(1, START_ATTEMPTS + 1):
            if not self._fixed_port:
                self.port = free_port(self.host)
            options = (
                f"-p {self.port} -k {sockdir} -c listen_addresses={self.host} "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            )
            options += "".join(f" -c {name}={value}" for name, value in self.settings.items())
            try:
                _run(
                    self._as_pg_account(
                        self.bindir / "pg_ctl",
                        "-D", self.datadir, "-l", self.logfile,
                        "-w", "-t", "60", "-o", options, "start",
                    ),
                    what="pg_ctl start",
                )  # fmt: skip
                return
            except ServerError as exc:
                log = _tail(self.logfile)
                port_taken = "could not bind" in log or "already in use" in log
                if port_taken and not self._fixed_port and attempt < START_ATTEMPTS:
                    logger.info("port %s was taken, trying another", self.port)
                    continue
                raise ServerError(f"{exc}\n--- {self.logfile} ---\n{log}") from None

    def stop(self) -> None:
        """Stop the server (if it runs) and delete its directory."""
        if self._running and self.bindir is not None:
            try:
                _run(
                    self._as_pg_account(
                        self.bindir / "pg_ctl", "-D", self.datadir, "-m", "fast", "-w", "stop"
                    ),
                    what="pg_ctl stop",
                )
                logger.info("PostgreSQL on port %s stopped", self.port)
            except ServerError as exc:
                logger.warning("%s", exc)
                self._kill_postmaster()
        self._running = False
        if self.tempdir is not None:
            shutil.rmtree(self.tempdir, ignore_errors=True)
            self.tempdir = None

    def _kill_postmaster(self) -> None:
        try:
            pid = int((self.datadir / "postmaster.pid").read_text().split()[0])
            os.kill(pid, signal.SIGQUIT)  # immediate shutdown
            logger.warning("sent SIGQUIT to postmaster %s", pid)
        except (OSError, ValueError, IndexError):
            pass

    def __enter__(self) -> PostgresServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


# --------------------------------------------------------------------------------- Redis


def find_redis_server() -> Path:
    found = shutil.which("redis-server") or next(
        (p for p in ("/usr/bin/redis-server", "/usr/sbin/redis-server") if Path(p).is_file()),
        None,
    )
    if not found:
        raise ServerError("redis-server not found (Debian: apt-get install -y redis-server)")
    return Path(found)


def _redis_ping(host: str, port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


class RedisServer(AbstractContextManager["RedisServer"]):
    """A memory-only Redis server; :meth:`restart` keeps the port, loses the data.

    :meth:`stop` leaves the directory (so :meth:`start` can bring it back); :meth:`close`,
    also called on leaving the ``with`` block, stops it and deletes the directory.
    """

    def __init__(
        self,
        *,
        host: str = LOCALHOST,
        port: int | None = None,
        executable: Path | None = None,
        startup_timeout: float = 20.0,
    ) -> None:
        self.host = host
        self.port = port
        self._fixed_port = port is not None
        self.executable = executable
        self.startup_timeout = startup_timeout
        self.tempdir: Path | None = None
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        if self.port is None:
            raise ServerError("Redis server not started")
        return f"redis://{self.host}:{self.port}/0"

    @property
    def logfile(self) -> Path:
        assert self.tempdir is not None
        return self.tempdir / "redis.log"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> str:
        if self.running:
            return self.url
        self.executable = self.executable or find_redis_server()
        if self.tempdir is None:
            self.tempdir = _make_tempdir("fenghuo-redis-")
        try:
            for attempt in range(1, START_ATTEMPTS + 1):
                if self.port is None or (attempt > 1 and not self._fixed_port):
                    self.port = free_port(self.host)
                if self._spawn():
                    logger.info("Redis ready at %s", self.url)
                    return self.url
                log = _tail(self.logfile)
                port_taken = "already in use" in log or "Could not create server TCP" in log
                if not (port_taken and not self._fixed_port and attempt < START_ATTEMPTS):
                    raise ServerError(f"redis-server did not start\n--- {self.logfile} ---\n{log}")
                logger.info("port %s was taken, trying another", self.port)
        except BaseException:
            self.close()
            raise
        raise ServerError("redis-server did not start")  # pragma: no cover - loop returns

    def _spawn(self) -> bool:
        assert self.tempdir is not None and self.executable is not None
        cmd = [
            str(self.executable),
            "--port", str(self.port),
            "--bind", self.host,
            "--save", "",
            "--appendonly", "no",
            "--dir", str(self.tempdir),
            "--daemonize", "no",
        ]  # fmt: skip
        logger.debug("running %s", " ".join(cmd))
        with self.logfile.open("ab") as log:
            self.process = subprocess.Popen(
                cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            assert self.port is not None
            if _redis_ping(self.host, self.port):
                return True
            time.sleep(0.05)
        self._terminate()
        return False

    def _terminate(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                logger.warning("redis-server %s ignored SIGTERM; killing it", self.process.pid)
                self.process.kill()
                self.process.wait()
        self.process = None

    def stop(self) -> None:
        """Stop the server; its port and directory are kept for :meth:`start`."""
        if self.running:
            self._terminate()
            logger.info("Redis on port %s stopped", self.port)
        self.process = None

    def restart(self, *, downtime: float = 0.0) -> str:
        """Stop and start again on the same port (the data is lost: no persistence),
        after ``downtime`` seconds without a server."""
        self._fixed_port = True
        self.stop()
        time.sleep(downtime)
        return self.start()

    def close(self) -> None:
        """Stop the server and delete its directory."""
        self.stop()
        if self.tempdir is not None:
            shutil.rmtree(self.tempdir, ignore_errors=True)
            self.tempdir = None

    def __enter__(self) -> RedisServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


# ------------------------------------------------------------------- context managers


@contextlib.contextmanager
def postgres_server(dbname: str = DEFAULT_DBNAME) -> Iterator[str]:
    """Yield the URL of a throwaway PostgreSQL server holding an empty ``dbname``."""
    with PostgresServer(dbname) as server:
        yield server.url


@contextlib.contextmanager
def redis_server() -> Iterator[str]:
    """Yield the URL of a throwaway, memory-only Redis server."""
    with RedisServer() as server:
        yield server.url


SERVERS: dict[str, tuple[Callable[[], AbstractContextManager[str]], str]] = {
    "postgres": (postgres_server, "DATABASE_URL"),
    "redis": (redis_server, "REDIS_URL"),
}


# ------------------------------------------------------------------------------ CLI

USAGE = f"usage: python -m tests.servers {{{','.join(SERVERS)}}}... -- COMMAND [ARG...]"


class _Terminated(BaseException):
    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _on_signal(signum: int, frame: FrameType | None) -> None:
    raise _Terminated(signum)


def _run_command(cmd: Sequence[str], env: dict[str, str]) -> int:
    try:
        proc = subprocess.Popen(list(cmd), env=env)
    except OSError as exc:
        logger.error("cannot run %s: %s", cmd[0], exc)
        return 127
    try:
        returncode = proc.wait()
    except BaseException as exc:
        # Ctrl-C already reached the command (same process group); a SIGTERM sent to us
        # is passed on. Give it time to clean up before the servers go away.
        if isinstance(exc, _Terminated):
            proc.send_signal(exc.signum)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        raise
    return 128 - returncode if returncode < 0 else returncode


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(
        level=os.environ.get("LOG_LEVEL", "INFO").upper(),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    if "--" not in args:
        print(USAGE, file=sys.stderr)
        return 2
    split = args.index("--")
    names, cmd = args[:split], args[split + 1 :]
    unknown = [n for n in names if n not in SERVERS]
    if not names or unknown or len(set(names)) != len(names) or not cmd:
        if unknown:
            print(f"unknown server(s): {', '.join(unknown)}", file=sys.stderr)
        print(USAGE, file=sys.stderr)
        return 2

    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _on_signal)
    env = dict(os.environ)
    try:
        with contextlib.ExitStack() as stack:
            for name in names:
                factory, variable = SERVERS[name]
                env[variable] = stack.enter_context(factory())
                logger.info("%s=%s", variable, env[variable])
            returncode = _run_command(cmd, env)
    except ServerError as exc:
        logger.error("%s", exc)
        return 1
    except KeyboardInterrupt:
        return 130
    except _Terminated as exc:
        return 128 + exc.signum
    if returncode != 0:
        print(f"tests.servers: {cmd[0]} exited with status {returncode}", file=sys.stderr)
    return returncode


if __name__ == "__main__":
    sys.exit(main())
