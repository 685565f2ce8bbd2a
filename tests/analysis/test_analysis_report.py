from __future__ import annotations

import base64
import io
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from errpredict.analysis import build_report, write_report
from errpredict.analysis._risk import prepare_risk
from errpredict.exceptions import ConfigError, SchemaError
from errpredict.io import to_canonical

CHROMIUM = Path("/usr/bin/chromium")
SERVICES = ("checkout", "payments", "search", "catalog", "auth", "cart", "inventory", "shipping")
ERROR_TYPES = ("TimeoutError", "ConnectionResetError", "HTTP 500", "HTTP 503", "ValueError",
               "KeyError")
SECTIONS = ("summary", "rates", "hotspots", "error-types", "trends")


def make_history(days: float = 1.0, services: int = 3, seed: int = 0, per_minute: float = 4.0):
    """Seeded plausible request events with incidents; returns (events, incidents).

    Each service gets Poisson traffic with a daily cycle, three hosts and
    operations, a small base error rate, a few incidents (one host, one
    error type, 10-45 minutes) and, for the first service, a release that
    quadruples its error rate from 60% of the history on.
    """
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2026-03-02", tz="UTC")
    minutes = int(days * 1440)
    clock = np.arange(minutes)
    daily = 1.0 + 0.5 * np.sin(2 * np.pi * (clock / 1440 - 0.3))
    parts, incidents = [], []
    for i in range(services):
        svc = SERVICES[i % len(SERVICES)] + ("" if i < len(SERVICES) else f"-{i}")
        counts = rng.poisson(per_minute * rng.uniform(0.5, 1.5) * daily)
        minute = np.repeat(clock, counts)
        n = minute.size
        ns = ((minute * 60 + rng.uniform(0, 60, n)) * 1e9).astype("int64")
        p = np.full(minutes, rng.uniform(0.002, 0.01))
        if i == 0:
            p[int(minutes * 0.6):] *= 4.0
        host = rng.integers(0, 3, n)
        op = rng.choice(3, n, p=[0.6, 0.25, 0.15])
        p_event = p[minute]
        etype = rng.choice(len(ERROR_TYPES), n, p=[0.3, 0.2, 0.2, 0.1, 0.1, 0.1])
        for _ in range(rng.poisson(days * 1.5)):
            a = int(rng.integers(0, max(minutes - 60, 1)))
            b = a + int(rng.integers(10, 45))
            h, t = int(rng.integers(0, 3)), int(rng.integers(0, len(ERROR_TYPES)))
            hit = (minute >= a) & (minute < b) & (host == h)
            p_event = np.where(hit, p_event + rng.uniform(0.2, 0.5), p_event)
            etype = np.where(hit, t, etype)
            incidents.append((svc, start + pd.Timedelta(minutes=a),
                              start + pd.Timedelta(minutes=b)))
        err = rng.random(n) < p_event
        parts.append(pd.DataFrame({
            "timestamp": start + pd.to_timedelta(ns, unit="ns"),
            "service": svc,
            "operation": np.array([f"GET /{svc}", f"POST /{svc}", f"GET /{svc}/{{id}}"])[op],
            "host": np.array([f"{svc}-{k}" for k in range(3)])[host],
            "is_error": err,
            "error_type": np.where(err, np.array(ERROR_TYPES, dtype=object)[etype], None),
            "duration_ms": np.round(rng.lognormal(3.5, 0.6, n) * np.where(err, 3, 1), 2),
        }))
    events = to_canonical(pd.concat(parts, ignore_index=True), where="generated")
    return events, pd.DataFrame(incidents, columns=["service", "start", "end"])


def make_risk(events: pd.DataFrame, step: str = "5min", seed: int = 0) -> pd.DataFrame:
    """A stand-in score per service and step: recent errors, squashed, plus noise."""
    rng = np.random.default_rng(seed)
    width = pd.Timedelta(step)
    grid = pd.date_range(events["timestamp"].iloc[0].ceil(step), events["timestamp"].iloc[-1],
                         freq=step)
    g = grid.as_unit("ns").asi8
    frames = []
    for svc, sub in events.groupby("service", sort=True):
        et = pd.DatetimeIndex(sub.loc[sub["is_error"], "timestamp"]).as_unit("ns").asi8
        recent = np.searchsorted(et, g, "right") - np.searchsorted(et, g - 3 * width.value, "right")
        score = np.clip(1 - np.exp(-recent / 6.0) + rng.normal(0, 0.04, g.size), 0, 1)
        frames.append(pd.DataFrame({"entity": svc, "timestamp": grid, "risk": score}))
    return pd.concat(frames, ignore_index=True)


@pytest.fixture(scope="module")
def history():
    return make_history(days=1.0, services=3, seed=3)


@pytest.fixture(scope="module")
def page(history):
    events, incidents = history
    return build_report(events, risk=make_risk(events), threshold=0.5, min_errors=3,
                        title="Fleet <history> & co")


def _images(html: str) -> list[bytes]:
    return [base64.b64decode(m) for m in re.findall(r'src="data:image/png;base64,([^"]+)"', html)]


def test_page_is_self_contained(page):
    assert page.startswith("<!DOCTYPE html>")
    for attr in re.findall(r'(?:src|href)\s*=\s*["\']?([^"\'\s>]*)', page, flags=re.I):
        assert attr.startswith(("data:image/png;base64,", "#")), attr[:60]
    assert not re.search(r"https?://", page)
    for forbidden in ("<script", "<link", "@import", "url(", "<iframe", "<object"):
        assert forbidden not in page.lower()
    images = _images(page)
    assert len(images) == 4  # error rates, heat map, error types, risk
    for png in images:
        assert png.startswith(b"\x89PNG\r\n\x1a\n")
        from PIL import Image

        width, height = Image.open(io.BytesIO(png)).size
        assert width >= 1500 and height >= 200


def test_page_has_every_section_and_escapes_text(page):
    for ident in (*SECTIONS, "risk"):
        assert f'<section id="{ident}">' in page
        assert f'href="#{ident}"' in page
    assert "<title>Fleet &lt;history&gt; &amp; co</title>" in page
    for heading in ("Summary", "Error rate per service over time", "Hotspots",
                    "Error types", "Trends and change points", "Risk and alarms"):
        assert f"<h2>{heading}" in page
    for name in ("checkout", "payments", "search", "TimeoutError"):
        assert name in page


def test_summary_numbers_match_the_events(history, page):
    events, _ = history
    n, k = len(events), int(events["is_error"].sum())
    assert f'<div class="v">{n:,}</div>' in page
    assert f'<div class="v">{k:,}</div>' in page
    assert f"{100 * k / n:.2f}%" in page or f"{100 * k / n:.1f}%" in page


def test_risk_section_uses_given_incidents(history):
    events, incidents = history
    html = build_report(events, risk=make_risk(events), threshold=0.5, incidents=incidents)
    assert "shaded: the incidents given" in html
    assert len(_images(html)) == 4


def test_without_risk_there_is_no_risk_section(history):
    events, _ = history
    html = build_report(events)
    assert '<section id="risk">' not in html and 'href="#risk"' not in html
    assert len(_images(html)) == 3


def test_errors_only_history_and_no_error_type():
    stamps = pd.date_range("2026-01-01", periods=300, freq="7min", tz="UTC")
    ev = to_canonical(pd.DataFrame({"timestamp": stamps, "service": ["a", "b", "c"] * 100,
                                    "severity": "ERROR"}))
    html = build_report(ev)
    assert "Every event is an error" in html
    assert "The events have no <code>error_type</code> on their errors" in html
    assert len(_images(html)) == 2


def test_write_report_writes_utf8_file(history, tmp_path):
    events, _ = history
    out = write_report(events, tmp_path / "sub" / "report.html", title="Zürich fleet")
    assert out == tmp_path / "sub" / "report.html"
    assert "<h1>Zürich fleet</h1>" in out.read_text(encoding="utf-8")


def test_prepare_risk_marks_alarms_and_incidents_exactly():
    t0 = pd.Timestamp("2026-01-01", tz="UTC")
    minute = pd.Timedelta("1min")
    errors = [t0 + 3 * minute + s * pd.Timedelta("10s") for s in range(3)]  # 3 errors at 00:03
    errors.append(t0 + 9 * minute)  # a lone error at 00:09
    ev = to_canonical(pd.DataFrame({"timestamp": errors + [t0], "service": "api",
                                    "is_error": [True] * 4 + [False]}))
    risk = pd.DataFrame({"entity": "api", "timestamp": [t0 + i * minute for i in range(10)],
                         "risk": [0.1, 0.7, 0.2, 0.9, 0.1, 0.1, 0.8, 0.1, 0.1, 0.1]})
    view = prepare_risk(risk, ev, entity="service", threshold=0.5, incidents=None,
                        horizon="2min", min_errors=2)
    # (t, t + 2min] holds >= 2 errors for t = 00:02 (3 errors) and 00:03 (2) only
    assert view.risk["positive"].tolist() == [False, False, True, True] + [False] * 6
    assert view.risk["alarm"].tolist() == [False, True, False, True, False, False, True,
                                           False, False, False]
    assert view.stats == {"decisions": 10.0, "alarms": 3.0, "alarm_precision": 1 / 3,
                          "positives": 2.0, "recall": 0.5, "incidents": 1.0, "caught": 1.0}
    # the run of positive decision times, to one step past its last
    assert view.spans[["start", "end"]].values.tolist() == [[t0 + 2 * minute, t0 + 4 * minute]]

    given = pd.DataFrame({"service": ["api"], "start": [t0 + 7 * minute],
                          "end": [t0 + 8 * minute]})
    view = prepare_risk(risk, ev, entity="service", threshold=0.5, incidents=given,
                        horizon="2min", min_errors=2)
    # (t, t + 2min] overlaps [00:07, 00:08] for t = 00:05, 00:06, 00:07
    assert np.flatnonzero(view.risk["positive"]).tolist() == [5, 6, 7]
    assert view.source == "incidents"
    assert (view.stats["alarms"], view.stats["caught"], view.stats["incidents"]) == (3, 1, 1)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"risk": pd.DataFrame({"entity": ["a"], "risk": [0.5]})}, SchemaError,
         "missing column 'timestamp'"),
        ({"risk": pd.DataFrame({"entity": ["a"], "timestamp": [0], "risk": [1.5]})},
         SchemaError, "not a probability"),
        ({"threshold": 2.0}, ConfigError, r"'threshold' parameter of build_report"),
        ({"min_errors": 0}, ConfigError, r"'min_errors' parameter of build_report"),
        ({"incidents": pd.DataFrame({"service": ["a"], "start": ["2026-01-02"],
                                     "end": ["2026-01-01"]})}, SchemaError, "before start"),
    ],
)
def test_bad_risk_arguments_say_what_to_do(history, kwargs, error, message):
    events, _ = history
    options = {"risk": make_risk(events), "threshold": 0.5, **kwargs}
    with pytest.raises(error, match=message):
        build_report(events, **options)


def test_unknown_entity_column_is_a_config_error(history):
    with pytest.raises(ConfigError, match="'entity' parameter of build_report"):
        build_report(history[0], entity="region")


def test_importing_the_package_does_not_import_matplotlib():
    code = "import sys, errpredict.analysis; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


def test_a_week_of_eight_services_builds_quickly():
    events, incidents = make_history(days=7.0, services=8, seed=1, per_minute=3.0)
    risk = make_risk(events)
    started = time.perf_counter()
    html = build_report(events, risk=risk, threshold=0.5, incidents=incidents)
    elapsed = time.perf_counter() - started
    assert len(_images(html)) == 5  # a week of risk also gets a close-up of its last day
    assert "<h3>The last 24h</h3>" in html
    assert elapsed < 10.0, f"report took {elapsed:.1f} s"  # about 2 s on 2 idle cores


@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs /usr/bin/chromium (apt install chromium)")
def test_headless_chromium_renders_the_plots(page, tmp_path):
    from PIL import Image

    html = tmp_path / "report.html"
    html.write_text(page, encoding="utf-8")
    shot = tmp_path / "report.png"
    profile = tempfile.mkdtemp(prefix="chromium-")
    try:
        subprocess.run(
            [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
             "--no-first-run", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", f"--user-data-dir={profile}", f"--screenshot={shot}",
             "--window-size=1280,4000", html.as_uri()],
            capture_output=True, timeout=120, check=True,
        )
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    image = Image.open(shot).convert("RGB")
    assert image.size == (1280, 4000)
    colours = image.getcolors(maxcolors=1 << 20)
    assert colours is not None and len(colours) > 500
    # the plots drew: a fair share of the pixels are saturated colours (series
    # lines, areas, bars), which the text and grey page alone do not give
    pixels = np.asarray(image).astype(int)
    saturated = (pixels.max(axis=2) - pixels.min(axis=2)) > 60
    assert saturated.mean() > 0.02


def test_alarm_column_is_used_without_a_threshold(history):
    events, _ = history
    risk = make_risk(events)
    view = prepare_risk(risk.assign(alarm=risk["risk"] > 0.9), events, entity="service",
                        threshold=None, incidents=None, horizon="10min", min_errors=5)
    assert view.stats["alarms"] == float((risk["risk"] > 0.9).sum()) > 0
    html = build_report(events, risk=risk)
    assert "No threshold given, so no alarm is marked" in html


DATASETS = Path(__file__).resolve().parents[2] / ".." / "shared" / "datasets"


def test_report_on_the_bgl_sample():
    path = DATASETS / "loghub" / "BGL_2k.log"
    if not DATASETS.is_dir():
        pytest.skip(f"{DATASETS} is absent (the shared datasets folder next to the repository)")
    from errpredict.datasets import read_bgl

    events = read_bgl(path)
    html = build_report(events, title="BGL 2k")
    # 2,000 lines over seven months: daily buckets; 143 alert lines
    assert '<div class="v">2,000</div>' in html and '<div class="v">143</div>' in html
    assert "in 24h buckets (UTC)" in html
    for ident in SECTIONS:
        assert f'<section id="{ident}">' in html
    assert len(_images(html)) == 3


def test_a_history_of_one_event_still_renders():
    ev = to_canonical(pd.DataFrame({"timestamp": ["2026-01-01T00:00:00Z"], "service": ["a"],
                                    "is_error": [True], "error_type": ["X"]}))
    risk = pd.DataFrame({"entity": ["a"], "timestamp": ["2026-01-01T00:00:00Z"], "risk": [0.7]})
    html = build_report(ev, risk=risk, threshold=0.5)
    assert len(_images(html)) == 4 and '<div class="v">1</div>' in html
