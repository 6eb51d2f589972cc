"""Stage deps from the import graph, on a tiny fake repository: no model, no Prefect, no project import."""

from pathlib import Path

import pytest

from tasks import deps
from tasks.errors import InfopipeError

FILES = {
    "flows/__init__.py": "",
    "flows/cli.py": "import argparse\n\nfrom tasks.errors import InfopipeError\n",
    "flows/world.py": (
        "from typing import TYPE_CHECKING\n\n"
        "from tasks.world import build\n\n"
        "if TYPE_CHECKING:\n    from tasks.heavy import Heavy\n\n\n"
        "def world():\n    from tasks.lazy import go\n\n    return go(build)\n"
    ),
    "flows/other.py": "import json\n\nimport tasks.io\nimport tasks.pkg.a\nfrom tasks import world\n",
    "tasks/__init__.py": "",
    "tasks/errors.py": "class InfopipeError(Exception):\n    pass\n",
    "tasks/io.py": "import polars\n",
    "tasks/lazy.py": "def go(x):\n    return x\n",
    "tasks/heavy.py": "class Heavy:\n    pass\n",
    "tasks/unused.py": "",
    "tasks/world/__init__.py": "from tasks.world.build import build\n",
    "tasks/world/build.py": "from ..io import polars\nfrom . import names\n\n\ndef build():\n    pass\n",
    "tasks/world/names.py": "",
    "tasks/world/prompts/a.yaml": "a: 1\n",
    "tasks/world/prompts/b.yaml": "b: 2\n",
    "tasks/world/.hidden": "",
    "tasks/world/__pycache__/build.cpython-311.pyc": "",
    "tasks/pkg/__init__.py": "",
    "tasks/pkg/a.py": "",
    "tasks/pkg/b.py": "",
    "tasks/pkg/templates/x.yaml": "x: 1\n",
}

DVC_YAML = """\
# One stage per job.
stages:
  world:
    cmd: infopipe run world
    deps:
      - flows/world.py  # the flow
      - tasks/world
      - tasks/heavy.py
      - data/raw
      - data/extra
    # what it writes
    outs:
      - data/world

  other:
    cmd: infopipe run other
    deps:
      - data/other
      - tasks/world/__init__.py
      - tasks/world/build.py
      - tasks/world/names.py
      - tasks/world/prompts
      - flows/__init__.py
      - flows/cli.py
      - flows/other.py
      - tasks/__init__.py
      - tasks/errors.py
      - tasks/io.py
      - tasks/pkg/__init__.py
      - tasks/pkg/a.py
      - tasks/pkg/templates
    outs:
      - data/other
"""

WORLD = [
    "flows/__init__.py",
    "flows/cli.py",
    "flows/world.py",
    "tasks/__init__.py",
    "tasks/errors.py",
    "tasks/io.py",
    "tasks/lazy.py",
    "tasks/world",
]


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    for name, text in {**FILES, "dvc.yaml": DVC_YAML}.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    return tmp_path


def test_graph_resolves_relative_and_from_imports(repo):
    graph = deps.module_graph(repo)
    assert graph["tasks.world.build"] == {"tasks", "tasks.world", "tasks.world.names", "tasks.io"}
    assert graph["flows.other"] == {"tasks", "tasks.io", "tasks.pkg", "tasks.pkg.a", "tasks.world"}
    assert graph["tasks.io"] == set()  # polars is not ours


def test_closure_is_compact_and_sorted(repo):
    assert deps.stage_code(repo, "world") == WORLD


def test_function_level_import_counts_type_checking_does_not(repo):
    graph = deps.module_graph(repo)
    assert "tasks.lazy" in graph["flows.world"]
    assert "tasks.heavy" not in graph["flows.world"]
    assert "tasks/heavy.py" not in deps.stage_code(repo, "world")


def test_data_files_listed_where_the_package_is_not_whole(repo):
    code = deps.stage_code(repo, "other")
    assert "tasks/pkg/templates/x.yaml" in code  # a non-package folder of the package: data
    assert "tasks/pkg/b.py" not in code and "tasks/pkg" not in code
    assert "tasks/world" in code  # whole: its prompts, not the hidden file nor __pycache__, count


def test_check_reports_missing_and_extra(repo):
    missing, extra = deps.check(repo)["world"]
    assert missing == [
        "flows/__init__.py",
        "flows/cli.py",
        "tasks/__init__.py",
        "tasks/errors.py",
        "tasks/io.py",
        "tasks/lazy.py",
    ]
    assert extra == ["tasks/heavy.py"]
    assert "other" not in deps.check(repo)  # files listed one by one equal their folder


def test_write_then_check_is_clean_and_keeps_comments(repo):
    assert deps.write(repo) == ["world", "other"]
    assert deps.check(repo) == {}
    assert deps.write(repo) == []
    text = (repo / "dvc.yaml").read_text()
    assert text.startswith("# One stage per job.\n")
    assert "  - flows/world.py  # the flow\n" in text
    assert "      - data/extra\n    # what it writes\n    outs:\n" in text
    world = text.split("  other:")[0]
    assert world.index("tasks/world\n") < world.index("data/raw") < world.index("data/extra")
    assert "      - tasks/world\n      - data/other\n" in text  # compact, data deps last


def test_main_check_then_write(repo, monkeypatch, capsys):
    monkeypatch.chdir(repo)
    assert deps.main(["--check"]) == 1
    assert capsys.readouterr().out == (
        "deps: stage world: missing flows/__init__.py, flows/cli.py, tasks/__init__.py, tasks/errors.py, "
        "tasks/io.py, tasks/lazy.py; extra tasks/heavy.py\n"
    )
    assert deps.main(["--write"]) == 0
    assert "world, other" in capsys.readouterr().out
    assert deps.main(["--check"]) == 0
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize(
    ("cmd", "problem"),
    [("python flows/world.py", "is not 'infopipe run <name>'"), ("infopipe run nowhere", "does not exist")],
)
def test_bad_stage_names_file_and_stage(repo, cmd, problem):
    dvc = repo / "dvc.yaml"
    dvc.write_text(dvc.read_text().replace("infopipe run world", cmd))
    with pytest.raises(InfopipeError, match=problem) as err:
        deps.check(repo)
    assert err.value.where == str(dvc) and "stage 'world'" in err.value.problem


def test_missing_dvc_yaml(tmp_path):
    with pytest.raises(InfopipeError, match=r"dvc\.yaml: file not found"):
        deps.stage_code(tmp_path, "world")


def test_code_digest_changes_with_the_code_a_stage_runs_only(repo):
    """Parts are tagged with it: a persisted DVC output keeps parts across code changes."""
    before = deps.code_digest("world", repo)
    (repo / "tasks/unused.py").write_text("x = 1\n")  # not imported by stage world
    (repo / "tasks/pkg/a.py").write_text("x = 1\n")  # stage other's only
    assert deps.code_digest("world", repo) == before
    (repo / "tasks/world/prompts/a.yaml").write_text("a: 2\n")  # data its package reads
    changed = deps.code_digest("world", repo)
    assert changed != before
    assert deps.made_by("abc", "world", repo) == f"abc-{changed}"
