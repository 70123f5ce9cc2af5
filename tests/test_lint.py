"""`cnncheck lint`: the plugin's own validator, before CI, in milliseconds; and the
pre-commit hook that runs it, tested with the real pre-commit tool."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_cnncheck.cli import main

ROOT = Path(__file__).resolve().parent.parent
GOOD = "net:\n  model: net.py:Net\n  input_size: [1, 3, 32, 32]\n  expect: {params: {max: 5M}}\n"
BAD = "net:\n  model: net.py:Net\n  input_size: [1, 3, 32, 32]\n  expect: {ouput: [1, 10]}\n"


def test_lint_says_what_pytest_would_and_imports_no_torch(tmp_path: Path) -> None:
    (tmp_path / "good.cnncheck.yaml").write_text(GOOD)
    (tmp_path / "bad.cnncheck.yaml").write_text(BAD)
    code = ("import sys\nfrom pytest_cnncheck.cli import main\nstatus = main(sys.argv[1:])\n"
            "assert 'torch' not in sys.modules, 'lint imported torch'\nsys.exit(status)\n")
    good = subprocess.run([sys.executable, "-c", code, "lint", "good.cnncheck.yaml"], cwd=tmp_path,
                          capture_output=True, text=True)
    assert good.returncode == 0 and good.stdout == "", good.stderr
    bad = subprocess.run([sys.executable, "-c", code, "lint", "good.cnncheck.yaml", "bad.cnncheck.yaml"],
                         cwd=tmp_path, capture_output=True, text=True)
    assert bad.returncode == 1, bad.stderr
    assert bad.stdout.splitlines() == ["bad.cnncheck.yaml:4: Unknown key 'ouput' in `expect`. Did you "
                                       "mean 'output'? Known keys: output, params, mult_adds, memory, layers, "
                                       "flatten, accepts."]
    assert "cnncheck lint: 1 problem in 2 files" in bad.stderr


def test_lint_of_a_file_that_is_not_there(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["lint", "missing.cnncheck.yaml"]) == 1
    assert "missing.cnncheck.yaml:1: This file cannot be read: No such file or directory." in \
        capsys.readouterr().out


def test_the_pre_commit_hook_fails_on_a_broken_spec_and_passes_on_a_good_one(tmp_path: Path) -> None:
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                          check=True).stdout.strip()
    repo = tmp_path / "project"
    repo.mkdir()
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "cache"),
           # `language: system`: the cnncheck of this environment, as in a user's project
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@t"}

    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True)

    git("init", "-q")
    (repo / ".pre-commit-config.yaml").write_text(
        f"repos:\n- repo: {ROOT.as_posix()}\n  rev: {head}\n  hooks:\n  - id: cnncheck-lint\n")
    (repo / "models").mkdir()
    (repo / "models" / "net.cnncheck.yaml").write_text(GOOD)
    (repo / "notes.yaml").write_text("not: [a spec\n")  # not a spec file: not the hook's business
    git("add", ".")

    def pre_commit() -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "pre_commit", "run", "--all-files"], cwd=repo, env=env,
                              capture_output=True, text=True)

    passed = pre_commit()
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "cnncheck lint" in passed.stdout and "Passed" in passed.stdout
    (repo / "models" / "broken.cnncheck.yaml").write_text(BAD)
    git("add", ".")
    failed = pre_commit()
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "models/broken.cnncheck.yaml:4: Unknown key 'ouput' in `expect`. Did you mean 'output'?" \
        in failed.stdout


def test_the_documented_local_hook_stops_a_commit_from_a_shell_without_the_environment(
        tmp_path: Path) -> None:
    # The config exactly as docs/ci.md shows it, in a repository whose .venv is this test
    # environment; the commit runs with that environment's bin/ nowhere on PATH.
    text = (ROOT / "docs" / "ci.md").read_text()
    config = text.split("`.pre-commit-config.yaml`, with the environment in `.venv`", 1)[1]
    config = config.split("```yaml\n", 1)[1].split("```", 1)[0]
    repo = tmp_path / "project"
    repo.mkdir()
    (repo / ".venv").symlink_to(Path(sys.prefix), target_is_directory=True)
    assert (repo / ".venv" / "bin" / "cnncheck").exists()
    (repo / ".gitignore").write_text(".venv\n")
    (repo / ".pre-commit-config.yaml").write_text(config)
    venv_bin = str(Path(sys.executable).parent)
    path = os.pathsep.join(part for part in os.environ["PATH"].split(os.pathsep)
                           if Path(part).resolve() != Path(venv_bin).resolve())
    env = {**{k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}, "PATH": path,
           "PRE_COMMIT_HOME": str(tmp_path / "cache"), "GIT_AUTHOR_NAME": "t",
           "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(list(args), cwd=repo, env=env, capture_output=True, text=True)

    assert run("git", "init", "-q").returncode == 0
    # `pre-commit install` records the Python that pre-commit runs under, as it does for a user.
    installed = run(sys.executable, "-m", "pre_commit", "install")
    assert installed.returncode == 0, installed.stdout + installed.stderr
    assert run("sh", "-c", "command -v cnncheck").returncode != 0  # not on PATH
    (repo / "good.cnncheck.yaml").write_text(GOOD)
    run("git", "add", ".")
    good = run("git", "commit", "-q", "-m", "a good spec")
    assert good.returncode == 0, good.stdout + good.stderr
    assert "cnncheck lint" in good.stdout + good.stderr
    (repo / "bad.cnncheck.yaml").write_text(BAD)
    run("git", "add", ".")
    bad = run("git", "commit", "-q", "-m", "a broken spec")
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "bad.cnncheck.yaml:4: Unknown key 'ouput' in `expect`." in bad.stdout + bad.stderr
    assert run("git", "log", "--oneline").stdout.count("\n") == 1  # the broken spec was not committed
