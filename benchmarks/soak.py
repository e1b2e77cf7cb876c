"""Soak test: `bench`'s measurement loop for 10 minutes with a fresh input per request.

Every request gets a newly generated random image (a new numpy array, copied into the request), so
a leak per request or per input would show. Prints, per minute: inferences, median and p99 latency
(OpenVINO's own per-request latency), and resident memory (RSS at the end of the minute and the
highest sample in it). Memory must not grow by more than --max-growth % (default 5) from the end of
the first minute (warm-up, allocator pools) to the end of the run; exits 1 otherwise.

    python benchmarks/soak.py                                   # 10 minutes, mobilenet-v1-0.25-224-tflite FP32, CPU
    python benchmarks/soak.py --minutes 1 --bucket-s 10         # a quick check
    python benchmarks/soak.py --mirror ../shared/assets --json soak.json
    python benchmarks/soak.py --markdown                        # also into docs/results/soak.md

Ctrl-C prints the minutes gathered so far.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import threading
import time
from array import array
from pathlib import Path

import numpy as np
import psutil
from common import add_markdown_option, write_markdown


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="mobilenet-v1-0.25-224-tflite")
    p.add_argument("--precision", default="FP32", choices=["FP32", "FP16"])
    p.add_argument("--device", default="CPU")
    p.add_argument("--hint", default="latency", choices=["latency", "throughput"])
    p.add_argument("--nireq", type=int, help="requests in flight (default: the compiled model's optimal number)")
    p.add_argument("--minutes", type=float, default=10.0)
    p.add_argument("--bucket-s", type=float, default=60.0, help="length of one reporting period (default 60 s)")
    p.add_argument(
        "--max-growth", type=float, default=5.0, help="allowed RSS growth after the first period, %% (default 5)"
    )
    p.add_argument("--mirror", help="download mirror (folder or URL) if the model is not cached yet")
    p.add_argument("--cache-dir")
    p.add_argument("-o", "--output-dir", help="IR folder (default: OMZ_MOBILENET_OUT or ./ir)")
    p.add_argument("--json", help="also write the figures to this file")
    add_markdown_option(p, "soak")
    return p.parse_args(argv)


class Sampler(threading.Thread):
    """RSS every second, so each period has its highest value as well as its last."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.process = psutil.Process()
        self.samples: list[int] = []
        self.lock = threading.Lock()
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(1.0):
            rss = self.process.memory_info().rss
            with self.lock:
                self.samples.append(rss)

    def take(self) -> list[int]:
        with self.lock:
            taken, self.samples = self.samples, []
        return taken


def main(argv=None) -> int:
    args = parse_args(argv)
    import openvino as ov

    from omz_mobilenet.bench.compiled import BenchTarget, compile_target
    from omz_mobilenet.bench.options import BenchOptions
    from omz_mobilenet.catalogue import load_catalogue
    from omz_mobilenet.convert.pipeline import ensure_ir
    from omz_mobilenet.settings import Settings

    settings = Settings.resolve(cache_dir=args.cache_dir, out_dir=args.output_dir, mirror=args.mirror, progress=False)
    entry = load_catalogue().get(args.model)
    xml = ensure_ir(entry, args.precision, settings)
    opts = BenchOptions(device=args.device, hint=args.hint, nireq=args.nireq, time_s=args.minutes * 60).validate()
    core = ov.Core()
    prepared = compile_target(core, BenchTarget(entry.name, args.precision, args.precision, xml, entry), opts)
    nireq = args.nireq or prepared.facts["optimal_requests"] or 1
    port = prepared.compiled.input(0)
    shape, dtype = tuple(port.get_shape()), port.get_element_type().to_dtype()
    queue = ov.AsyncInferQueue(prepared.compiled, nireq)
    # Latencies of the current period only, in a compact array; each period is reduced to a row and
    # dropped, so the harness itself does not grow with the run (a list of 400k tuples would be 45 MB).
    state = {"latencies": array("d")}
    queue.set_callback(lambda request, _userdata: state["latencies"].append(request.latency))
    rng = np.random.default_rng(20261121)

    sampler = Sampler()
    started = time.monotonic()
    sampler.start()
    periods = max(1, int(np.ceil(args.minutes * 60 / args.bucket_s - 1e-9)))
    end = started + args.minutes * 60
    rows: list[dict] = []
    interrupted = False
    print(
        f"soak: {entry.name} {args.precision} on {args.device}, {nireq} request(s), {args.minutes:g} min, "
        f"a fresh {shape} {np.dtype(dtype).name} input per request; OpenVINO {ov.get_version()}",
        flush=True,
    )
    try:
        for index in range(periods):
            boundary = min(end, started + (index + 1) * args.bucket_s)
            while time.monotonic() < boundary:
                fresh = rng.integers(0, 256, size=shape, dtype=np.uint8).astype(dtype, copy=False)
                queue.start_async({0: fresh})  # copied into the request's own tensor
            if index == periods - 1:
                queue.wait_all()  # the last requests in flight count in the last period
            rows.append(close_period(index, state, sampler))
            print(_row_text(rows[-1]), flush=True)
    except KeyboardInterrupt:
        interrupted = True
        queue.wait_all()
        rows.append(close_period(len(rows), state, sampler))
    sampler.stop.set()
    sampler.join()
    report = summarize(rows, args, entry.name, nireq, ov.get_version(), interrupted)
    print(table_text(rows, report))
    if args.markdown:
        write_markdown(args.markdown, "soak", markdown(rows, report, shape), title="Soak")
    if args.json:
        Path(args.json).write_text(json.dumps({"summary": report, "periods": rows}, indent=2))
    if interrupted:
        return 130
    return 0 if report["rss_growth_pct"] is not None and report["rss_growth_pct"] <= args.max_growth else 1


def close_period(index: int, state: dict, sampler: Sampler) -> dict:
    latencies = np.frombuffer(state["latencies"], dtype=np.float64).copy()
    state["latencies"] = array("d")  # a late callback may still land in the old one: harmless
    info = sampler.process.memory_info()
    rss_now = info.rss
    samples = sampler.take() + [rss_now]
    return {
        "period": index + 1,
        "inferences": int(latencies.size),
        "median_ms": round(float(np.median(latencies)), 3) if latencies.size else None,
        "p99_ms": round(float(np.percentile(latencies, 99)), 3) if latencies.size else None,
        "rss_end_mb": round(rss_now / 2**20, 1),
        "rss_max_mb": round(max(samples) / 2**20, 1),
        "anon_mb": round((info.rss - info.shared) / 2**20, 1),  # heap etc.: RSS without file-backed pages
    }


def _row_text(r: dict) -> str:
    return (
        f"period {r['period']}: {r['inferences']} inferences, median {r['median_ms']} ms, "
        f"RSS {r['rss_end_mb']} MB (anonymous {r['anon_mb']} MB)"
    )


def summarize(rows: list[dict], args, model: str, nireq: int, version: str, interrupted: bool) -> dict:
    first = next((r["rss_end_mb"] for r in rows if r["rss_end_mb"] is not None), None)
    last = rows[-1]["rss_end_mb"] if rows else None
    growth = round((last - first) / first * 100, 2) if first and last is not None and len(rows) > 1 else None
    anon_first, anon_last = (rows[0]["anon_mb"], rows[-1]["anon_mb"]) if rows else (None, None)
    anon_growth = round((anon_last - anon_first) / anon_first * 100, 2) if anon_first and len(rows) > 1 else None
    return {
        "model": model,
        "precision": args.precision,
        "device": args.device,
        "hint": args.hint,
        "requests": nireq,
        "minutes": args.minutes,
        "period_s": args.bucket_s,
        "inferences": sum(r["inferences"] for r in rows),
        "rss_first_period_end_mb": first,
        "rss_last_period_end_mb": last,
        "rss_growth_pct": growth,
        "anonymous_growth_pct": anon_growth,
        "max_growth_pct": args.max_growth,
        "openvino": version,
        "cpu": _cpu_name(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "interrupted": interrupted,
    }


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def table_text(rows: list[dict], report: dict) -> str:
    unit = "min" if report["period_s"] == 60 else f"x{report['period_s']:g}s"
    lines = [
        f"\n| {unit} | inferences | median ms | p99 ms | RSS end MB | RSS max MB | anonymous MB |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['period']} | {r['inferences']} | {r['median_ms']} | {r['p99_ms']} | {r['rss_end_mb']} "
            f"| {r['rss_max_mb']} | {r['anon_mb']} |"
        )
    growth = report["rss_growth_pct"]
    verdict = "n/a" if growth is None else ("OK" if growth <= report["max_growth_pct"] else "TOO MUCH")
    lines.append(
        f"\nRSS growth after the first period: {growth} % (limit {report['max_growth_pct']} %): {verdict}; "
        f"anonymous memory: {report['anonymous_growth_pct']} %"
    )
    lines.append(
        f"{report['inferences']} inferences; {report['cpu']}, {report['cores']} cores; OpenVINO {report['openvino']}"
        + ("; INTERRUPTED" if report["interrupted"] else "")
    )
    return "\n".join(lines)


def markdown(rows: list[dict], report: dict, shape) -> str:
    """The table under a line saying what ran (the page's stamp names the machine)."""
    what = (
        f"{report['model']} {report['precision']} on {report['device']}, {report['hint']} hint, "
        f"INFERENCE_PRECISION_HINT=f32, {report['requests']} request(s) in flight, a fresh "
        f"{'x'.join(map(str, shape))} random image per request, {report['minutes']:g} min:"
    )
    return what + "\n" + table_text(rows, report)


if __name__ == "__main__":
    sys.exit(main())
