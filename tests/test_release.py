"""The release is tested as it is made: an sdist and a wheel, `twine check --strict`, and the
version read from its one place."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_sdist_and_wheel_build_and_pass_twine_check_strict(tmp_path: Path) -> None:
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", "node_modules", "site",
        ".pytest_cache", ".hypothesis"))
    # --no-isolation: the backend of the test environment, so nothing is downloaded.
    built = subprocess.run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(tmp_path / "dist"),
                            str(source)], capture_output=True, text=True)
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    version = re.search(r'__version__ = "(.+)"', (ROOT / "src" / "pytest_cnncheck" / "__init__.py")
                        .read_text()).group(1)  # type: ignore[union-attr]
    wheel = tmp_path / "dist" / f"pytest_cnncheck-{version}-py3-none-any.whl"
    sdist = tmp_path / "dist" / f"pytest_cnncheck-{version}.tar.gz"
    assert wheel.is_file() and sdist.is_file(), sorted(p.name for p in (tmp_path / "dist").iterdir())
    checked = subprocess.run([sys.executable, "-m", "twine", "check", "--strict", str(wheel), str(sdist)],
                             capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.count("PASSED") == 2
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        metadata = archive.read(f"pytest_cnncheck-{version}.dist-info/METADATA").decode()
        entry_points = archive.read(f"pytest_cnncheck-{version}.dist-info/entry_points.txt").decode()
    # What the plugin needs at run time ships in the wheel.
    assert "pytest_cnncheck/cnncheck.schema.json" in names and "pytest_cnncheck/py.typed" in names
    assert f"Version: {version}\n" in metadata and "Requires-Dist: torch>=2.1" in metadata
    assert "[pytest11]\ncnncheck = pytest_cnncheck.plugin" in entry_points
    assert "cnncheck = pytest_cnncheck.cli:main" in entry_points
    with tarfile.open(sdist) as archive:
        members = {Path(name).relative_to(f"pytest_cnncheck-{version}").as_posix()
                   for name in archive.getnames() if "/" in name}
    assert {"README.md", "LICENSE", "pyproject.toml", "src/pytest_cnncheck/plugin.py"} <= members


def test_the_version_lives_in_one_place() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert 'dynamic = ["version"]' in pyproject and re.search(r'^version = "', pyproject, re.M) is None
    assert 'version = {attr = "pytest_cnncheck.__version__"}' in pyproject
    import pytest_cnncheck
    changelog = (ROOT / "CHANGELOG.md").read_text()
    assert f"## {pytest_cnncheck.__version__}" in changelog or "## Unreleased" in changelog
