import json

import pytest

from tasks.errors import InfopipeError
from tasks.io import atomic_path, read_text, write_json


def test_failed_write_leaves_nothing(tmp_path):
    target = tmp_path / "out" / "table.parquet"
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("killed")
    assert not target.exists()
    assert list((tmp_path / "out").iterdir()) == []


def test_directory_output_replaces_old_one(tmp_path):
    target = tmp_path / "model"
    for name in ("old", "new"):
        with atomic_path(target) as tmp:
            tmp.mkdir()
            (tmp / name).write_text(name)
    assert [p.name for p in target.iterdir()] == ["new"]


def test_json_round_trip(tmp_path):
    path = write_json(tmp_path / "m.json", {"b": 1, "a": 0.5})
    assert path.read_text() == '{\n  "a": 0.5,\n  "b": 1\n}\n'


def test_non_utf8_names_file_and_byte(tmp_path):
    path = tmp_path / "prompts.txt"
    path.write_bytes(b"ok\n\xff\xfe")
    with pytest.raises(InfopipeError, match=r"prompts.txt: not UTF-8 \(byte 3"):
        read_text(path)


def test_a_write_killed_before_its_rename_is_cleaned_up_by_the_next_write(tmp_path):
    target = tmp_path / "part.parquet"
    killed = tmp_path / ".part.parquet.abc123"  # what SIGKILL leaves between write and rename
    killed.mkdir()
    (killed / "part.parquet").write_bytes(b"half")
    other = tmp_path / ".other.parquet.abc123"  # another target's temporary is not touched
    other.mkdir()
    write_json(target, {"a": 1})
    assert json.loads(target.read_text()) == {"a": 1}
    assert not killed.exists() and other.exists()
