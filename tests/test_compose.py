"""docker-compose.yml and the Dockerfile run commands the CLI has, with settings .env.example names.

No Docker engine runs in CI, so this is what keeps the README's Docker section true.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

from billecta_gateway.cli import build_parser

ROOT = Path(__file__).resolve().parent.parent
IMAGE = "billecta-gateway:local"
INTERPOLATION = re.compile(r"\$\{([A-Z_][A-Z0-9_]*)")


def documented_settings(env_example: str) -> set[str]:
    return set(re.findall(r"^([A-Z][A-Z0-9_]*)=", env_example, flags=re.MULTILINE))


def cli_problem(argv: list[str]) -> str | None:
    """Why `billecta-gateway <argv>` would not run, or None when the CLI accepts it."""
    try:
        build_parser().parse_args(argv)
    except SystemExit:
        return f"`billecta-gateway {shlex.join(argv)}` is not a command of the CLI"
    return None


def gateway_commands(service: dict[str, Any]) -> list[list[str]]:
    """The argument lists a service of our image hands to the `billecta-gateway` entrypoint."""
    commands = [list(service["command"])]
    test = service.get("healthcheck", {}).get("test")
    if test and test[0] == "CMD" and test[1] == "billecta-gateway":
        commands.append(list(test[2:]))
    return commands


def compose_problems(compose_text: str, env_example: str) -> list[str]:
    """Every command or setting of the compose file that the CLI or .env.example lacks."""
    doc = yaml.safe_load(compose_text)
    known = documented_settings(env_example)
    problems = []
    for name, service in doc["services"].items():
        if service.get("image") != IMAGE:
            continue
        for argv in gateway_commands(service):
            if problem := cli_problem(argv):
                problems.append(f"{name}: {problem}")
        problems += [
            f"{name}: {setting} is not in .env.example"
            for setting in service.get("environment", {})
            if setting not in known
        ]
    problems += [
        f"${{{setting}}} is not in .env.example"
        for setting in sorted(set(INTERPOLATION.findall(compose_text)))
        if setting not in known
    ]
    return problems


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))


def test_compose_commands_exist_and_settings_are_documented() -> None:
    problems = compose_problems(
        (ROOT / "docker-compose.yml").read_text(encoding="utf-8"),
        (ROOT / ".env.example").read_text(encoding="utf-8"),
    )
    assert problems == []


def test_the_check_catches_an_unknown_command_and_an_undocumented_setting() -> None:
    compose_text = (
        "services:\n"
        "  api:\n"
        f"    image: {IMAGE}\n"
        "    command: [serve]\n"
        "    environment: {DATABASE_URL: x, NOT_A_SETTING: y, OTHER: '${ALSO_MISSING:-z}'}\n"
        "    healthcheck: {test: [CMD, billecta-gateway, worker, --healthy]}\n"
    )
    assert compose_problems(compose_text, "DATABASE_URL=\n# OTHER=\n") == [
        "api: `billecta-gateway serve` is not a command of the CLI",
        "api: `billecta-gateway worker --healthy` is not a command of the CLI",
        "api: NOT_A_SETTING is not in .env.example",
        "api: OTHER is not in .env.example",
        "${ALSO_MISSING} is not in .env.example",
    ]


def test_compose_runs_the_stack_the_issue_names(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == {"postgres", "redis", "migrate", "api", "worker", "sandbox"}
    assert services["migrate"]["command"] == ["migrate"]
    assert services["migrate"]["restart"] == "no"
    for name in ("api", "worker"):
        assert services[name]["depends_on"]["migrate"] == {
            "condition": "service_completed_successfully"
        }
    assert services["worker"]["healthcheck"]["test"] == [
        "CMD",
        "billecta-gateway",
        "worker",
        "--check",
    ]
    assert services["sandbox"]["profiles"] == ["dev"]
    assert "profiles" not in services["api"]
    gateway = {name for name, s in services.items() if s.get("image") == IMAGE}
    assert all(services[name]["build"] == "." for name in gateway)


def test_the_image_serves_the_api_and_checks_its_healthz() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    entrypoint = re.search(r"^ENTRYPOINT (\[.*\])$", dockerfile, flags=re.MULTILINE)
    command = re.search(r"^CMD (\[.*\])$", dockerfile, flags=re.MULTILINE)
    assert entrypoint is not None and command is not None
    assert yaml.safe_load(entrypoint.group(1)) == ["billecta-gateway"]
    argv = yaml.safe_load(command.group(1))
    assert cli_problem(argv) is None
    assert argv[0] == "api" and argv[argv.index("--port") + 1] == "8000"
    healthcheck = dockerfile[dockerfile.index("HEALTHCHECK") :].split("\nENTRYPOINT")[0]
    assert "http://127.0.0.1:8000/healthz" in healthcheck
    # The runtime image installs no dev group and no `local` extra.
    syncs = re.findall(r"uv sync[^\n]*", dockerfile)
    assert syncs and all("--no-dev" in s and "--extra" not in s for s in syncs)


def test_the_readme_docker_section_names_compose_services(compose: dict[str, Any]) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Docker\n", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"docker compose [^\n#]*", section)
    assert commands
    services = set(compose["services"])
    for command in commands:
        words = shlex.split(command)
        if words[2] in ("run", "logs", "exec"):
            named = next(w for w in words[3:] if not w.startswith("-"))
            assert named in services, command
