"""Every field of a saved model perturbed in turn: refused, or a model that works.

For each model kind, a file is saved and each of its leaves (tensors, numbers,
flags, strings, and each parameter inside the parameters' JSON) is changed in
turn: another shape, another dtype, NaN, out of range. The changed file is
re-signed, as a forger would (the checksum only detects damage), so that the
checks behind it are what is tried. ``load`` must either refuse it with a
``ValueError``, or give a model that predicts finite probabilities, learns a
chunk and predicts again without an error, a numeric warning or a non-finite
weight. The cases run in a child process, so that memory corruption kills the
child and names its case instead of killing the test run.
"""

import json
import subprocess
import sys
import textwrap

import pytest

CHILD = textwrap.dedent(
    r"""
    import json, math, sys, warnings
    import numpy as np, torch
    sys.path.insert(0, sys.argv[2])
    from _forge import forge
    from sklearn_samlp import SignalAccumulativeClassifier as C

    kind, folder = sys.argv[1], sys.argv[3]
    rng = np.random.default_rng(0)
    X = rng.normal(size=(96, 3)).astype(np.float32)
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    ids = np.arange(96) % 3
    if kind == "online":
        m = C(hidden_layer_sizes=(8,), random_state=0, online_replay=16)
        m.partial_fit(X[:64], y[:64], classes=[0, 1], stream_ids=ids[:64])
        m.partial_fit(X[64:80], y[64:80], stream_ids=ids[64:80])
    elif kind == "fit":
        m = C(hidden_layer_sizes=(8,), max_epochs=2, random_state=0, decay=(0.5, 0.9),
              after_fit="continue")
        m.fit(X[:80], y[:80], stream_ids=ids[:80])
    else:
        m = C(hidden_layer_sizes=(8,), max_epochs=2, random_state=0,
              accumulator="convolution", after_fit="continue")
        m.fit(X[:80], y[:80], stream_ids=ids[:80])
    path = folder + "/m.pt"
    m.save(path)
    probe, probe_ids = X[80:86], ids[80:86]
    expected = m.predict_proba(probe, stream_ids=probe_ids)
    content = torch.load(path, weights_only=True)

    def leaves(value, where=()):
        if isinstance(value, dict):
            for key, item in value.items():
                yield from leaves(item, where + (key,))
        elif isinstance(value, (list, tuple)):
            for i, item in enumerate(value):
                yield from leaves(item, where + (i,))
        else:
            yield where, value

    FLOAT_CHANGES = (("nan", math.nan), ("huge", 1e30), ("negative", -1.0))

    def changes(where, value):
        if isinstance(value, torch.Tensor):
            flat = value.reshape(-1)
            yield "shape", (torch.cat([value, value[:1]]) if value.ndim and len(value)
                            else torch.zeros(2, dtype=value.dtype))
            if value.is_floating_point():
                yield "dtype", value.to(torch.int64)
                if flat.numel():
                    for name, v in FLOAT_CHANGES:
                        changed = value.clone()
                        changed.reshape(-1)[0] = v
                        yield name, changed
            else:
                yield "dtype", value.to(torch.float32)
                if flat.numel() and value.dtype != torch.bool:
                    for name, v in (("huge", 2**40), ("negative", -1)):
                        if value.dtype == torch.uint8 and v != 255:
                            v = 255 if name == "huge" else 0
                        changed = value.clone()
                        changed.reshape(-1)[0] = v
                        yield name, changed
        elif isinstance(value, bool):
            yield "flipped", not value
            yield "type", "yes"
        elif isinstance(value, int):
            yield from (("negative", -1), ("huge", 2**62), ("type", 1.5), ("str", "1"))
        elif isinstance(value, float):
            for name, v in (("nan", math.nan), ("inf", math.inf), ("negative", -1.0),
                            ("huge", 1e300)):
                yield name, v
        elif value is None:
            yield "number", 0
            yield "str", "x"
        elif isinstance(value, str):
            if where == ("params",):
                params = json.loads(value)
                for key in params:
                    for name, v in (("null", None), ("negative", -1), ("str", "x"),
                                    ("huge", 1e300), ("list", [])):
                        yield f"{key}={name}", json.dumps({**params, key: v})
            elif where[0] in ("classes", "stream_ids", "feature_names_in"):
                yield from (
                    ("empty", "[]"), ("twice", value[:-1] + ", " + value[1:]),
                    ("infinity", "[Infinity]"), ("not json", "{"), ("object", "{}"),
                )
            else:
                yield "other", "x" + value

    def put(tree, where, value):
        # tree with the leaf at where replaced, its containers copied
        if not where:
            return value
        key, rest = where[0], where[1:]
        if isinstance(tree, dict):
            return {**tree, key: put(tree[key], rest, value)}
        items = list(tree)
        items[key] = put(items[key], rest, value)
        return type(tree)(items)

    def finite_weights(model):
        return all(torch.isfinite(p).all() for p in model.net_.module_.parameters())

    for where, value in list(leaves(content)):
        if where == ("checksum",):
            continue
        for name, changed in changes(where, value):
            case = "/".join(map(str, where)) + ":" + name
            print("START", case, flush=True)
            lying = put(content, where, changed)
            forge(lying, folder + "/lie.pt")
            with warnings.catch_warnings():
                for category in (RuntimeWarning, FutureWarning, DeprecationWarning):
                    warnings.simplefilter("error", category)
                try:
                    model = C.load(folder + "/lie.pt")
                except ValueError as exc:
                    print("RESULT", json.dumps([case, f"refused: {exc}"]), flush=True)
                    continue
                except Exception as exc:
                    failed = f"FAIL load {type(exc).__name__}: {exc}"
                    print("RESULT", json.dumps([case, failed]))
                    continue
                try:
                    got = model.predict_proba(probe, stream_ids=probe_ids)
                    assert np.isfinite(got).all(), "non-finite probabilities"
                    try:
                        model.partial_fit(X[86:], y[86:], stream_ids=ids[86:])
                    except ValueError:  # e.g. a huge learning rate diverges
                        unchanged = model.predict_proba(probe, stream_ids=probe_ids)
                        assert np.array_equal(unchanged, got), "a refused call changed"
                    assert finite_weights(model), "non-finite weights after learning"
                    again = model.predict_proba(probe, stream_ids=probe_ids)
                    assert np.isfinite(again).all(), "non-finite after learning"
                    same = bool(np.allclose(got, expected, rtol=1e-5, atol=1e-7))
                    outcome = "accepted-same" if same else "accepted-different"
                except Exception as exc:
                    outcome = f"FAIL use {type(exc).__name__}: {exc}"
            print("RESULT", json.dumps([case, outcome]), flush=True)
    print("DONE", flush=True)
    """
)

# Leaves whose changed value is a different but legitimate model: states,
# weights and statistics are numbers of any size, losses may be NaN (no loss
# watched yet), a stream may never have been timestamped (NaN last time).
LEGITIMATE_CHANGES = (
    "module_state/",
    "stream_states:",
    "stream_last_time:",
    "optimizer_state/state/",
    "online_state/buffer_X:",
    "online_state/fast_loss:",
    "online_state/slow_loss:",
    "online_state/scaler_mean:",
    "online_state/scaler_m2:",
    "stream_elapsed:",
    "rng_state:",
    "params:verbose=",
    "convolution/thresholds:",
)


@pytest.mark.parametrize("kind", ["online", "fit", "convolution"])
def test_every_perturbed_field_is_refused_or_harmless(tmp_path, kind):
    tests = str(__import__("pathlib").Path(__file__).parent)
    out = subprocess.run(
        [sys.executable, "-c", CHILD, kind, tests, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    started = [
        line[6:] for line in out.stdout.splitlines() if line.startswith("START ")
    ]
    assert out.returncode == 0 and "DONE" in out.stdout, (
        f"the child died ({out.returncode}) in case {started[-1:]}:\n"
        + out.stderr[-3000:]
    )
    results = dict(
        json.loads(line[7:])
        for line in out.stdout.splitlines()
        if line.startswith("RESULT ")
    )
    assert len(results) == len(started) > 100
    failures = {case: r for case, r in results.items() if r.startswith("FAIL")}
    assert not failures, failures
    # NaN in a tensor that must be finite is refused, never loaded.
    for case, result in results.items():
        if case.endswith(":nan") and not case.startswith(
            ("stream_last_time", "online_state/fast_loss", "online_state/slow_loss")
        ):
            assert result.startswith("refused"), case
    # Another shape or dtype is refused, or read as the same model: never cast.
    for case, result in results.items():
        if case.endswith((":shape", ":dtype")):
            assert result != "accepted-different", case
    # A change load accepts is either the same model, or a field whose every
    # value is a model (a weight, a state): nothing else changes what it does.
    different = [
        case
        for case, result in results.items()
        if result == "accepted-different" and not case.startswith(LEGITIMATE_CHANGES)
    ]
    assert not different, different
