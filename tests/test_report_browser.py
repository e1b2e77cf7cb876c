"""The HTML report opened in real headless Chromium (Debian's chromium + chromium-driver, Selenium from PyPI)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

import tests.helpers.browser as browser_helper
from omz_mobilenet.results.charts import LEGEND_MAX
from omz_mobilenet.results.db import ResultsDB
from omz_mobilenet.results.fields import cell_id
from omz_mobilenet.results.grouping import families, groups
from omz_mobilenet.results.pareto import pareto_ids
from omz_mobilenet.results.report_charts import CDF_SHOWN
from tests.helpers.browser import CHROMEDRIVER, CHROMIUM, INSTALL, require_browser
from tests.helpers.results_db import make_cell, run_cmd, sweep_cells, write_db


def report_cells() -> list[dict[str, Any]]:
    """Two devices on one machine, and a second machine that measured some of the same cells."""
    return [
        make_cell("mobilenet-v2-1.0-224", "FP32", top1=71.8, median=6.2, size=13.6),
        make_cell("mobilenet-v2-1.0-224", "FP16", top1=71.7, median=6.0, size=6.8, spread=0.05),  # = FP32 speed
        make_cell("mobilenet-v2-1.0-224", "INT8", top1=70.9, median=3.1, size=3.6, spread=0.14),
        make_cell("mobilenet-v2-1.0-224", "INT8", batch=4, hint="throughput", top1=70.9, median=7.0, fps=571.0),
        make_cell("mobilenet-v1-0.50-160", "FP32", top1=59.0, median=1.2, size=5.3),
        make_cell("mobilenet-v1-0.25-128", "FP32", top1=41.5, median=0.6, size=1.9),
        make_cell("mobilenet-v1-0.25-128", "INT8", top1=39.6, median=0.9, size=0.6),  # dominated
        make_cell("mobilenet-v1-1.0-224", "INT8", status="failed", reason="conversion failed"),
        make_cell(
            "mobilenet-v1-1.0-224",
            "FP32",
            status="incomplete",
            top1=80.0,
            median=0.5,
            images=12,
            reason="12 images evaluated, fewer than --min-images 50",
        ),  # best and fastest, but no evidence
        make_cell("mobilenet-v1-1.0-224", "FP16", status="unavailable", reason="FP16 IR not converted"),
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


def _row(page: Any, model: str, precision: str, machine: str = "m1") -> Any:
    return next(
        r
        for r in _by_css(page, "tr.cell")
        if (r.get_attribute("data-model"), r.get_attribute("data-precision")) == (model, precision)
        and r.get_attribute("data-machine") == machine
        and r.get_attribute("data-device") == "CPU"
    )


@pytest.fixture
def page(driver, report) -> Any:
    """The small report, loaded afresh: tests of the big reports share the browser."""
    driver.set_window_size(1400, 2000)
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
    assert len(_by_css(page, "svg.throughput-chart")) == 3
    timed = [r for r in report["records"] if r["status"] == "ok"]
    per_family = {(g, f) for g, cells in groups(timed).items() for f in families(cells)}
    cdfs = {(c.get_attribute("data-device"), c.get_attribute("data-machine"), c.get_attribute("data-family"))
            for c in _by_css(page, "svg.cdf-chart")}  # fmt: skip
    assert len(per_family) == 5 and cdfs == {(*g, f) for g, f in per_family}
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
    assert len(names) == 11 and "pareto-GPU-ci-zen3.png" in names and "cdf-mobilenet-v1-CPU-ci-zen3.png" in names
    assert all((pngs / n).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for n in names)


def test_a_missing_browser_fails_with_the_install_line(monkeypatch):
    monkeypatch.setattr(browser_helper, "CHROMIUM", "/nonexistent/chromium")
    with pytest.raises(pytest.fail.Exception, match=re.escape(INSTALL)):
        require_browser()


def test_incomplete_and_unavailable_cells_are_shown_as_such_and_never_on_the_front(page, report):
    thin = _row(page, "mobilenet-v1-1.0-224", "FP32")
    missing = _row(page, "mobilenet-v1-1.0-224", "FP16")
    assert "incomplete" in thin.get_attribute("class").split() and "pareto" not in thin.get_attribute("class")
    assert "unavailable" in missing.get_attribute("class").split() and "pareto" not in missing.get_attribute("class")
    cells = thin.find_elements("css selector", "td")
    assert cells[5].text == "incomplete" and cells[6].text == "-"  # its Top-1 80 % is not evidence
    assert not any(i.split("|")[:2] == ["mobilenet-v1-1.0-224", "FP32"] for i in pareto_ids(report["records"]))
    body = page.find_element("tag name", "body").text
    assert "1 incomplete" in body and "1 unavailable" in body and "Grey rows are not evidence" in body
    tips = " ".join(t.get_attribute("textContent") for t in _by_css(page, "svg.pareto-chart circle title"))
    assert "v1-1.0-224 FP32" not in tips
    summary = (report["folder"] / "summary.md").read_text()
    assert "## Not results" in summary and "mobilenet-v1-1.0-224 FP32 b1 latency f32 CPU: **incomplete**" in summary


def test_cells_equal_in_speed_are_marked_and_the_noisy_flag_is_explained(page, report):
    fp16 = _row(page, "mobilenet-v2-1.0-224", "FP16")
    tie = fp16.find_element("css selector", "span.tie")
    assert tie.text == "\u22481" and tie.get_attribute("title") == "equal in speed to: v2-1.0-224 FP32 b1 latency f32"
    assert _row(page, "mobilenet-v2-1.0-224", "INT8").find_elements("css selector", "span.tie") == []
    # FP32 and FP16 are equal in speed, so the more accurate FP32 is on the front and FP16 is not
    assert "pareto" in _row(page, "mobilenet-v2-1.0-224", "FP32").get_attribute("class")
    assert "pareto" not in fp16.get_attribute("class")
    body = page.find_element("tag name", "body").text
    assert "noisy: the medians of this cell's rounds differ by more than 10 %" in body
    assert "equal in speed to n other cells" in body
    bars = _by_css(page, "svg.pareto-chart[data-device=CPU][data-machine=m1] line.xerr")
    assert len(bars) == 7  # one round-median bar per measured ok cell of CPU on ci-zen3


def _layout(page: Any) -> dict[str, Any]:
    """Per chart: visible label boxes, marker centres, its own box and legend entries, from the browser."""
    return page.execute_script(
        """
        function box(el){ var r = el.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; }
        return Array.prototype.map.call(document.querySelectorAll('figure.chart'), function(fig){
          var svg = fig.querySelector('svg');
          var labels = Array.prototype.filter.call(svg.querySelectorAll('text.label'),
            function(t){ return getComputedStyle(t).display !== 'none'; });
          var dots = Array.prototype.filter.call(svg.querySelectorAll('g.series circle'),
            function(c){ return getComputedStyle(c.parentNode).display !== 'none'; });
          return {cls: svg.getAttribute('class'), svg: box(svg), labels: labels.map(box),
                  texts: labels.map(function(t){ return t.textContent; }),
                  dots: dots.map(function(c){ var b = box(c); return [(b[0] + b[2]) / 2, (b[1] + b[3]) / 2]; }),
                  covered: svg.querySelectorAll('text.label.covered').length,
                  legend: svg.querySelectorAll('.legend-item').length,
                  listed: fig.querySelectorAll('.legend-list input').length,
                  shown: Array.prototype.filter.call(svg.querySelectorAll('g.series'),
                    function(g){ return g.style.display !== 'none'; }).length};
        });
        """
    )


def _overlaps(a: list[float], b: list[float]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


@pytest.fixture(scope="module", params=[24, 200])
def big(request, driver, tmp_path_factory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp(f"report{request.param}")
    db = write_db(folder / "results.db", sweep_cells(request.param))
    html = folder / "report.html"
    assert run_cmd(["report", str(db), "-o", str(html), "--max-latency", "4"]) == 0
    driver.set_window_size(1400, 2000)
    driver.get(html.as_uri())
    return {"n": request.param, "folder": folder, "charts": _layout(driver), "page": driver}


def test_a_big_report_keeps_its_labels_apart_and_on_their_chart(big):
    for chart in big["charts"]:
        labels, svg = chart["labels"], chart["svg"]
        assert chart["covered"] == 0, chart["texts"]  # the placement itself kept them apart in a real browser
        for i, a in enumerate(labels):
            assert svg[0] <= a[0] and a[2] <= svg[2] and svg[1] <= a[1] and a[3] <= svg[3], chart["texts"][i]
            assert not any(_overlaps(a, b) for b in labels[i + 1 :]), chart["texts"][i]
            assert not any(a[0] < x < a[2] and a[1] < y < a[3] for x, y in chart["dots"]), chart["texts"][i]
    pareto = [c for c in big["charts"] if c["cls"] == "pareto-chart"]
    assert pareto and all(c["labels"] for c in pareto)  # the front is still named where there is room


def test_a_big_report_labels_by_what_varies(big):
    texts = [t for c in big["charts"] for t in c["texts"]]
    if big["n"] == 24:  # one configuration: said once in the subtitle, never on a point
        assert not any("b1" in t or "latency f32" in t for t in texts if not t.startswith("sweet spot"))
        subtitles = [s.text for s in big["page"].find_elements("css selector", "svg.pareto-chart text.subtitle")]
        assert subtitles == ["all cells b1 latency f32"]
    else:  # batch 1 and 4: the configuration varies, so it is part of a label
        assert any(" b1 " in f" {t} " or " b4 " in f" {t} " for t in texts)


def test_a_big_report_bounds_its_legends_and_cdfs(big):
    cdfs = [c for c in big["charts"] if c["cls"] == "cdf-chart"]
    assert len(cdfs) == (3 if big["n"] == 24 else 6)  # one per model family and machine
    for chart in big["charts"]:
        assert chart["legend"] <= LEGEND_MAX
        if chart["listed"]:  # a crowded chart: its legend is a list on the page, its lines few at first
            assert chart["legend"] == 0 and chart["shown"] <= CDF_SHOWN < chart["listed"]
    assert any(c["listed"] for c in cdfs) == (big["n"] == 200)


def test_a_big_report_does_not_overflow_sideways_and_is_screenshot(big):
    page = big["page"]
    assert page.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")
    height = page.execute_script("return document.body.scrollHeight")
    page.set_window_size(1400, min(height + 40, 12000))
    shot = big["folder"] / f"report-{big['n']}.png"
    assert page.save_screenshot(str(shot))
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 50_000
    page.set_window_size(1400, 2000)


def test_the_legend_hides_and_shows_lines(big):
    page = big["page"]
    item = page.find_elements("css selector", "svg.pareto-chart .legend-item")[0]
    key = item.get_attribute("data-key")
    series = f'svg.pareto-chart g.series[data-key="{key}"]'
    item.click()
    assert page.execute_script(f"return document.querySelector('{series}').style.display") == "none"
    item.click()
    assert page.execute_script(f"return document.querySelector('{series}').style.display") == ""
    if big["n"] == 200:
        box = next(b for b in page.find_elements("css selector", ".legend-list input") if not b.is_selected())
        page.execute_script("arguments[0].scrollIntoView()", box)
        box.click()
        fig = box.find_element("xpath", "ancestor::figure")
        drawn = fig.find_element("css selector", f'g.series[data-key="{box.get_attribute("data-key")}"]')
        assert drawn.value_of_css_property("display") != "none"


def test_cells_of_one_measurement_are_marked_as_one():
    from omz_mobilenet.results.report_page import render

    # The as-is import of a quantized source is both its FP32 and its INT8 IR: the sweep measures it once.
    cells = [make_cell("mobilenet-v2-1.0-224-quant", p, top1=70.8, median=4.88) for p in ("FP32", "INT8")]
    for cell in cells:
        cell["shared_measurement"] = ["mobilenet-v2-1.0-224-quant FP32", "mobilenet-v2-1.0-224-quant INT8"]
    html = render(cells)
    assert 'title="equal in speed to: v2-1.0-224-quant INT8 b1 latency f32 (one measurement)"' in html
    assert 'title="equal in speed to: v2-1.0-224-quant FP32 b1 latency f32 (one measurement)"' in html
