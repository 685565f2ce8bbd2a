"""The report's look: one palette, one stylesheet, one set of plot defaults."""

from __future__ import annotations

__all__ = ["CSS", "INK", "MUTED", "GRID", "ALARM", "INCIDENT", "LEVEL", "PALETTE", "RC", "colors"]

#: Categorical colours, one per entity, in order (Observable's ``observable10``).
PALETTE = (
    "#4269d0",
    "#efb118",
    "#ff725c",
    "#6cc5b0",
    "#3ca951",
    "#ff8ab7",
    "#a463f2",
    "#97bbf5",
    "#9c6b4e",
    "#9498a0",
)
INK = "#1f2933"
MUTED = "#5f6b7a"
GRID = "#e3e8ef"
LEVEL = "#1f2933"
ALARM = "#d6336c"
INCIDENT = "#7c8aa5"

#: Matplotlib settings applied while the figures are drawn (no global change).
RC = {
    "font.family": "DejaVu Sans",
    "font.size": 9.0,
    "axes.titlesize": 10.0,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "axes.labelsize": 9.0,
    "axes.labelcolor": MUTED,
    "axes.edgecolor": "#c3cbd5",
    "axes.linewidth": 0.8,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "axes.grid.axis": "y",
    "grid.color": GRID,
    "grid.linewidth": 0.8,
    "xtick.color": MUTED,
    "ytick.color": MUTED,
    "xtick.labelsize": 8.0,
    "ytick.labelsize": 8.0,
    "legend.frameon": False,
    "legend.fontsize": 8.5,
    "figure.facecolor": "white",
    "savefig.facecolor": "white",
    "text.color": INK,
}


def colors(entities: list[str]) -> dict[str, str]:
    """A colour per entity, in the order given (the palette repeats past ten)."""
    return {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(entities)}


CSS = """
:root { --ink:#1f2933; --muted:#5f6b7a; --line:#e3e8ef; --bg:#f4f6f9; --card:#ffffff;
  --accent:#4269d0; --bad:#c92a2a; --good:#2b8a3e; }
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; background: var(--bg); color: var(--ink);
  font: 15px/1.55 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
  "Noto Sans", "Liberation Sans", "DejaVu Sans", sans-serif; }
.wrap { max-width: 1120px; margin: 0 auto; padding: 0 28px; }
header { background: #1f2933; color: #fff; padding: 30px 0 20px; }
header h1 { font-size: 27px; line-height: 1.2; margin: 0 0 6px; font-weight: 650;
  letter-spacing: -0.01em; }
header .sub { color: #c5ced8; font-size: 14px; margin: 0; }
nav { margin-top: 16px; display: flex; flex-wrap: wrap; gap: 6px 18px; }
nav a { color: #dbe2ea; text-decoration: none; font-size: 13px; border-bottom: 1px solid #52606d; }
nav a:hover { color: #fff; border-bottom-color: #fff; }
main { padding: 6px 0 10px; }
section { background: var(--card); border: 1px solid var(--line); border-radius: 10px;
  padding: 22px 26px 24px; margin: 22px 0; }
h2 { font-size: 19px; margin: 0 0 4px; letter-spacing: -0.005em; }
h3 { font-size: 14px; margin: 22px 0 8px; text-transform: uppercase; letter-spacing: .06em;
  color: var(--muted); }
p.lede { color: var(--muted); margin: 0 0 16px; font-size: 14px; max-width: 80ch; }
figure { margin: 0; }
figure img { width: 100%; height: auto; display: block; }
figcaption { color: var(--muted); font-size: 13px; margin-top: 10px; max-width: 95ch; }
figcaption b { color: var(--ink); font-weight: 600; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(160px, 1fr)); gap: 12px; }
.card { border: 1px solid var(--line); border-radius: 8px; padding: 12px 16px;
  background: #fbfcfe; }
.card .k { font-size: 11.5px; text-transform: uppercase; letter-spacing: .07em;
  color: var(--muted); }
.card .v { font-size: 25px; font-weight: 650; font-variant-numeric: tabular-nums;
  line-height: 1.25; margin-top: 2px; }
.card .s { font-size: 12.5px; color: var(--muted); }
.note { background: #fff8e6; border: 1px solid #f5d48a; border-radius: 8px; padding: 10px 14px;
  font-size: 13.5px; margin: 14px 0 0; }
table { border-collapse: collapse; width: 100%; font-size: 13.5px;
  font-variant-numeric: tabular-nums; }
table.fixed { table-layout: fixed; }
table.fixed th { white-space: normal; vertical-align: bottom; }
td.when, td.nowrap { white-space: nowrap; }
th { text-align: left; font-weight: 600; color: var(--muted); font-size: 11.5px;
  text-transform: uppercase; letter-spacing: .05em; border-bottom: 2px solid var(--line);
  padding: 6px 10px; white-space: nowrap; }
td { border-bottom: 1px solid var(--line); padding: 6px 10px; vertical-align: middle; }
tbody tr:hover td { background: #f7f9fc; }
.num { text-align: right; white-space: nowrap; }
td.name { font-weight: 600; overflow-wrap: break-word; }
.swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px;
  margin-right: 8px; vertical-align: baseline; }
.bar { display: inline-block; height: 8px; border-radius: 2px; background: var(--accent);
  vertical-align: middle; margin-right: 8px; }
.barcell { white-space: nowrap; }
.pill { display: inline-block; padding: 1px 8px; border-radius: 10px; font-weight: 600;
  font-size: 12px; }
.pill.hi { background: #ffe3e3; color: #c92a2a; }
.pill.mid { background: #fff3bf; color: #8a5a00; }
.pill.lo { background: #edf2f7; color: #4a5568; }
.up { color: var(--bad); font-weight: 600; }
.down { color: var(--good); font-weight: 600; }
.flat { color: var(--muted); }
.muted { color: var(--muted); }
.grid2 { display: grid; grid-template-columns: 1fr 1fr; gap: 8px 28px; }
@media (max-width: 860px) { .grid2 { grid-template-columns: 1fr; } }
footer { color: var(--muted); font-size: 12.5px; padding: 4px 0 40px; }
@media print { body { background: #fff; } section { break-inside: avoid; border: none; } }
"""
