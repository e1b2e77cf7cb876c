"""NNCF writes progress bars and INFO lines (accuracy control logs every step) on stdout, which carries
results (`convert --json`): every quantization runs inside `quiet_nncf`, which sends the bars to stderr
(or nowhere with --no-progress), drops the INFO lines, sends the warnings to stderr and restores NNCF's
level and streams."""

from __future__ import annotations

import nncf

from omz_mobilenet.convert.quantize import quiet_nncf


def test_nothing_reaches_stdout_and_the_level_comes_back(capfd):
    level, streams = nncf.nncf_logger.level, [getattr(h, "stream", None) for h in nncf.nncf_logger.handlers]
    with quiet_nncf(progress=False):
        print("a progress bar")
        nncf.nncf_logger.info("an INFO line of accuracy control")
        nncf.nncf_logger.warning("a warning NNCF gives")
    out, err = capfd.readouterr()
    assert "progress bar" not in out + err and "INFO line" not in out + err
    assert "a warning NNCF gives" in err and "a warning" not in out  # NNCF's handler writes to stdout otherwise
    assert nncf.nncf_logger.level == level
    assert [
        getattr(h, "stream", None) for h in nncf.nncf_logger.handlers
    ] == streams  # NNCF's own streams again afterwards


def test_progress_bars_go_to_stderr(capfd):
    with quiet_nncf(progress=True):
        print("a progress bar")
    out, err = capfd.readouterr()
    assert "a progress bar" in err and "a progress bar" not in out
