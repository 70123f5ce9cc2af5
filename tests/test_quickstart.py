"""What a new user copies runs as written: the README's quickstart and the CI example.

The CI example's `run:` lines are executed in a fresh virtual environment, as a runner
would, with only what this machine can reach swapped in: torch from the package index
this machine has rather than download.pytorch.org, and this checkout for the package.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

from quickstart import commands  # noqa: E402


def test_the_quickstart_is_two_commands_that_make_and_use_a_virtual_environment() -> None:
    # CI (.ci/run) runs these lines verbatim; here: that they stay what the README promises.
    first, second = commands((ROOT / "README.md").read_text(encoding="utf-8"))
    for command in (first, second):
        assert command.startswith("python3 -m venv .venv && ")
        # A fresh Debian or Ubuntu has no `python`, and pip refuses the system Python.
        assert " python " not in f" {command} " and "pip install" not in command.replace(
            ".venv/bin/python -m pip install", "")
        assert "torch==2.13.0" in command  # the CPU build on disk, not a CUDA download
    assert first.endswith(".venv/bin/python -m pytest examples/")
    assert second.endswith(".venv/bin/python -m pytest") and '".[test]"' in second
    assert "scripts/quickstart.py" in (ROOT / ".ci" / "run").read_text()


PROJECT_MODEL = textwrap.dedent("""\
    from torch import nn


    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 8, 3, padding=1)
            self.pool = nn.AdaptiveAvgPool2d(1)
            self.fc = nn.Linear(8, 10)

        def forward(self, x):
            return self.fc(self.pool(self.conv(x)).flatten(1))
""")


def test_the_ci_example_runs_as_written_in_a_fresh_environment(tmp_path: Path) -> None:
    workflow = yaml.safe_load((ROOT / "examples" / "ci" / "github-actions.yml").read_text())
    steps = workflow["jobs"]["specs"]["steps"]
    # Steps for a pull request only talk to GitHub (fetching the base branch's report):
    # here the base report is the first run's, put where that step puts it.
    runs = [step["run"] for step in steps if "run" in step and "pull_request" not in step.get("if", "")]
    # A user's project: a plain repository (no pyproject.toml, no package), its models in a
    # folder with a spec beside them, and a requirements file that names pytest-cnncheck as
    # the README says, from this checkout instead of the repository's URL.
    project = tmp_path / "project"
    (project / "models").mkdir(parents=True)
    (project / "requirements.txt").write_text(f"pytest-cnncheck @ {ROOT.as_uri()}\n")
    (project / "models" / "net.py").write_text(PROJECT_MODEL)
    (project / "models" / "net.cnncheck.yaml").write_text(
        "net:\n  model: net.py:Net\n  input_size: [2, 3, 32, 32]\n"
        "  expect: {output: [2, 10], params: 314}\n")
    # The runner: a fresh virtual environment first on PATH, so `python` is its Python.
    subprocess.run([sys.executable, "-m", "venv", str(tmp_path / "venv")], check=True)
    env = {**os.environ, "PATH": f"{tmp_path / 'venv' / 'bin'}{os.pathsep}{os.environ['PATH']}",
           "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md")}
    env.pop("PYTHONPATH", None)

    def job() -> None:
        for run in runs:
            command = run.replace("torch --index-url https://download.pytorch.org/whl/cpu", "torch==2.13.0")
            done = subprocess.run(["bash", "-ec", command], cwd=project, env=env, capture_output=True,
                                  text=True)
            assert done.returncode == 0, f"{run}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"

    job()  # the run on main
    summary = (tmp_path / "summary.md").read_text()
    assert "## cnncheck: 1 of 1 specs passed" in summary
    assert "| ✅ passed | `models/net.cnncheck.yaml::net` | [2, 10] | 314 | " in summary
    assert "Changes against the base branch" not in summary
    # A pull request that widens the conv, with main's report as the artifact fetched.
    (project / "base").mkdir()
    (project / "base" / "cnncheck.json").write_bytes((project / "cnncheck.json").read_bytes())
    (project / "models" / "net.py").write_text(PROJECT_MODEL.replace("8", "16"))
    (project / "models" / "net.cnncheck.yaml").write_text(
        "net:\n  model: net.py:Net\n  input_size: [2, 3, 32, 32]\n  expect: {output: [2, 10]}\n")
    (tmp_path / "summary.md").unlink()
    job()
    summary = (tmp_path / "summary.md").read_text()
    assert "### Changes against the base branch" in summary
    assert "| `models/net.cnncheck.yaml::net` |  | +304 params (+96.8%)" in summary
    # The cache that setup-python keeps is keyed on a file the project has.
    setup = next(step for step in steps if step.get("uses", "").startswith("actions/setup-python"))
    assert setup["with"]["cache"] == "pip"
    assert (project / setup["with"]["cache-dependency-path"]).is_file()


def test_the_cpu_form_is_the_same_two_commands_and_is_named_before_them() -> None:
    # On Linux, PyPI's torch is the CUDA build: a user must meet the CPU form before the
    # commands that would fetch it, and it must be those commands, not others.
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Quickstart", 1)[1].split("\n## ", 1)[0]
    assert section.index("run the CPU form") < section.index("```bash")
    blocks = re.findall(r"```bash\n(.*?)```", section, re.S)
    plain, cpu = (commands_of(block) for block in blocks[:2])
    index = " --extra-index-url https://download.pytorch.org/whl/cpu"
    assert cpu == [command.replace("torch==2.13.0", "torch==2.13.0" + index) for command in plain]


def commands_of(block: str) -> list[str]:
    return [line for line in block.splitlines() if line.strip() and not line.startswith("#")]


def test_the_readme_installs_what_exists() -> None:
    # Not on PyPI yet: no bare `pip install pytest-cnncheck`, in the README or the docs.
    for page in [ROOT / "README.md", *(ROOT / "docs").glob("*.md"), ROOT / "examples" / "ci" / "github-actions.yml"]:
        text = page.read_text(encoding="utf-8")
        assert not re.search(r"pip install (-U )?pytest-cnncheck(\s|$)", text), page
    assert "pytest-cnncheck @ git+https://github.com/pytest-cnncheck/pytest-cnncheck" in \
        (ROOT / "README.md").read_text(encoding="utf-8")


def test_the_advice_on_parallel_runs_is_where_users_look_first() -> None:
    # -n 2 on a dozen specs took twice as long as without: the README's options and the
    # FAQ say when it pays, with the measured break-even.
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    options = readme.split("## Options", 1)[1]
    assert "`-n` (pytest-xdist) is not free" in options and "break-even is near **6 s**" in options
    faq = (ROOT / "docs" / "faq.md").read_text(encoding="utf-8")
    assert "**Should I run the specs with `-n auto` (pytest-xdist)?**" in faq
    assert "more than about 6 s in one process" in faq


def test_the_ci_page_shows_the_example_itself_not_an_include() -> None:
    # GitHub shows a docs page as it is: an include line would read as raw text there.
    for page in (ROOT / "docs").glob("*.md"):
        assert "--8<--" not in page.read_text(encoding="utf-8"), page
    example = (ROOT / "examples" / "ci" / "github-actions.yml").read_text(encoding="utf-8")
    assert f"```yaml\n{example}```\n" in (ROOT / "docs" / "ci.md").read_text(encoding="utf-8")
