"""The run-wide check that the server log holds no traceback (``tests/flows/tracebacks.py``)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from tests.flows.tracebacks import RECORDER


def _boom() -> None:
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        logging.getLogger("tradematch.somewhere").exception("unhandled error")


def test_a_logged_traceback_is_recorded_against_the_running_test(
    request: pytest.FixtureRequest,
) -> None:
    before = len(RECORDER.found)
    _boom()
    logging.getLogger("tradematch.somewhere").error("an error without an exception")
    logging.getLogger("some.library").exception("not ours", exc_info=RuntimeError("x"))
    found = RECORDER.found[before:]
    del RECORDER.found[before:]  # this test provoked it: do not fail it
    assert [(t.where, t.logger, t.exception) for t in found] == [
        (request.node.nodeid, "tradematch.somewhere", "RuntimeError: boom")
    ]


def test_a_server_process_log_is_read(tmp_path: Path) -> None:
    log = tmp_path / "serve.log"
    lines = [
        {"event": "request", "logger": "tradematch.core.middleware"},
        {
            "event": "unhandled error",
            "logger": "tradematch.x",
            "exception": "Traceback …\nKeyError: 'a'",
        },
    ]
    log.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    before = len(RECORDER.found)
    RECORDER.server_log(log)
    found = RECORDER.found[before:]
    del RECORDER.found[before:]
    assert [(t.logger, t.exception) for t in found] == [
        ("tradematch.x", "serve.log: KeyError: 'a'")
    ]


@pytest.mark.tracebacks
def test_a_test_marked_as_provoking_tracebacks_is_left_out() -> None:
    before = len(RECORDER.found)
    _boom()
    assert len(RECORDER.found) == before
