"""save / load: atomic writes, and files whose fields contradict each other."""

import os

import pytest
import torch


@pytest.fixture
def saved(fitted_clf, tmp_path):
    path = tmp_path / "model.pt"
    fitted_clf.save(path)
    return path


def test_failed_write_keeps_the_previous_file(fitted_clf, saved, monkeypatch):
    good = saved.read_bytes()

    def disk_full(obj, f, *args, **kwargs):
        f.write(b"half a model")
        raise RuntimeError("PytorchStreamWriter failed writing file: No space left")

    monkeypatch.setattr(torch, "save", disk_full)
    with pytest.raises(OSError, match="cannot save"):
        fitted_clf.save(saved)
    assert saved.read_bytes() == good
    assert os.listdir(saved.parent) == [saved.name]  # no temporary file left


def test_interrupted_write_keeps_the_previous_file(fitted_clf, saved, monkeypatch):
    good = saved.read_bytes()

    def interrupted(obj, f, *args, **kwargs):
        f.write(b"half")
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", interrupted)
    with pytest.raises(KeyboardInterrupt):
        fitted_clf.save(saved)
    assert saved.read_bytes() == good
    assert os.listdir(saved.parent) == [saved.name]


def test_save_keeps_the_permissions_of_the_file_it_replaces(fitted_clf, saved):
    os.chmod(saved, 0o640)
    fitted_clf.save(saved)
    assert os.stat(saved).st_mode & 0o777 == 0o640


def test_save_refuses_directories_and_special_files(fitted_clf, tmp_path):
    with pytest.raises(IsADirectoryError):
        fitted_clf.save(tmp_path)
    if os.path.exists("/dev/null"):
        with pytest.raises(OSError, match="not a regular file"):
            fitted_clf.save("/dev/null")
