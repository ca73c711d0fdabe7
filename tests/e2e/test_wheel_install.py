"""The wheel serves everything: code, browser client, migrations and model weights.

The Docker image installs the project's wheel, not the source tree, so whatever the wheel
leaves out (a package missing from `[tool.setuptools] packages`, a file type missing from
`package-data`, a folder the Dockerfile does not COPY) is missing in production while
every test that runs from the repository still passes. This module builds the wheel from
exactly the files the Dockerfile's build stage COPYs, installs it into a fresh virtualenv
and runs `safestream serve` from that virtualenv in a directory outside the repository.

Bounded on purpose: installing the `ml` and `dash` extras (torch, transformers, panel)
into a fresh virtualenv on every run would take minutes and need the network. Instead the
wheel goes in with `--no-deps`, and the new virtualenv sees the dependencies already
installed for the test run through a `.pth` file listing the running interpreter's
site-packages directories (found with `sysconfig` at test time, never written down). A
plain path line in a `.pth` file appends that directory to `sys.path` without processing
the `.pth` files inside it, so the project's editable install there (its `__editable__`
finder is installed by a `.pth` file) never runs: `safestream`, `actors` and `dashboard`
can only come from the wheel. The first test proves that on a virtualenv without the
wheel; the others check the paths the installed code really uses. The build runs offline
with the current setuptools (`--no-build-isolation`); the image builds the same way with
a fresh setuptools from the index.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import sysconfig
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from conftest import AppProcess, free_port

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(90)]

REPO = Path(__file__).resolve().parents[2]
STOP_TIMEOUT_SECS = 15.0


@dataclass(frozen=True)
class Venv:
    """A fresh virtualenv and an empty working directory outside the repository."""

    venv: Path
    site_packages: Path
    workdir: Path

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"


def clean_env(env: dict[str, str]) -> dict[str, str]:
    """`env` without the variables that could point Python at the repository (the test
    command sets PYTHONPATH to the worktree)."""
    kept = {k: v for k, v in env.items() if not k.startswith("PYTHON")}
    return {**kept, "PYTHONNOUSERSITE": "1", "PYTHONDONTWRITEBYTECODE": "1"}


def run(args: list[str | Path], cwd: Path) -> str:
    result = subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        env=clean_env(dict(os.environ)),
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, f"{args} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def dockerfile_build_context(dockerfile: Path) -> list[str]:
    """The repository paths the Dockerfile COPYs from the build context.

    Only mirrored copies are understood (`COPY a b ./` and `COPY dir ./dir`), which is how
    the Dockerfile is written; anything else fails here rather than being guessed at.
    `COPY --from=<stage>` lines copy between stages and are skipped.
    """
    sources: list[str] = []
    for line in dockerfile.read_text().splitlines():
        words = line.split()
        if not words or words[0].upper() != "COPY" or words[1].startswith("--from="):
            continue
        *srcs, dest = words[1:]
        for src in srcs:
            mirrored = dest in ("./", ".") or (len(srcs) == 1 and dest.rstrip("/") == f"./{src}")
            assert mirrored, f"unexpected COPY (the test mirrors paths): {line}"
            sources.append(src)
    return sources


def build_wheel(context: Path, out: Path) -> Path:
    """Build the project's wheel from a copy of exactly the Dockerfile's build context."""
    sources = dockerfile_build_context(REPO / "Dockerfile")
    assert "ui" in sources and "pyproject.toml" in sources, sources
    for src in sources:
        if (REPO / src).is_dir():
            ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
            shutil.copytree(REPO / src, context / src, ignore=ignore)
        else:
            shutil.copy2(REPO / src, context / src)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
    run([*pip, "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q", "-w", out, "."],
        cwd=context)  # fmt: skip
    (wheel,) = out.glob("safestream-*.whl")
    return wheel


def files_under(root: Path) -> set[Path]:
    return {
        p.relative_to(root) for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts
    }


def dependency_dirs() -> list[str]:
    """The site-packages directories of the interpreter running the tests."""
    paths = sysconfig.get_paths()
    return list(dict.fromkeys([paths["purelib"], paths["platlib"]]))


def make_venv(root: Path) -> Venv:
    """A fresh virtualenv under `root` that sees the test run's dependencies (one `.pth`
    line per site-packages directory), without the project."""
    venv = root / "venv"
    workdir = root / "run"
    workdir.mkdir()
    run([sys.executable, "-m", "venv", "--without-pip", venv], cwd=workdir)
    probe = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    site_packages = Path(run([venv / "bin" / "python", "-c", probe], cwd=workdir).strip())
    (site_packages / "_safestream_test_deps.pth").write_text("\n".join(dependency_dirs()) + "\n")
    return Venv(venv=venv, site_packages=site_packages, workdir=workdir)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Venv:
    """A fresh virtualenv with the wheel installed the way the Dockerfile installs it (the
    wheel file, not editable), without dependencies (see the module docstring)."""
    wheel = build_wheel(tmp_path_factory.mktemp("context"), tmp_path_factory.mktemp("dist"))
    venv = make_venv(tmp_path_factory.mktemp("installed"))
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--python", venv.python]
    run([*pip, "install", "--no-deps", "--no-index", "-q", wheel], cwd=venv.workdir)
    return venv


class InstalledServer(AppProcess):
    """An `AppProcess` whose environment cannot point Python at the repository."""

    def env(self) -> dict[str, str]:
        return clean_env(super().env())


@pytest.fixture(scope="module")
def wheel_server(installed: Venv, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppProcess]:
    """The installed `safestream serve`, run from outside the repository; stopping it with
    SIGTERM must end it cleanly (exit code 0) within STOP_TIMEOUT_SECS."""
    app = InstalledServer(
        data_dir=tmp_path_factory.mktemp("data"),
        port=free_port(),
        command=[str(installed.venv / "bin" / "safestream"), "serve"],
        cwd=installed.workdir,
    )
    app.start()
    try:
        yield app
    finally:
        code = app.stop(signal.SIGTERM, timeout=STOP_TIMEOUT_SECS)
    assert code == 0, f"SIGTERM did not stop the server cleanly ({code})"


def test_the_virtualenv_sees_the_dependencies_but_not_the_project_without_the_wheel(
    tmp_path: Path,
) -> None:
    """The dependency link carries neither the editable install nor the repository, so
    the other tests' `safestream` can only be the installed wheel."""
    venv = make_venv(tmp_path)
    modules = ("safestream", "actors", "dashboard", "trio", "quart", "sqlalchemy")
    probe = f"import importlib.util as u; print([u.find_spec(m) is not None for m in {modules}])"
    found = run([venv.python, "-c", probe], cwd=venv.workdir).strip()
    assert found == "[False, False, False, True, True, True]"


def test_installed_code_migrations_weights_and_ui_come_from_the_wheel(
    installed: Venv,
) -> None:
    probe = """
import json, sys
import actors, dashboard, safestream
from safestream.moderation.classifiers.minilm import DEFAULT_HEADS
from safestream.store.engine import MIGRATIONS_DIR
from safestream.web.routes.ui import UI_DIR
print(json.dumps({
    "safestream": safestream.__file__, "actors": actors.__file__,
    "dashboard": dashboard.__file__, "ui": str(UI_DIR), "migrations": str(MIGRATIONS_DIR),
    "heads": str(DEFAULT_HEADS), "sys_path": sys.path,
    "editable": [m for m in sys.modules if "editable" in m],
}))
"""
    found = json.loads(run([installed.python, "-c", probe], cwd=installed.workdir))
    print("installed safestream:", found["safestream"])
    site = installed.site_packages
    assert Path(found["safestream"]) == site / "safestream" / "__init__.py"
    assert Path(found["actors"]) == site / "actors" / "__init__.py"
    assert Path(found["dashboard"]) == site / "dashboard" / "__init__.py"
    assert Path(found["ui"]) == site / "safestream" / "ui"
    assert found["editable"] == []
    # Nothing from the repository is importable; its own .venv may hold the dependencies.
    deps = {Path(d).resolve() for d in dependency_dirs()}
    on_path = {Path(p).resolve() for p in found["sys_path"] if p}
    assert {p for p in on_path - deps if p.is_relative_to(REPO)} == set()

    heads = Path(found["heads"])
    repo_heads = REPO / "safestream" / "moderation" / "models" / "minilm_heads.json"
    assert heads.is_relative_to(site) and heads.read_bytes() == repo_heads.read_bytes()
    migrations = Path(found["migrations"])
    assert migrations.is_relative_to(site) and (migrations / "env.py").is_file()
    versions = {p.name for p in (REPO / "safestream/store/migrations/versions").glob("*.py")}
    assert versions and {p.name for p in (migrations / "versions").glob("*.py")} == versions

    assert files_under(site / "safestream" / "ui") == files_under(REPO / "ui")


@pytest.mark.parametrize(
    ("path", "file", "content_type"),
    [
        ("/", "index.html", "text/html; charset=utf-8"),
        ("/chat", "chat.html", "text/html; charset=utf-8"),
        ("/ui/js/app.js", "js/app.js", "text/javascript; charset=utf-8"),
        ("/ui/js/socket.js", "js/socket.js", "text/javascript; charset=utf-8"),
        ("/ui/css/chat.css", "css/chat.css", "text/css; charset=utf-8"),
        ("/ui/img/logo.svg", "img/logo.svg", "image/svg+xml"),
    ],
)
def test_installed_server_serves_the_repository_client_byte_for_byte(
    wheel_server: AppProcess, path: str, file: str, content_type: str
) -> None:
    response = httpx.get(f"{wheel_server.url}{path}")
    assert response.status_code == 200
    assert response.headers["content-type"] == content_type
    assert response.content == (REPO / "ui" / file).read_bytes()


def test_installed_server_ran_its_migrations_so_a_demo_user_logs_in(
    wheel_server: AppProcess,
) -> None:
    token = wheel_server.token("demo_user")
    me = httpx.get(f"{wheel_server.url}/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200
    assert me.json()["username"] == "demo_user"


def test_installed_server_refuses_js_paths_that_climb_into_the_package(
    wheel_server: AppProcess, installed: Venv
) -> None:
    """Installed, `ui/` sits inside the `safestream` package, next to the model weights (a
    `.json`, a served file type): climbing out of `ui/js/` must not reach them."""
    target = "moderation/models/minilm_heads.json"
    assert (installed.site_packages / "safestream" / target).is_file()
    encoded = [
        f"/ui/js/%2e%2e/%2e%2e/{target}",
        f"/ui/js/..%2f..%2f{target.replace('/', '%2f')}",
        f"/ui/%2e%2e/{target}",
    ]
    for path in encoded:
        response = httpx.get(f"{wheel_server.url}{path}")
        assert response.status_code == 404, path
        assert "safestream-minilm-heads" not in response.text, path
    # Literal dot segments, sent as they are (httpx would remove them before sending).
    conn = http.client.HTTPConnection("127.0.0.1", wheel_server.port, timeout=10)
    try:
        conn.request("GET", f"/ui/js/../../{target}")
        response_raw = conn.getresponse()
        body = response_raw.read().decode(errors="replace")
    finally:
        conn.close()
    assert response_raw.status == 404
    assert "safestream-minilm-heads" not in body
