"""infra/Dockerfile builds what production runs: a pinned base, a non-root user, one of the four
services, a health check, and the command tests/integration/test_production_entrypoints.py runs;
and the wheel it installs holds every file the code reads at run time."""

from __future__ import annotations

import json
import re
import shlex
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
#: the command of a web container, as the integration test runs it (with `sh -c`)
WEB_COMMAND = [
    "sh",
    "-c",
    'exec gunicorn -c python:infra.gunicorn_conf "services.${SERVICE}.wsgi:app"',
]


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of infra/Dockerfile, continuation lines joined."""
    text = re.sub(r"\\\n", " ", (REPO / "infra" / "Dockerfile").read_text())
    lines = [line.strip() for line in text.splitlines()]
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "")
        for line in lines
        if line and not line.startswith("#")
    ]


def arguments(name: str) -> list[str]:
    return [args for instruction, args in instructions() if instruction == name]


def base_images() -> list[str]:
    """The FROM images with the global ARGs' defaults put in."""
    defaults: dict[str, str] = {}
    images = []
    for instruction, args in instructions():
        if instruction == "FROM":
            image = args.split()[0]
            images.append(re.sub(r"\$\{(\w+)\}", lambda m: defaults[m.group(1)], image))
        elif instruction == "ARG" and "=" in args and not images:
            name, _, value = args.partition("=")
            defaults[name] = value
    return images


def test_every_base_image_is_pinned_to_a_patch_release_and_a_debian_release() -> None:
    images = base_images()
    assert len(images) == 2  # build and run
    for image in images:
        assert re.fullmatch(r"python:3\.11\.\d+-slim-bookworm(@sha256:[0-9a-f]{64})?", image), image


def test_the_process_runs_as_a_non_root_user() -> None:
    [user] = arguments("USER")
    assert user not in ("root", "0") and not user.startswith("0:")
    run_stage = [i for i, _ in instructions()][::-1]
    assert run_stage.index("USER") < run_stage.index("FROM")  # in the last stage


def test_the_service_build_argument_is_one_of_the_four() -> None:
    runs = " ".join(arguments("RUN"))
    assert re.search(r'case "\$SERVICE" in goals\|plans\|reports\|gateway\) ;;', runs)
    assert re.search(r"\*\) .*exit 1", runs)
    assert "SERVICE=${SERVICE}" in " ".join(arguments("ENV"))


def test_a_healthcheck_asks_the_web_app() -> None:
    [health] = arguments("HEALTHCHECK")
    command = health.split(" CMD ", 1)[1]
    python = shlex.split(command)
    assert python[:2] == ["python", "-c"] and "/healthz" in python[2]
    compile(python[2], "HEALTHCHECK", "exec")


def test_the_command_is_the_one_the_entry_point_test_runs() -> None:
    [cmd] = arguments("CMD")
    assert json.loads(cmd) == WEB_COMMAND
    assert "PORT=8000" in " ".join(arguments("ENV"))


def test_the_wheel_holds_every_file_the_code_reads() -> None:
    """The image installs our wheel, not the source tree: a template or stylesheet outside
    pyproject's package-data would be missing only in production."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    patterns = project["tool"]["setuptools"]["package-data"]["*"]
    packages = [
        p.parent
        for top in ("shared", "services", "infra")
        for p in (REPO / top).rglob("__init__.py")
    ]
    packaged = {f for package in packages for pattern in patterns for f in package.glob(pattern)}
    data = {
        path
        for top in ("shared", "services", "infra")
        for path in (REPO / top).rglob("*")
        if path.is_file() and path.suffix not in (".py", ".pyc")
    }
    not_read_by_code = {
        REPO / "infra" / "Dockerfile",
        *(REPO / "infra" / "postgres-init").iterdir(),
    }
    missing = sorted(str(p.relative_to(REPO)) for p in data - packaged - not_read_by_code)
    assert missing == []
    assert any(p.name == "web.css" for p in packaged)
