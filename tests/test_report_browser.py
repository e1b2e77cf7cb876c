"""The HTML report opened in real headless Chromium (Debian's chromium + chromium-driver, Selenium from PyPI)."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from omz_mobilenet.results.cells import cell_id, groups
from omz_mobilenet.results.db import ResultsDB
from omz_mobilenet.results.pareto import pareto_ids
from tests.helpers.browser import CHROMEDRIVER, CHROMIUM, INSTALL, require_browser  # noqa: F401
from tests.helpers.results_db import make_cell, run_cmd, write_db


def report_cells() -> list[dict[str, Any]]:
    """Two devices on one machine, and a second machine that measured some of the same cells."""
    return [
        make_cell("mobilenet-v2-1.0-224", "FP32", top1=71.8, median=6.2, size=13.6),
        make_cell("mobilenet-v2-1.0-224", "FP16", top1=71.7, median=6.0, size=6.8),
        make_cell("mobilenet-v2-1.0-224", "INT8", top1=70.9, median=3.1, size=3.6, spread=0.14),
        make_cell("mobilenet-v2-1.0-224", "INT8", batch=4, hint="throughput", top1=70.9, median=7.0, fps=571.0),
        make_cell("mobilenet-v1-0.50-160", "FP32", top1=59.0, median=1.2, size=5.3),
        make_cell("mobilenet-v1-0.25-128", "FP32", top1=41.5, median=0.6, size=1.9),
        make_cell("mobilenet-v1-0.25-128", "INT8", top1=39.6, median=0.9, size=0.6),  # dominated
        make_cell("mobilenet-v1-1.0-224", "INT8", status="failed", reason="conversion failed"),
        make_cell("mobilenet-v2-1.0-224", "FP16", device="GPU", top1=71.8, median=1.9),
        make_cell("mobilenet-v1-0.25-128", "FP16", device="GPU", top1=41.4, median=0.8),
        make_cell("mobilenet-v2-1.0-224", "FP32", machine="m2", top1=71.8, median=3.9),
        make_cell("mobilenet-v2-1.0-224", "INT8", machine="m2", top1=70.8, median=1.4),
    ]


@pytest.fixture(scope="module")
def driver(tmp_path_factory) -> Iterator[Any]:
    require_browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1400,2000",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}",
    ):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    browser = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    try:
        yield browser
    finally:
        browser.quit()


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("report")
    db = write_db(folder / "results.db", report_cells())
    html = folder / "report.html"
    assert (
        run_cmd(["report", str(db), "-o", str(html), "--max-latency", "8", "--markdown", str(folder / "summary.md")])
        == 0
    )
    with ResultsDB.open(db, create=False, write=False) as store:
        records = store.cells()
    return {"html": html, "records": records, "folder": folder}


@pytest.fixture(scope="module")
def page(driver, report) -> Any:
    driver.get(report["html"].as_uri())
    return driver


def _by_css(page: Any, selector: str) -> list[Any]:
    from selenium.webdriver.common.by import By

    return list(page.find_elements(By.CSS_SELECTOR, selector))


def test_one_row_per_cell(page, report):
    rows = _by_css(page, "tr.cell")
    assert len(rows) == len(report["records"])
    assert {r.get_attribute("data-cell-id") for r in rows} == {cell_id(c) for c in report["records"]}
    gpu = [r for r in rows if r.get_attribute("data-device") == "GPU"]
    assert len(gpu) == 2 and {r.get_attribute("data-machine") for r in rows} == {"m1", "m2"}


def test_one_pareto_chart_per_device_and_machine(page, report):
    charts = _by_css(page, "svg.pareto-chart")
    expected = set(groups(report["records"]))
    assert len(charts) == len(expected)
    assert {(c.get_attribute("data-device"), c.get_attribute("data-machine")) for c in charts} == expected
    assert {c.get_attribute("data-device") for c in charts} == {"CPU", "GPU"}
    assert all(c.size["width"] > 300 and c.size["height"] > 200 for c in charts)


def test_pareto_rows_are_the_front_computed_from_the_database(page, report):
    marked = {r.get_attribute("data-cell-id") for r in _by_css(page, "tr.cell.pareto")}
    expected = pareto_ids(report["records"])
    assert marked == expected
    names = {tuple(i.split("|")[:3]) for i in expected}
    assert ("mobilenet-v1-0.25-128", "INT8", "CPU") not in names  # slower and less accurate than its FP32
    assert ("mobilenet-v2-1.0-224", "INT8", "CPU") in names


def _column(page: Any, key: str) -> list[str]:
    index = [h.get_attribute("data-sort-key") for h in _by_css(page, "#cells th")].index(key)
    return [
        r.find_elements("css selector", "td")[index].get_attribute("data-value")
        for r in _by_css(page, "#cells tr.cell")
    ]


def test_clicking_a_header_sorts_the_table(page):
    before = _column(page, "median")
    header = next(h for h in _by_css(page, "#cells th[data-sort-key]") if h.get_attribute("data-sort-key") == "median")
    header.click()
    ascending = _column(page, "median")
    numbers = [float(v) for v in ascending if v]
    assert numbers == sorted(numbers) and ascending != before
    assert ascending[-1] == ""  # the failed cell has no latency: last
    assert header.get_attribute("aria-sort") == "ascending"
    header.click()
    descending = [float(v) for v in _column(page, "median") if v]
    assert descending == sorted(numbers, reverse=True)
    model = next(h for h in _by_css(page, "#cells th[data-sort-key]") if h.get_attribute("data-sort-key") == "model")
    model.click()
    names = _column(page, "model")
    assert names == sorted(names)


def test_no_javascript_errors_and_no_network(page, report):
    severe = [e for e in page.get_log("browser") if e.get("level") == "SEVERE"]
    assert severe == []
    html = report["html"].read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", html, re.I)
    assert not re.search(r"url\(\s*['\"]?(https?:)?//", html, re.I)
    assert "<link" not in html and "<script src" not in html
    assert page.execute_script("return performance.getEntriesByType('resource').length") == 0


def test_page_shows_sweet_spot_machines_and_provenance(page, report):
    body = page.find_element("tag name", "body").text
    assert "Across machines" in body and "ray-zen5" in body and "avx512_vnni" in body
    assert "sweet spot: v1-0.25-128 FP32 b1 latency f32" in page.page_source
    assert len(_by_css(page, "svg.throughput-chart")) == len(_by_css(page, "svg.cdf-chart")) == 3
    summary = (report["folder"] / "summary.md").read_text()
    assert "## GPU on ci-zen3" in summary and "Best Top-1 with median latency <= 8 ms" in summary


def test_screenshot(page, tmp_path):
    shot = tmp_path / "report.png"
    assert page.save_screenshot(str(shot))
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000


def test_png_charts_and_markdown(tmp_path):
    db = write_db(tmp_path / "results.db", report_cells())
    pngs = tmp_path / "png"
    assert run_cmd(["report", str(db), "-o", str(tmp_path / "r.html"), "--png", str(pngs), "--max-latency", "2"]) == 0
    names = sorted(p.name for p in pngs.iterdir())
    assert len(names) == 9 and "pareto-GPU-ci-zen3.png" in names
    assert all((pngs / n).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for n in names)


def test_a_missing_browser_fails_with_the_install_line(monkeypatch):
    monkeypatch.setattr(sys.modules[__name__], "CHROMIUM", "/nonexistent/chromium")
    with pytest.raises(pytest.fail.Exception, match=re.escape(INSTALL)):
        require_browser()
