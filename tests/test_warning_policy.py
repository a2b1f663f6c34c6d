"""The warning filters mean what they say: ours are errors, others' are shown."""

import subprocess
import sys
import warnings

import pytest
from _warning_policy import (
    SUBPROCESS_WARNINGS,
    our_deprecations,
    without_others_warnings,
)


def test_a_third_party_import_time_deprecation_is_not_an_error(tmp_path, monkeypatch):
    (tmp_path / "thirdparty_old.py").write_text(
        "import warnings\n"
        "warnings.warn('old API', DeprecationWarning)\n"
        "warnings.warn('will change', FutureWarning)\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    # record=True keeps the suite's filters: an "error" filter would raise.
    with warnings.catch_warnings(record=True) as caught:
        import thirdparty_old  # noqa: F401
    assert {type(w.message) for w in caught} >= {DeprecationWarning, FutureWarning}
    assert "thirdparty_old" in sys.modules


@pytest.mark.parametrize("category", [DeprecationWarning, FutureWarning])
def test_a_deprecation_our_code_triggers_is_an_error(category):
    with pytest.raises(category):
        warnings.warn_explicit(
            "old", category, "_fake.py", 1, module="sklearn_samlp._fake"
        )
    with pytest.raises(category):
        warnings.warn("old", category)  # from a test module


def test_subprocesses_fail_on_ours_and_show_the_others(tmp_path):
    package = tmp_path / "sklearn_samlp"
    package.mkdir()
    (tmp_path / "thirdparty_old.py").write_text(
        "import warnings\nwarnings.warn('old API', DeprecationWarning)\n"
    )
    (package / "__init__.py").write_text("")
    (package / "_ours.py").write_text(
        "import warnings\nwarnings.warn('our old API', DeprecationWarning)\n"
    )
    run = dict(capture_output=True, text=True, cwd=tmp_path, timeout=60)
    env = {"PYTHONWARNINGS": SUBPROCESS_WARNINGS, "PYTHONPATH": str(tmp_path)}
    theirs = subprocess.run(
        [sys.executable, "-c", "import thirdparty_old"], env=env, **run
    )
    assert theirs.returncode == 0 and "old API" in theirs.stderr
    assert our_deprecations(theirs.stderr) == []
    assert without_others_warnings(theirs.stderr) == ""
    ours = subprocess.run(
        [sys.executable, "-c", "import sklearn_samlp._ours"], env=env, **run
    )
    assert ours.returncode == 0
    assert len(our_deprecations(ours.stderr)) == 1
    assert "our old API" in without_others_warnings(ours.stderr)
