"""REPORT.html as a reader sees it, in a real browser (headless Chromium through Selenium):
the summary and the claims first, every figure loaded, a sort and a filter that work, each
verdict linked to its evidence. Also REPORT.html without a browser, and results/tables.tex.

Without Chromium, its driver or selenium the browser tests are skipped, unless
EVENTSTUDY_BROWSER_TEST=required (as .ci/run sets): then they fail.
"""

from __future__ import annotations

import os
import re
import shutil

import pytest

from eventstudy.report import writer as report
from eventstudy.report.html import html_page, slug, with_images
from eventstudy.study.pipeline import run_study


@pytest.fixture(scope="module")
def deepseek(tmp_path_factory):
    out = tmp_path_factory.mktemp("ds")
    res = run_study("deepseek-2025")
    report.write(res, out)
    return res, out


def _browser():
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.options import Options
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        webdriver = None
    if not (chromium and driver and webdriver):
        why = "headless Chromium, chromedriver and selenium are needed (apt-get install chromium chromium-driver)"
        if os.environ.get("EVENTSTUDY_BROWSER_TEST") == "required":
            pytest.fail(why)
        pytest.skip(why)
    options = Options()
    options.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1400,900"):
        options.add_argument(arg)
    return webdriver.Chrome(service=Service(driver), options=options)


@pytest.fixture(scope="module")
def page(deepseek):
    browser = _browser()
    browser.get((deepseek[1] / "REPORT.html").as_uri())
    yield browser
    browser.quit()


def _claims_table(page):
    from selenium.webdriver.common.by import By

    return page.find_element(By.XPATH, "//h2[@id='claims']/following::table[1]")


def _column(table, name):
    from selenium.webdriver.common.by import By

    heads = [th.text.strip() for th in table.find_elements(By.CSS_SELECTOR, "thead th")]
    k = heads.index(name) + 1
    return [td.text for td in table.find_elements(By.CSS_SELECTOR, f"tbody tr:not([hidden]) td:nth-child({k})")]


def test_the_summary_and_the_claims_come_first(page, deepseek):
    from selenium.webdriver.common.by import By

    res = deepseek[0]
    heads = [h.text for h in page.find_elements(By.TAG_NAME, "h2")]
    assert heads[:3] == ["Summary", "Event", "Claims"]
    summary = page.find_element(By.XPATH, "//h2[@id='summary']/following::ul[1]").text
    for claim in res.claims.itertuples():
        assert f"{claim.verdict} — {claim.id}:" in summary
    table = _claims_table(page)
    assert _column(table, "id") == list(res.claims.id)
    assert _column(table, "verdict") == list(res.claims.verdict)


def test_every_figure_is_embedded_and_loaded(page):
    from selenium.webdriver.common.by import By

    images = page.find_elements(By.TAG_NAME, "img")
    assert len(images) == 10  # six figures without a placebo, CAAR intervals, volume, volatility, BHAR paths
    for img in images:
        assert img.get_attribute("src").startswith("data:image/png;base64,")
        assert page.execute_script("return arguments[0].complete && arguments[0].naturalWidth > 0", img)


def test_a_click_sorts_a_column_and_a_second_click_reverses_it(page):
    from selenium.webdriver.common.by import By

    table = _claims_table(page)
    head = table.find_element(By.XPATH, ".//th[normalize-space()='verdict']")
    head.click()
    verdicts = _column(table, "verdict")
    assert verdicts == sorted(verdicts, key=str.lower) and head.get_attribute("aria-sort") == "ascending"
    head.click()
    assert _column(table, "verdict") == sorted(verdicts, key=str.lower, reverse=True)
    day0 = page.find_element(By.XPATH, "//h2[@id='day-0-moves']/following::table[2]")
    day0.find_element(By.XPATH, ".//th[normalize-space()='ret']").click()
    rets = [float(x.replace("%", "")) for x in _column(day0, "ret")]  # numbers, not text
    assert rets == sorted(rets) and rets[0] < -20 < 0 < rets[-1]


def test_the_filter_box_keeps_the_rows_that_match(page, deepseek):
    from selenium.webdriver.common.by import By

    table = _claims_table(page)
    box = table.find_element(By.XPATH, "preceding-sibling::input[1]")
    box.send_keys("nvda")
    shown = [row.text.lower() for row in table.find_elements(By.CSS_SELECTOR, "tbody tr:not([hidden])")]
    assert shown and len(shown) < len(deepseek[0].claims) and all("nvda" in row for row in shown)
    page.execute_script("arguments[0].value = ''; arguments[0].dispatchEvent(new Event('input'))", box)
    assert len(_column(table, "id")) == len(deepseek[0].claims)


def test_each_verdict_links_to_its_evidence(page, deepseek):
    from selenium.webdriver.common.by import By

    first = deepseek[0].claims.iloc[0]
    link = page.find_element(By.XPATH, "//h2[@id='summary']/following::ul[1]//a[starts-with(@href, '#claim-')]")
    assert link.text == first.verdict
    link.click()
    assert page.execute_script("return location.hash") == f"#claim-{first.id}"
    target = page.find_element(By.ID, f"claim-{first.id}")
    row = target.find_element(By.XPATH, "ancestor::tr[1]")
    assert first.computed.split(" (")[0] in row.text


def test_the_html_is_the_markdown_with_the_figures_inside(deepseek):
    out = deepseek[1]
    text = (out / "REPORT.html").read_text()
    md = (out / "REPORT.md").read_text()
    assert text.count("<img ") == md.count("![") and 'src="figures/' not in text  # embedded, not linked
    assert re.search(r'<h2 id="group-tests">Group tests</h2>', text)
    page = html_page(md, deepseek[0].study.title)  # made while the figures are drawn: they are links
    assert 'src="figures/' in page and "data:image/png" not in page
    images = {f"figures/{p.name}": p.read_bytes() for p in (out / "figures").glob("*.png")}
    assert with_images(page, images) == text  # then embedded: the page written
    assert slug("Second stage: what explains the CARs") == "second-stage-what-explains-the-cars"
    assert slug("The largest and smallest CARs [0,0]") == "the-largest-and-smallest-cars-00"


def test_latex_tables_are_booktabs_with_the_report_numbers(deepseek):
    res, out = deepseek
    tex = (out / "results" / "tables.tex").read_text()
    # the CARs (34 firms × 6 windows: two tables of firms, windows 1–4 and 5–6) and the group tests (42 rows)
    n = tex.count(r"\begin{table}")
    assert n == tex.count(r"\toprule") == tex.count(r"\bottomrule") == 6
    nvda = res.main.car_of("[0,0]").loc["NVDA"]
    assert re.search(rf"\nNVDA & {100 * nvda.car:.2f}\^{{\*\*\*}} &", tex)  # the marks beside the number
    assert "\\textit{ai\\_chips}" in tex and "\\quad [0,0] & 14 & -6.10 &" in tex  # escaped for LaTeX
    body = [ln for ln in tex.splitlines() if ln.endswith(r"\\") and "&" in ln]
    assert all(ln.count("&") == body[0].count("&") for ln in body[:2])


def test_the_markdown_opens_with_the_summary_and_keeps_the_tests_compact(deepseek):
    res, out = deepseek
    md = (out / "REPORT.md").read_text()
    heads = re.findall(r"^## (.+)$", md, flags=re.M)
    assert heads[:3] == ["Summary", "Event", "Claims"]
    assert heads[3:5] == ["Data and provenance", "Method in brief"]  # where the numbers come from, how
    summary = md.split("## Event")[0]
    for claim in res.claims.itertuples():  # one line each, the verdict linked to the claim's row
        line = next(ln for ln in summary.splitlines() if f"`{claim.id}`" in ln)
        assert line.startswith(f"  - **[{claim.verdict}](#claim-{claim.id})**")
        assert f'<span id="claim-{claim.id}">' in md
    tests = md.split("## Group tests")[1].split("<details>")[0]
    rows = [ln for ln in tests.splitlines() if ln.startswith("| ") and not ln.startswith("| group")]
    n_windows = len(res.main.windows)
    assert len(rows) == len(res.groups) * n_windows  # one row per group and window, a column per test
    # the lead: the tests robust to cross-correlation and event-induced variance both; the others folded
    lead = "| group | window | caar | n_firms | p_kolari-pynnonen | ci_kolari-pynnonen | p_grank | p_corrado-zivney |"
    assert tests.count(lead) == 1
    folded = md.split("## Group tests")[1].split("## ")[0]
    assert "| group | window | caar | n_firms | p_portfolio | p_patell-kp | p_permutation | p_corrado-rank |" in folded
    assert (
        "| group | window | caar | n_firms | p_csect-t | ci_csect-t | p_patell | p_bmp | p_generalized-sign | "
        "p_wilcoxon | p_skewness-t |" in folded
    )
    assert "Event-induced variance on [0,0]: the cross-sectional variance of the standardized CARs" in folded
