"""The lock: every range in pyproject.toml pinned with hashes, and what each install path uses."""

from __future__ import annotations

import re
import tomllib

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from servers import ROOT

PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
TEST_LOCK = ROOT / "requirements" / "test.txt"
RUNTIME_LOCK = ROOT / "requirements" / "runtime.txt"


def pins(lock) -> dict[str, tuple[str, int]]:
    """Each locked name: its version and how many hashes it carries."""
    text = lock.read_text().replace("\\\n", " ")
    found = {}
    for line in text.splitlines():
        match = re.match(r"^([A-Za-z0-9._-]+)==(\S+)\s", line)
        if match:
            name, version = match.groups()
            found[canonicalize_name(name)] = (version, line.count("--hash=sha256:"))
    return found


@pytest.mark.parametrize(
    ("lock", "ranges"),
    [
        (RUNTIME_LOCK, PROJECT["dependencies"]),
        (TEST_LOCK, PROJECT["dependencies"] + PROJECT["optional-dependencies"]["test"]),
    ],
    ids=["runtime", "test"],
)
def test_every_range_is_pinned_with_hashes_inside_it(lock, ranges):
    locked = pins(lock)
    assert locked and all(hashes for _, hashes in locked.values())
    for spec in map(Requirement, ranges):
        version, _ = locked[canonicalize_name(spec.name)]
        assert spec.specifier.contains(version, prereleases=True), (spec, version)


def test_the_image_runs_what_the_tests_ran():
    test = pins(TEST_LOCK)
    for name, (version, _) in pins(RUNTIME_LOCK).items():
        assert test[name][0] == version, name


def test_the_makefile_and_the_dockerfile_install_from_the_lock():
    makefile = (ROOT / "Makefile").read_text()
    assert "LOCK := requirements/test.txt" in makefile
    assert re.search(r"pip install .*--require-hashes -r \$\(LOCK\)", makefile)
    assert re.search(r"pip install .*--no-deps .*-e \.", makefile)
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"pip install .*--require-hashes -r requirements/runtime.txt", dockerfile)
    assert re.search(r"pip install .*--no-deps .*\.$", dockerfile, re.MULTILINE)
    assert "pip wheel" not in dockerfile and "pip install --upgrade" not in dockerfile
