"""The lock files pin every dependency of pyproject.toml exactly, agree with each other, and name no machine."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
PIN = re.compile(r"^([A-Za-z0-9._-]+)==([^\s;]+)")


def pins(name: str) -> dict[str, str]:
    """Package → exact version, from a lock file."""
    found: dict[str, str] = {}
    for line in (ROOT / name).read_text().splitlines():
        match = PIN.match(line)
        if match:
            found[canonicalize_name(match[1])] = match[2]
    return found


def project() -> dict[str, list[str]]:
    document = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return {"runtime": document["dependencies"], "dev": document["optional-dependencies"]["dev"]}


def test_every_runtime_dependency_is_pinned_within_its_range() -> None:
    locked = pins("requirements.lock")
    for line in project()["runtime"]:
        requirement = Requirement(line)
        name = canonicalize_name(requirement.name)
        assert name in locked, f"{name} is not in requirements.lock: run `make lock`"
        assert requirement.specifier.contains(locked[name], prereleases=True), f"{name}=={locked[name]} vs {line}"


def test_dev_lock_holds_the_runtime_pins_and_every_dev_tool() -> None:
    runtime, dev = pins("requirements.lock"), pins("requirements-dev.lock")
    assert {name: dev.get(name) for name in runtime} == runtime
    for line in project()["runtime"] + project()["dev"]:
        requirement = Requirement(line)
        name = canonicalize_name(requirement.name)
        assert name in dev, f"{name} is not in requirements-dev.lock: run `make lock`"
        assert requirement.specifier.contains(dev[name], prereleases=True)


def test_lock_files_name_no_index_and_no_machine_path() -> None:
    for name in ("requirements.lock", "requirements-dev.lock"):
        text = (ROOT / name).read_text()
        for line in text.splitlines():
            if line.startswith("#") or line.strip().startswith("#"):
                continue
            assert not line.startswith("-"), f"{name}: option line {line!r}"
            assert "://" not in line and " @ " not in line, f"{name}: {line!r}"
        assert "/opt/" not in text and "/work/" not in text and "file://" not in text


def test_install_and_image_use_the_lock() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert "-r requirements-dev.lock" in makefile
    assert "--no-deps -e ." in makefile
    assert "\nlock:" in makefile
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "-r requirements.lock" in dockerfile
    assert "--no-deps -e ." in dockerfile
