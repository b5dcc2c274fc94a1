"""The install: requirements.lock matches pyproject.toml, the security floors hold, and the
Makefile forms the pip commands of a TORCH_INDEX install (without downloading anything)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

if sys.version_info >= (3, 11):
    import tomllib
else:  # pytest's own TOML reader
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements.lock"
DIRECT = "regenlab (pyproject.toml)"  # how uv annotates a requirement pyproject.toml names


def torch_stack(name: str) -> bool:
    """torch and what only a CUDA torch needs: what a TORCH_INDEX install takes elsewhere."""
    return name in ("torch", "torchvision", "triton") or name.startswith(("nvidia-", "cuda-"))


needs_make = pytest.mark.skipif(shutil.which("make") is None, reason="needs make")


def read_lock(path: Path) -> dict[str, dict]:
    """name -> {"versions": [...], "direct": named by pyproject.toml, "hashes": n} of uv's
    requirements.txt output."""
    entries: dict[str, dict] = {}
    entry: dict = {}
    for line in path.read_text().splitlines():
        if line[:1].isalnum():
            req = Requirement(line.removesuffix("\\").strip())
            name = canonicalize_name(req.name)
            entry = entries.setdefault(name, {"versions": [], "direct": False, "hashes": 0})
            entry["versions"].append(Version(next(iter(req.specifier)).version))
        elif "--hash=sha256:" in line:
            entry["hashes"] += 1
        elif DIRECT in line:
            entry["direct"] = True
    return entries


def project_requirements() -> tuple[list[Requirement], list[Requirement]]:
    """pyproject.toml's default + dev requirements, and the lock's torch pins ([tool.uv])."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    reqs = project["project"]["dependencies"] + project["project"]["optional-dependencies"]["dev"]
    pins = project["tool"]["uv"]["constraint-dependencies"]
    return [Requirement(r) for r in reqs], [Requirement(r) for r in pins]


def test_lock_is_not_stale():
    """A dependency added, dropped or re-ranged in pyproject.toml without `make lock` fails
    here, not on a fresh machine that installs the lock."""
    locked = read_lock(LOCK)
    reqs, pins = project_requirements()
    for req in [*reqs, *pins]:
        name = canonicalize_name(req.name)
        assert name in locked, f"{req} is not in requirements.lock: run `make lock`"
        for version in locked[name]["versions"]:
            assert req.specifier.contains(version, prereleases=True), (
                f"requirements.lock has {name}=={version}, outside {req}: run `make lock`"
            )
    dropped = {n for n, e in locked.items() if e["direct"]} - {
        canonicalize_name(r.name) for r in reqs
    }
    assert not dropped, f"requirements.lock has {dropped}, no longer in pyproject.toml: make lock"
    assert all(e["hashes"] for e in locked.values()), "every locked package has its hashes"


@pytest.mark.parametrize(
    ("package", "bad", "good"),
    [("lightning", ["2.6.2", "2.6.3", "2.6.5", "2.4.0"], ["2.6.6", "2.7.0"]),  # GHSA-w37p-236h-pfx3
     ("pytorch-lightning", ["2.6.2", "2.6.3", "2.6.5"], ["2.6.6"]),  # lightning pins no range
     ("hydra-core", ["1.3.2", "1.3.3", "1.4.0"], ["1.3.4", "1.3.8"])],  # _target_ hardening
)  # fmt: skip
def test_dependency_ranges_exclude_the_compromised_and_unfixed_releases(package, bad, good):
    reqs, _ = project_requirements()
    spec: SpecifierSet = next(r.specifier for r in reqs if canonicalize_name(r.name) == package)
    assert not [v for v in bad if spec.contains(v)], f"{package}{spec} admits a bad release"
    assert all(spec.contains(v) for v in good), f"{package}{spec} excludes a fixed release"


def make_commands(tmp_path: Path, *args: str) -> list[str]:
    """The commands `make venv` would run for a fresh venv in tmp_path (``make -n``)."""
    out = subprocess.run(
        ["make", "-n", "venv", f"VENV={tmp_path}/venv", *args],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    return [" ".join(cmd.split()) for cmd in out.replace("\\\n", " ").splitlines()]


@needs_make
def test_the_default_install_takes_everything_from_the_lock_with_hashes(tmp_path):
    commands = make_commands(tmp_path)
    pip = f"{tmp_path}/venv/bin/pip install"
    assert f"{pip} --no-deps --require-hashes -r requirements.lock" in commands
    assert not any("--index-url" in cmd for cmd in commands)  # PyPI only


@needs_make
def test_torch_index_takes_torch_from_that_index_and_the_rest_from_the_lock(tmp_path):
    commands = make_commands(tmp_path, "TORCH_INDEX=https://example/whl/cpu")
    locked = read_lock(LOCK)
    pins = " ".join(f"{n}=={locked[n]['versions'][0]}" for n in ("torch", "torchvision"))
    venv = f"{tmp_path}/venv"
    assert commands.index(
        f"{venv}/bin/pip install --no-deps --require-hashes -r {venv}/no-torch.lock"
    ) < commands.index(f"{venv}/bin/pip install --index-url https://example/whl/cpu {pins}")
    # the lock less torch's stack, as the printed command writes it
    (tmp_path / "venv").mkdir()
    subprocess.run(
        next(c for c in commands if c.startswith("awk")), shell=True, cwd=ROOT, check=True
    )
    rest = read_lock(tmp_path / "venv" / "no-torch.lock")
    assert rest == {n: e for n, e in locked.items() if not torch_stack(n)}
    assert any(torch_stack(n) for n in locked) and not any(torch_stack(n) for n in rest)
    assert {"sympy", "filelock", "lightning"} <= rest.keys()  # torch's own deps stay hashed
