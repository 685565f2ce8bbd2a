"""Kill a process that streams feedback with SIGKILL, restart it: nothing lost, nothing twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from errpredict.feedback import FeedbackProcessor

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs POSIX SIGKILL")

# 3,000 predictions print ~110 kB of acknowledgements, more than a pipe holds (64 kB): once
# the test stops reading, the stream cannot run to its end before the kill
N = 3000
KILL_AFTER = 400  # acknowledgement lines read before the kill

# The stream: prediction i, its explicit outcome (acknowledged on stdout once stored) and, for
# every fifth prediction, an implicit one too. Ids are fixed, so a replay is idempotent.
STREAM = textwrap.dedent(
    """
    import sys
    from errpredict.feedback import FeedbackProcessor

    path, start = sys.argv[1], int(sys.argv[2])
    duplicates = 0
    with FeedbackProcessor(path) as fp:
        for i in range(start, {n}):
            pid = f"p{{i:05d}}"
            fp.record_prediction(entity=f"svc-{{i % 7}}", timestamp=1_767_225_600 + 60 * i,
                                 risk=(i * 37 % 100) / 100, model_version="v1",
                                 prediction_id=pid)
            new = fp.record_outcome(pid, label=i % 3 == 0, outcome_id=f"o{{i:05d}}")
            duplicates += not new
            print(f"ACK o{{i:05d}} for {{pid}} label={{i % 3 == 0}}", flush=True)
            if i % 5 == 0:
                new = fp.record_outcome(pid, label=i % 3 == 0, source="implicit")
                duplicates += not new
                print(f"ACK implicit {{pid}} label={{i % 3 == 0}}", flush=True)
    print(f"DONE {{duplicates}}", flush=True)
    """
).format(n=N)

BULK = textwrap.dedent(
    """
    import sys
    import pandas as pd
    from errpredict.feedback import FeedbackProcessor

    n = 300_000
    frame = pd.DataFrame({"entity": "api", "timestamp": pd.date_range(
        "2026-01-01", periods=n, freq="s", tz="UTC"), "risk": 0.5,
        "prediction_id": [f"b{i}" for i in range(n)]})
    with FeedbackProcessor(sys.argv[1]) as fp:
        fp.record_prediction(entity="api", timestamp=0, risk=0.1, model_version="v1",
                             prediction_id="before")
        conn = fp._store.conn
        said = []

        def inside():  # SQLite calls this while a statement runs
            if conn.in_transaction and not said:
                said.append(print("BULK INSIDE", flush=True))
            return 0

        conn.set_progress_handler(inside, 10_000)
        fp.record_predictions(frame, model_version="v1")
        print("BULK DONE", flush=True)
    """
)


def _spawn(script: Path, *args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1"}
    return subprocess.Popen(
        [sys.executable, str(script), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _acknowledged(lines: list[str]) -> tuple[set[str], set[str]]:
    explicit = {ln.split()[1] for ln in lines if ln.startswith("ACK o")}
    implicit = {ln.split()[2] for ln in lines if ln.startswith("ACK implicit")}
    return explicit, implicit


def test_kill_9_mid_stream_then_replay_loses_and_doubles_nothing(tmp_path):
    script = tmp_path / "stream.py"
    script.write_text(STREAM)
    store = tmp_path / "models" / "feedback.sqlite"

    proc = _spawn(script, str(store), "0")
    lines: list[str] = []
    while len(lines) < KILL_AFTER:
        line = proc.stdout.readline()
        assert line, f"the stream ended early: {proc.stderr.read()}"
        lines.append(line.strip())
    time.sleep(0.002)  # let the stream run on a little: the kill lands inside a transaction
    os.kill(proc.pid, signal.SIGKILL)
    rest, _ = proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    lines += [ln for ln in rest.splitlines() if ln]  # printed before the kill: acknowledged
    assert not any(ln.startswith("DONE") for ln in lines), "killed too late to test anything"
    acked, acked_implicit = _acknowledged(lines)
    assert len(acked) >= KILL_AFTER * 5 // 6

    with FeedbackProcessor(store) as fp:  # after the crash, before the restart
        out = fp.outcomes()
        stored_before = len(out)
        explicit_ids = set(out.loc[out["source"] == "explicit", "outcome_id"])
        implicit_pids = set(out.loc[out["source"] == "implicit", "prediction_id"])
    assert acked <= explicit_ids  # every acknowledged outcome survived the kill
    assert acked_implicit <= implicit_pids
    # what was stored is a prefix of the stream (commits land in order); it may run a few
    # outcomes past the last acknowledgement the parent read before the kill
    assert explicit_ids == {f"o{i:05d}" for i in range(len(explicit_ids))}

    replay = _spawn(script, str(store), "0")  # replays the stream from the start
    stdout, stderr = replay.communicate(timeout=300)
    assert replay.returncode == 0, stderr
    duplicates = int(stdout.strip().splitlines()[-1].split()[1])
    assert duplicates == stored_before  # every stored outcome was recognised, none re-counted

    with FeedbackProcessor(store) as fp:
        counts = fp.counts()
        out = fp.outcomes()
        pred = fp.predictions()
    assert counts["predictions"] == N
    assert counts["explicit"] == N and counts["implicit"] == N // 5
    assert counts["outcomes"] == N + N // 5 == len(out)
    assert out["outcome_id"].is_unique
    assert counts["labelled"] == N and counts["positives"] == len(range(0, N, 3))
    labels = dict(zip(pred["prediction_id"], pred["label"], strict=True))
    assert all(labels[f"p{i:05d}"] == (i % 3 == 0) for i in range(N))


def test_kill_9_during_a_bulk_write_leaves_all_or_nothing(tmp_path):
    script = tmp_path / "bulk.py"
    script.write_text(BULK)
    store = tmp_path / "feedback.sqlite"
    proc = _spawn(script, str(store))
    # the first line comes from inside the one transaction that writes 300,000 rows (~1 s)
    assert proc.stdout.readline().strip() == "BULK INSIDE", proc.stderr.read()
    time.sleep(0.1)
    os.kill(proc.pid, signal.SIGKILL)
    rest, _ = proc.communicate(timeout=30)
    assert "BULK DONE" not in rest
    with FeedbackProcessor(store) as fp:
        assert fp.counts()["predictions"] == 1  # the single one before, none of the bulk
