#!/usr/bin/env python
"""Download the public datasets errpredict reads: LogHub BGL and Backblaze drive data.

    python scripts/download_datasets.py --bgl --dest data/public
    python scripts/download_datasets.py --backblaze 2019Q4 2020Q1 --unzip
    python scripts/download_datasets.py --samples          # the 2,000-line LogHub samples

Sources and terms (cite them when you publish results):

- LogHub BGL (BlueGene/L RAS log, 4,747,963 lines, ~57 MB zipped, ~709 MB unzipped):
  https://zenodo.org/records/8196385 (Zhu et al., "Loghub", ISSRE 2023; Oliner and Stearley,
  DSN 2007). Free for research use.
- LogHub 2k samples: https://github.com/logpai/loghub
- Backblaze Hard Drive Data, one zip per quarter (about 1 GB each; one CSV per day):
  https://www.backblaze.com/cloud-storage/resources/hard-drive-test-data (cite Backblaze as
  the source; you may not sell the data).

Read them with errpredict.datasets.read_bgl / read_backblaze, or
``errpredict ingest --data <file or folder> --out events.parquet``. Needs the internet;
nothing here runs in the test suite.
"""

from __future__ import annotations

import argparse
import hashlib
import re
import shutil
import sys
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

BGL_URL = "https://zenodo.org/records/8196385/files/BGL.zip?download=1"
SAMPLES_URL = "https://raw.githubusercontent.com/logpai/loghub/master/{name}/{name}_2k.log"
SAMPLES = ("BGL", "HDFS", "Thunderbird")
BACKBLAZE_URL = "https://f001.backblazeb2.com/file/Backblaze-Hard-Drive-Data/{name}.zip"
_QUARTER = re.compile(r"(\d{4})\s*-?\s*Q([1-4])", re.IGNORECASE)


def backblaze_archive(quarter: str) -> str:
    """The archive name of a quarter: ``2019Q4`` -> ``data_Q4_2019`` (2013-2015: yearly)."""
    year_only = re.fullmatch(r"(201[345])", quarter.strip())
    if year_only:
        return f"data_{year_only.group(1)}"
    match = _QUARTER.fullmatch(quarter.strip())
    if not match:
        raise SystemExit(f"--backblaze: {quarter!r} is not a quarter; expected e.g. 2019Q4 "
                         "(or 2013, 2014, 2015 for the yearly archives)")
    year, q = match.groups()
    return f"data_Q{q}_{year}"


def download(url: str, target: Path, *, force: bool = False) -> Path:
    """Fetch ``url`` to ``target`` (via a .part file), printing progress; skip if present."""
    if target.exists() and not force:
        print(f"{target}: already there ({target.stat().st_size / 2**20:,.1f} MiB); "
              "pass --force to fetch it again")
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(target.name + ".part")
    request = urllib.request.Request(url, headers={"User-Agent": "errpredict-download/1"})
    print(f"fetching {url}")
    try:
        with urllib.request.urlopen(request, timeout=60) as response, open(part, "wb") as out:
            total = int(response.headers.get("Content-Length") or 0)
            done, shown = 0, -10
            while chunk := response.read(1 << 20):
                out.write(chunk)
                done += len(chunk)
                pct = int(100 * done / total) if total else -1
                if pct >= shown + 10:
                    shown = pct
                    print(f"  {done / 2**20:,.0f} MiB" + (f" ({pct}%)" if total else ""),
                          flush=True)
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        part.unlink(missing_ok=True)
        reason = getattr(exc, "reason", exc)
        raise SystemExit(
            f"cannot download {url}: {reason}.\nAre you offline or behind a proxy? Set "
            "HTTPS_PROXY if needed, or download the file by hand with a browser and put it at "
            f"{target}"
        ) from None
    part.replace(target)
    digest = hashlib.sha256(target.read_bytes()).hexdigest()
    print(f"{target}: {target.stat().st_size / 2**20:,.1f} MiB, sha256 {digest}")
    return target


def unzip(archive: Path, folder: Path) -> None:
    print(f"unzipping {archive} into {folder}")
    with zipfile.ZipFile(archive) as zf:
        for member in zf.infolist():
            name = Path(member.filename)
            if member.is_dir() or name.name.startswith(".") or "__MACOSX" in name.parts:
                continue
            target = folder / name.name  # flatten: Backblaze zips nest one folder
            with zf.open(member) as src, open(target, "wb") as dst:
                shutil.copyfileobj(src, dst)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Download the public LogHub BGL and Backblaze datasets.",
        epilog=__doc__.split("Sources and terms")[1].join(["Sources and terms", ""]),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--dest", type=Path, default=Path("data/public"),
                        help="folder to download into (default: data/public)")
    parser.add_argument("--bgl", action="store_true",
                        help="the full LogHub BGL log (BGL.zip from Zenodo, ~57 MB)")
    parser.add_argument("--samples", action="store_true",
                        help="the LogHub 2k samples (BGL, HDFS, Thunderbird) from GitHub")
    parser.add_argument("--backblaze", nargs="+", metavar="QUARTER", default=[],
                        help="Backblaze quarters such as 2019Q4 (about 1 GB each)")
    parser.add_argument("--unzip", action="store_true", help="extract the archives after download")
    parser.add_argument("--force", action="store_true", help="download files already present")
    args = parser.parse_args(argv)
    if not (args.bgl or args.samples or args.backblaze):
        parser.print_help()
        print("\nchoose at least one of --bgl, --samples, --backblaze QUARTER", file=sys.stderr)
        return 2
    loghub = args.dest / "loghub"
    if args.samples:
        for name in SAMPLES:
            download(SAMPLES_URL.format(name=name), loghub / f"{name}_2k.log", force=args.force)
    if args.bgl:
        archive = download(BGL_URL, loghub / "BGL.zip", force=args.force)
        if args.unzip:
            unzip(archive, loghub)
    for quarter in args.backblaze:
        name = backblaze_archive(quarter)
        archive = download(BACKBLAZE_URL.format(name=name), args.dest / "backblaze" / f"{name}.zip",
                           force=args.force)
        if args.unzip:
            folder = args.dest / "backblaze" / name
            folder.mkdir(parents=True, exist_ok=True)
            unzip(archive, folder)
            print(f"read it with: errpredict ingest --data {folder} --format backblaze "
                  f"--out {name}.parquet")
    return 0


if __name__ == "__main__":
    sys.exit(main())
