"""The distribution is named ``speechkit-stt`` (``speechkit`` on the package index is an unrelated
project that also installs a top-level ``speechkit`` package), and every install hint says so.

CI builds the wheel and sdist, checks them with ``twine check --strict``, installs the wheel in a
fresh venv and runs the quickstart from it (``.ci/run``); these tests keep the text in step.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import speechkit
from speechkit.realtime._common import USER_AGENT

ROOT = Path(__file__).resolve().parent.parent
DIST = "speechkit-stt"

#: An install of the unrelated project: ``pip install speechkit``, ``pip install "speechkit[x]"``.
_WRONG_INSTALL = re.compile(r"""pip install\s+(?:-\S+\s+)*["']?speechkit(?![-_\w])""")
#: An extra named on the wrong distribution: ``speechkit[server]``.
_WRONG_EXTRA = re.compile(r"""(?<![-\w.])speechkit\[(?:server|whisper|mic|dask|docs|bench|dev)""")


def _texts() -> list[Path]:
    files = [ROOT / "README.md", ROOT / "pyproject.toml"]
    for folder, patterns in (
        ("speechkit", ("*.py",)),
        ("docs", ("*.md",)),
        ("examples", ("*.py", "*.ipynb", "*.md")),
    ):
        for pattern in patterns:
            files.extend(sorted((ROOT / folder).rglob(pattern)))
    return files


def test_the_distribution_name_is_the_free_one_and_extras_refer_to_it() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["name"] == DIST
    assert project["scripts"]["speechkit"] == "speechkit.cli:main"
    for extra, requirements in project["optional-dependencies"].items():
        for requirement in requirements:
            name = re.split(r"[\[<>=!~ ;]", requirement, maxsplit=1)[0]
            assert name != "speechkit", f"extra {extra!r} requires the unrelated project"


def test_no_install_hint_names_the_unrelated_project() -> None:
    offenders = []
    for path in _texts():
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if _WRONG_INSTALL.search(line) or _WRONG_EXTRA.search(line):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert offenders == []


def test_the_wrong_hint_patterns_do_catch_what_they_are_for() -> None:
    assert _WRONG_INSTALL.search("pip install speechkit")
    assert _WRONG_INSTALL.search("""pip install -q "speechkit[server]" """)
    assert _WRONG_EXTRA.search("needs 'speechkit[whisper]'")
    assert not _WRONG_INSTALL.search('pip install "speechkit-stt[whisper]"')
    assert not _WRONG_INSTALL.search('pip install -e ".[whisper]"')
    assert not _WRONG_EXTRA.search("speechkit-stt[server]")


def test_the_user_agent_reports_this_package_version_not_another_distribution() -> None:
    # The version comes from speechkit itself: asking the installed-distributions table for
    # "speechkit" would find the unrelated project where both are installed.
    expected = f"speechkit-python/{speechkit.__version__}"
    assert expected == USER_AGENT
