"""A tracking worker process, started before training, that writes the run afterwards.

Importing MLflow and opening its store take three to four seconds of CPU, more
than the whole budget of tracking. :func:`warm_up` starts a worker process
that does that while the model trains, at the lowest CPU priority (the idle
scheduling class on Linux) so that training keeps the cores;
:func:`~errpredict.tracking.log_training_run` then hands it the run to write and
computes the events-dependent part meanwhile. A process rather than a thread: a
thread importing modules would hold the interpreter lock that training needs
between its numeric calls. On Linux the worker is forked (when MLflow is not
imported yet); the command line forks it first thing, while the process is small,
since every page the parent holds at the fork costs it a copy-on-write fault later.
Elsewhere it is spawned.

Protocol over a pipe: the job (a dict), then for a training run its second
part; back comes ``{"ok": True, "result": ...}`` or the error. The worker
exits after one job, or when the pipe closes.
"""

from __future__ import annotations

import atexit
import multiprocessing as mp
import os
import signal
import sys
import threading
import time
import traceback

from errpredict.tracking._env import QUIET_ENV, tracking_uri

__all__ = ["Worker", "warm_up", "take_worker", "WorkerError", "default_nice"]

_lock = threading.Lock()
_workers: dict[tuple[str, str], Worker] = {}


class WorkerError(RuntimeError):
    """The worker failed; ``stage`` is ``"startup"`` when it failed before writing anything."""

    def __init__(self, message: str, stage: str, kind: str = "RuntimeError"):
        super().__init__(message)
        self.stage = stage
        self.kind = kind


def _context():
    # fork only before MLflow is imported: a forked child must not inherit its open
    # database connections (SQLite connections do not survive a fork)
    if sys.platform.startswith("linux") and "mlflow" not in sys.modules:
        return mp.get_context("fork")
    return mp.get_context("spawn")


class Worker:
    """Handle on a running tracking worker process."""

    def __init__(self, uri: str, experiment: str, nice: int = 10):
        self.uri, self.experiment = uri, experiment
        os.environ.update(QUIET_ENV)
        ctx = _context()
        self.method = ctx.get_start_method()
        self._conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_main, args=(child, uri, experiment, nice), daemon=True,
                                name="errpredict-tracking")
        self.proc.start()
        child.close()
        # at exit, close the pipe first: an idle worker then ends by itself (one that is
        # creating the database finishes that before multiprocessing reaps it)
        atexit.register(self._close_pipe)

    def _close_pipe(self) -> None:
        try:
            self._conn.close()
        except OSError:
            pass

    def alive(self) -> bool:
        return self.proc.is_alive()

    def send(self, message: dict) -> None:
        try:
            self._conn.send(message)
        except (BrokenPipeError, EOFError, OSError):
            raise self._died("startup") from None

    def result(self) -> dict:
        try:
            msg = self._conn.recv()
        except (EOFError, OSError):
            raise self._died("unknown") from None
        finally:
            self.close()
        if msg.get("ok"):
            return msg["result"]
        err = msg.get("error", {})
        raise WorkerError(err.get("message", "tracking worker failed"), err.get("stage", ""),
                          err.get("type", "RuntimeError"))

    def _died(self, stage: str) -> WorkerError:
        self.close()
        return WorkerError(f"tracking worker exited with status {self.proc.exitcode}", stage)

    def close(self) -> None:
        """Close the pipe (an idle worker then exits) and reap the process."""
        self._close_pipe()
        atexit.unregister(self._close_pipe)
        self.proc.join(timeout=30)
        if self.proc.is_alive():
            self.proc.terminate()
            self.proc.join()


def default_nice() -> int:
    """19 (and, on Linux, the idle scheduling class): the worker runs in the cycles that
    training leaves idle (a worker at normal priority slows boosting by about its own
    CPU time, and even one at niceness 10 holds up boosting's threads at their
    barriers); 0 on a machine so loaded (load average above twice the CPUs) that a
    niced worker would hardly run at all."""
    try:
        busy = os.getloadavg()[0] > 2 * (os.cpu_count() or 1)
    except (AttributeError, OSError):
        busy = False
    return 0 if busy else 19


def warm_up(experiment: str = "errpredict", *, uri: str | None = None,
            nice: int | None = None) -> Worker | None:
    """Start a tracking worker for ``experiment``; call it before training.

    The next :func:`~errpredict.tracking.log_training_run` (or
    :func:`~errpredict.tracking.log_evaluation_run`) with the same tracking
    URI and experiment hands its run to the worker, which has imported
    MLflow and opened the store meanwhile. Without ``warm_up`` runs are
    written in-process, after an import of MLflow. The worker runs at CPU
    niceness ``nice`` (default :func:`default_nice`) and exits when this
    process does.
    Returns None when no process can be started (then nothing changes).
    """
    uri = uri or tracking_uri()
    key = (uri, experiment)
    with _lock:
        if key in _workers and _workers[key].alive():
            return _workers[key]
        try:
            w = Worker(uri, experiment, default_nice() if nice is None else nice)
        except (OSError, ValueError):
            return None
        _workers[key] = w
        return w


def take_worker(uri: str, experiment: str) -> Worker | None:
    """The warm worker for ``(uri, experiment)``, taken out of the pool (one job each)."""
    with _lock:
        w = _workers.pop((uri, experiment), None)
    if w is not None and not w.alive():
        w.close()
        return None
    return w


def _error(exc: BaseException, stage: str) -> dict:
    return {"ok": False, "error": {"type": type(exc).__name__, "stage": stage,
                                   "message": str(exc) or type(exc).__name__,
                                   "traceback": traceback.format_exc()[-4000:]}}


def _main(conn, uri: str, experiment: str, nice: int) -> None:
    """The worker: import, open the store, then write the one run it is sent."""
    if nice and hasattr(os, "nice"):
        try:
            os.nice(nice)
        except OSError:
            pass
    if nice >= 19 and hasattr(os, "SCHED_IDLE"):
        try:  # Linux: run only on a core nothing else wants, yielding to training at once
            os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
        except OSError:
            pass
    os.environ.update(QUIET_ENV, OMP_NUM_THREADS="1")
    # Ctrl-C is for the parent: the worker ends when the pipe closes. A termination
    # waits until the store is open: cutting the creation of a new database in the
    # middle of its migrations would leave it unusable.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    stop: list[int] = []
    default_term = signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    startup_error = None
    try:
        from errpredict.tracking import _plots, _pyfunc, _store, _writer
        from errpredict.tracking._store import experiment_id

        try:
            experiment_id(uri, experiment)
        finally:
            signal.signal(signal.SIGTERM, default_term)
        if stop:
            return
        _store.client(uri).search_registered_models(max_results=1)  # opens the registry
        _plots.prime()
        _pyfunc.prime()
    except BaseException as exc:  # noqa: BLE001 - reported to the parent with the job
        startup_error = _error(exc, "startup")
    ready = time.time()
    try:
        job = conn.recv()
    except (EOFError, OSError):
        return
    if startup_error is not None:
        conn.send(startup_error)
        return

    received = time.time()
    marks = {}

    def late() -> dict:
        marks["waited_late"] = time.time()
        msg = conn.recv()["late"]
        marks["got_late"] = time.time()
        return msg

    try:
        if job["kind"] == "train":
            result = _writer.write_training(uri, job, late)
        else:
            result = _writer.write_evaluation(uri, job)
    except BaseException as exc:  # noqa: BLE001 - reported to the parent
        conn.send(_error(exc, "run"))
        return
    # where the time went, as epoch seconds (for benchmarks)
    result["worker"] = {"ready": ready, "received": received, **marks, "done": time.time()}
    conn.send({"ok": True, "result": result})
