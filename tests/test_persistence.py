"""save / load: atomic writes, and files whose fields contradict each other."""

import json
import os

import numpy as np
import pytest
import torch
from _forge import forge

from sklearn_samlp import SignalAccumulativeClassifier, SignalAccumulativeMLP


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


def _nan_first_weight(content):
    key = next(iter(content["module_state"]))
    content["module_state"][key][0, 0] = float("nan")


def _set(key, value):
    return lambda content: content.__setitem__(key, value)


def _params(**changes):
    def change(content):
        params = json.loads(content["params"])
        params.update(changes)
        content["params"] = json.dumps(params)

    return change


CORRUPTIONS = {
    "reordered classes": (_set("classes", "[1, 0]"), "sorted and unique"),
    "duplicate classes": (_set("classes", "[0, 0, 1]"), "sorted and unique"),
    "decay contradicts decays": (_params(decay=0.5), "contradict the decay"),
    "bank size": (_params(decay=[0.5, 0.9]), "decays have shape"),
    "NaN weight": (_nan_first_weight, "module_state.*NaN"),
    "NaN stream state": (
        lambda c: c["stream_states"].__setitem__((0, 0), float("nan")),
        "stream states contain NaN",
    ),
    "negative elapsed": (
        lambda c: c["stream_elapsed"].__setitem__(0, -1.0),
        "elapsed times must be positive",
    ),
    "duplicate stream ids": (_set("stream_ids", '["s0", "s0", "s1"]'), "not unique"),
    "negative n_iter": (_set("n_iter", -5), "n_iter must be a positive int"),
    "one name, four features": (_set("feature_names_in", '["a"]'), "1 feature names"),
    "generator state": (
        _set("rng_state", torch.zeros(7, dtype=torch.uint8)),
        "rng_state",
    ),
    "hidden sizes": (_params(hidden_layer_sizes=[0]), "hidden_layer_sizes"),
    "n_features": (_set("n_features_in", 0), "n_features_in"),
}


@pytest.mark.parametrize("case", sorted(CORRUPTIONS))
def test_load_refuses_fields_that_contradict_each_other(saved, case):
    change, message = CORRUPTIONS[case]
    content = torch.load(saved, weights_only=True)
    change(content)
    forge(content, saved)
    with pytest.raises(ValueError, match=message):
        SignalAccumulativeClassifier.load(saved)


def test_round_trip_of_learned_decays_and_feature_names(regime_streams, tmp_path):
    pd = pytest.importorskip("pandas")
    X, y, ids = regime_streams
    frame = pd.DataFrame(X, columns=list("abcd"))
    clf = SignalAccumulativeClassifier(  # both copies continue the training streams
        learn_decay=True,
        window=16,
        max_epochs=2,
        hidden_layer_sizes=(8,),
        after_fit="continue",
    ).fit(frame, y, stream_ids=ids)
    clf.save(tmp_path / "m.pt")
    loaded = SignalAccumulativeClassifier.load(tmp_path / "m.pt")
    np.testing.assert_array_equal(loaded.decays_, clf.decays_)
    assert loaded.feature_names_in_.tolist() == list("abcd")
    np.testing.assert_array_equal(
        loaded.predict_proba(frame, stream_ids=ids),
        clf.predict_proba(frame, stream_ids=ids),
    )


@pytest.mark.parametrize(
    "load",
    [
        lambda path: SignalAccumulativeClassifier.load(path),
        lambda path: SignalAccumulativeMLP.load_model(path),
    ],
)
def test_one_reader_for_both_model_files(tmp_path, load):
    path = tmp_path / "empty.pt"
    path.write_bytes(b"")
    with pytest.raises(ValueError, match="not a readable model file"):
        load(path)
    torch.save({"weights": torch.zeros(2)}, path)
    with pytest.raises(ValueError, match="missing entries"):
        load(path)
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "absent.pt")
