"""`triplet monitor` end to end: the example's injected shift, the page, disclosure, trials."""

from __future__ import annotations

import json
import re
import shutil

import numpy as np
import pandas as pd
import pytest

from triplet.cli.main import main
from triplet.errors import OverwriteError
from triplet.performance.monitor import NOT_AN_EFFECT, build_monitor, run_monitor
from triplet.reports.disclosure import PSEUDONYM_PATTERN, DisclosureError, find_identifiers

from .conftest import REPO


def test_example_csv_has_every_indicator_month(example_monitor):
    _, paths = example_monitor
    t = pd.read_csv(paths["csv"])
    ids = [
        "harm-priority-localities", "harm-hot-spots", "harm-felonious-few", "harm-repeat-victims",
        "robbery-hot-spots", "robbery", "violence", "burglary",
    ]  # fmt: skip
    assert t["indicator"].unique().tolist() == ids
    # baseline 2023-01..2024-12 and monitored 2025-01..2025-12 for each indicator
    assert (t.groupby("indicator").size() == 36).all()
    assert set(t["phase"]) == {"baseline", "monitoring"}
    for col in ("expected", "pi_low", "pi_high", "lcl", "ucl", "beyond", "run", "trend", "signal"):
        assert col in t.columns
    assert (t["pi_low"] <= t["expected"]).all() and (t["expected"] <= t["pi_high"]).all()
    assert t["synthetic"].all()


def test_injected_burglary_fall_is_detected(example_monitor):
    _, paths = example_monitor
    d = json.loads(paths["json"].read_text())
    b = next(i for i in d["indicators"] if i["id"] == "burglary")
    assert b["simulated_shift"] is True
    assert b["variation"]["code"] == "improvement_low"
    # the shift starts 2025-04: a signal below the expected level covering the shifted months
    seg = [s for s in b["signals"] if s["direction"] == -1]
    assert seg and seg[0]["start"] <= "2025-05" and seg[0]["end"] == "2025-12"
    # the year-to-date interval excludes no change and holds the injected -30% roughly
    ytd = b["year_to_date"]
    assert ytd["ci_high"] < 0 and ytd["ci_low"] < -15
    t = pd.read_csv(paths["csv"])
    mon = t[(t["indicator"] == "burglary") & (t["month"] >= "2025-04")]
    ratio = mon["value"].sum() / mon["expected"].sum()
    assert 0.6 < ratio < 0.8


def test_indicators_without_a_shift_end_in_common_cause(example_monitor):
    _, paths = example_monitor
    d = json.loads(paths["json"].read_text())
    others = [i for i in d["indicators"] if not i["simulated_shift"]]
    assert all(i["variation"]["code"] == "common_cause" for i in others)
    # no other indicator has a sustained run below its expected level in the shifted months
    for i in others:
        assert not any(s["direction"] == -1 and "run" in s["rules"] for s in i["signals"]), i["id"]


def test_page_says_not_an_effect_and_holds_no_person_data(example_monitor):
    work, paths = example_monitor
    page = paths["page"].read_text()
    assert NOT_AN_EFFECT in page
    assert "SYNTHETIC" in page
    assert page.count("data:image/png;base64,") >= 8 + 2  # every chart and two funnels
    assert 'id="signal-table"' in page and 'id="trial-table"' in page
    assert not PSEUDONYM_PATTERN.search(page)
    mon = run_monitor(work / "performance.yaml")
    assert find_identifiers(page, mon.identifiers) == []
    # person counts: the cohort sizes are shown only when >= 10
    for r in mon.results:
        if r.members.is_person:
            assert r.members.size >= 10
    assert 'href="../board.html"' in page


def test_small_cohort_is_withheld_and_small_counts_suppressed(tiny_framework, tmp_path):
    path = tiny_framework(top=5)  # 5 prolific offenders: under the threshold of 10
    paths = build_monitor(path)
    page = paths["page"].read_text()
    assert "Not shown: the cohort has fewer than 10 people" in page
    assert "(5 people)" not in page
    t = pd.read_csv(paths["csv"])
    assert t.loc[t["indicator"] == "prolific-crimes", "value"].isna().all()
    d = json.loads(paths["json"].read_text())
    pro = next(i for i in d["indicators"] if i["id"] == "prolific-crimes")
    assert pro["population"]["size"] == "<10" and pro["year_to_date"] is None


def test_monthly_counts_of_a_cohort_under_the_threshold_are_not_shown(tiny_framework):
    path = tiny_framework(top=12)
    mon = run_monitor(path)
    r = next(r for r in mon.results if r.indicator.id == "prolific-crimes")
    assert r.small_counts  # some months have 1..9 crimes by the cohort
    values = mon.summary().query("indicator == 'prolific-crimes'")["value"].dropna()
    assert not ((values > 0) & (values < 10)).any()
    paths = build_monitor(path)
    assert (
        "Chart not drawn: some monthly counts for this cohort are below 10"
        in paths["page"].read_text()
    )


def test_identifier_in_a_title_refuses_the_page(tiny_framework):
    path = tiny_framework()
    text = path.read_text().replace("title: Burglaries", "title: Burglaries by p_000000000000001e")
    path.write_text(text)
    with pytest.raises(DisclosureError):
        build_monitor(path)
    assert not (path.parent / "performance" / "performance.html").exists()


def test_funnel_and_year_to_date_on_the_tiny_borough(tiny_framework):
    mon = run_monitor(tiny_framework())
    b = next(r for r in mon.results if r.indicator.id == "burglary")
    assert len(b.summary()) == 30 and b.to_dict()["id"] == "burglary"  # 2022-01..2024-06
    assert b.plot().get_title() == "Burglaries"
    assert b.funnel is not None and len(b.funnel.table) == 6
    # the funnel counts the 12 months to as-of (2023-07..2024-06)
    assert b.funnel.table["count"].sum() == b.series.loc["2023-07":"2024-06"].sum()
    assert b.ytd.months == 6 and b.ytd.this_year == b.series.loc["2024-01":"2024-06"].sum()


def test_live_trials_months_remaining_coverage_and_dose(tiny_framework):
    path = tiny_framework()
    root = path.parent
    shutil.copy2(REPO / "registry.yaml", root / "registry.yaml")
    shutil.copytree(REPO / "trials", root / "trials")
    (root / "trials" / "hotspot-patrol" / "results").mkdir()
    (root / "trials" / "hotspot-patrol" / "results" / "delivery.json").write_text(
        json.dumps({"delivered_share": 0.62})
    )
    pd.DataFrame(
        {
            "unit": ["E01X00001", "E01X00002", "E01X00003", "E01X00004"],
            "arm": ["treatment", "control", "treatment", "control"],
            "block": "",
            "pair": "",
            "cluster": "",
            "probability": 0.5,
        }
    ).to_csv(root / "trials" / "hotspot-patrol" / "assignment.csv", index=False)
    text = path.read_text().replace(
        "  borough: {kind: borough}",
        "  borough: {kind: borough}\n  treated: {kind: trial, trial: hotspot-patrol}",
    )
    text += (  # indicators is the file's last key: add one, then the registry
        "  - id: harm-treated\n    title: Harm in the patrolled LSOAs\n    measure: harm\n"
        "    population: treated\n    owner: Police\n"
        "registry: registry.yaml\n"
    )
    path.write_text(text)
    mon = run_monitor(path)  # records end 2024-06; the trials treat 2024-01..2024-12
    treated = next(r for r in mon.results if r.indicator.id == "harm-treated")
    assert treated.members.members == {"E01X00001", "E01X00003"}
    assert treated.members.residents == 3000
    t = {x.id: x for x in mon.trials}
    hp = t["hotspot-patrol"]
    assert (hp.phase, hp.months_elapsed, hp.months_remaining) == ("live", 6, 6)
    assert hp.coverage_months == 1.0 and hp.dose == "62% of the registered dose delivered to date"
    assert t["offender-focus"].dose is None
    page = build_monitor(path)["page"].read_text()
    assert "62% of the registered dose delivered to date" in page
    assert "live" in page and 'href="../board.html"' in page
    # no effect is shown for a live trial: the page never carries an estimate
    assert not re.search(r"percent_change|P\(reduction\)", page)


def test_outputs_are_not_overwritten_without_rerun(tiny_framework):
    path = tiny_framework()
    build_monitor(path)
    with pytest.raises(OverwriteError):
        build_monitor(path)
    build_monitor(path, rerun=True)
    assert list((path.parent / "performance" / "previous").glob("*/performance.html"))


def test_cli_monitor_and_errors(tiny_framework, capsys):
    path = tiny_framework()
    assert main(["monitor", str(path), "--check"]) == 0
    assert main(["monitor", str(path)]) == 0
    assert (path.parent / "performance" / "performance.csv").exists()
    path.write_text(path.read_text().replace("measure: harm", "measure: hrm"))
    assert main(["monitor", str(path)]) == 1
    err = capsys.readouterr().err
    assert "performance.yaml:" in err and "indicators.1.measure" in err and "Traceback" not in err


@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium is not installed")
def test_screenshot_shows_charts_and_the_signal_table(example_monitor, tmp_path):
    import matplotlib.image as mpimg

    from triplet.reports.chromium import screenshot

    _, paths = example_monitor
    png = tmp_path / "performance.png"
    png.write_bytes(screenshot(paths["page"], width=1280, height=2400))
    img = mpimg.imread(png)[..., :3]

    def rows_with(colour_hex: str, tol: float = 0.04) -> np.ndarray:
        rgb = np.array([int(colour_hex[i : i + 2], 16) for i in (1, 3, 5)]) / 255
        hit = (np.abs(img - rgb) < tol).all(axis=2)
        return np.flatnonzero(hit.sum(axis=1) > 0)

    header = rows_with("#f6f8fa")  # the signal table's header
    points = rows_with("#1f6feb", 0.08)  # chart points and lines
    signals = rows_with("#e36209", 0.08)  # signal points and the funnel's flagged areas
    band = rows_with("#ddf4ff", 0.02)  # prediction bands
    assert len(header) and len(points) > 300 and len(signals) > 20 and len(band) > 300
    assert points.min() > header.min()  # charts sit in the table, below its header


def test_an_indicator_can_use_another_harm_index(tiny_framework):
    path = tiny_framework()
    (path.parent / "weights.csv").write_text(
        "crime_type,days\nBurglary,100\nViolence and sexual offences,7\n"
    )
    path.write_text(
        path.read_text() + "  - id: harm-custom\n    title: Harm (our weights)\n    measure: harm\n"
        "    harm_index: weights.csv\n    population: borough\n    owner: Council\n"
    )
    mon = run_monitor(path)
    r = next(r for r in mon.results if r.indicator.id == "harm-custom")
    records = pd.read_csv(path.parent / "records.csv", dtype=str)
    records = records[records["month"] >= "2022-01"]
    n_b = int((records["crime_type"] == "Burglary").sum())
    assert r.series.sum() == pytest.approx(100 * n_b + 7 * (len(records) - n_b))
    # the framework's own index (Cambridge) still serves the other harm indicator
    assert (
        next(x for x in mon.results if x.indicator.id == "harm-worst").indicator.harm_index is None
    )
    assert "harm (weights.csv)" in build_monitor(path)["page"].read_text()


@pytest.mark.parametrize("kind, method", [("xmr", "xmr"), ("laney", "laney_u")])
def test_chart_kinds(tiny_framework, kind, method):
    path = tiny_framework()
    path.write_text(
        path.read_text().replace("    funnel: true", f"    funnel: true\n    chart: {kind}")
    )
    mon = run_monitor(path)
    r = next(r for r in mon.results if r.indicator.id == "burglary")
    assert r.chart.method == method
    # residents are constant, so Laney's u' chart has the XmR chart's limits
    base = r.series.iloc[:24]
    mr = np.abs(np.diff(base.to_numpy())).mean()
    assert r.chart.table["ucl"].iloc[-1] == pytest.approx(base.mean() + 3 * mr / 1.128)
