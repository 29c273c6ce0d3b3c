"""Effect report: its sections on fixture trials, and the notebook run end to end."""

from __future__ import annotations

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from triplet.errors import OverwriteError
from triplet.registry import find_trial
from triplet.reports import effect_report as er
from triplet.reports.board import BAYES_FAILED


@pytest.fixture
def ctx(registry_path):
    return er.load_context("hotspot-patrol", registry_path)


def test_flow_prefers_lock_then_results(ctx):
    flow = er.flow_table(ctx).set_index("stage")
    assert flow.loc["units in the source", "units"] == 160
    assert flow.loc["eligible", "units"] == 120 and flow.loc["eligible", "source"] == (
        "lock.json flow"
    )
    assert flow.loc["excluded", "units"] == 40
    assert flow.loc["excluded: baseline harm below eligibility.min_baseline_harm", "units"] == 40
    assert "excluded: not among units.candidates" not in flow.index  # zero: not listed
    assert flow.loc["treatment", "units"] == 40 and flow.loc["treatment", "source"] == "lock.json"
    assert flow.loc["analysed", "units"] == 80
    assert flow.loc["analysed", "source"] == "results.json n_units"
    assert er.flow_figure(ctx) is not None


def test_flow_from_assignment_when_nothing_else(registry_path):
    ctx = er.load_context("offender-focus", registry_path)
    ctx = er.ReportContext(ctx.trial_file, None, None, ctx.assignment)
    flow = er.flow_table(ctx).set_index("stage")["units"].to_dict()
    assert flow == {"assigned": 3, "treatment": 2, "control": 1}


def test_primary_and_randomisation_tables_match_results(ctx):
    p = er.primary_table(ctx).set_index("item")["value"]
    assert p["Change (%)"] == "-18.53" and p["p-value"] == "0.004"
    assert p["Estimator"] == "twfe_did"
    ri = er.randomisation_table(ctx)
    assert list(ri["p_value"]) == [0.006]


def test_bayesian_section_reports_or_refuses(registry_path, ctx):
    text, diag = er.bayesian_section(ctx)
    assert "P(reduction) = 0.99" in text and diag.loc[0, "divergences"] == 0
    failed = er.load_context("burglary-pop", registry_path)
    text, diag = er.bayesian_section(failed)
    assert text.startswith(BAYES_FAILED) and diag is None
    assert "P(reduction)" not in text


def test_headline_and_caveats(registry_path, ctx):
    assert "SYNTHETIC DATA" in er.headline(ctx)
    assert "verdict **reduction in this trial**" in er.headline(ctx)
    assert "Frequentist rule (registered)" in er.headline(ctx)


def test_headline_shows_the_power_guard_from_the_lock(registry_path, ctx):
    import json

    lock = ctx.trial_file.dir / "lock.json"
    content = json.loads(lock.read_text())
    content["power_check"] = {
        "power": 0.15,
        "target": 0.8,
        "reduction": 0.1,
        "null_reduction_rate": 0.026,
        "null_increase_rate": 0.02,
        "n_sims": 500,
        "below_target": True,
        "warning": "UNDERPOWERED: simulated power 0.15",
    }
    lock.write_text(json.dumps(content))
    text = er.headline(er.load_context("hotspot-patrol", registry_path))
    assert "**Power guard at assignment:** UNDERPOWERED" in text
    assert "called a reduction 2.6% of the time" in text and "underpowered" in text
    assert "no interference" in er.caveats(ctx)
    running = er.load_context("victim-call", registry_path)
    assert "No results yet" in er.headline(running)
    assert er.primary_table(running).empty and er.displacement_table(running) is None


def test_registration_lists_hypotheses_and_design(ctx):
    reg = er.registration_table(ctx).set_index("item")["registered"]
    assert reg["Primary hypothesis"] == ctx.trial.hypotheses.primary
    assert reg["Decision rule"].startswith("Frequentist rule (registered)")
    assert reg["Strength of evidence"].startswith("SMS level 5")
    assert "Locked" in reg.index


def _tiny_notebook(path):
    nb = new_notebook(
        cells=[
            new_code_cell('trial_id = "x"\nregistry = "r"', metadata={"tags": ["parameters"]}),
            new_code_cell("print('report for', trial_id)"),
        ],
        metadata={
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
        },
    )
    nbformat.write(nb, path)
    return path


def test_never_overwrites_and_rerun_archives(registry_path, tmp_path):
    nb = _tiny_notebook(tmp_path / "tiny.ipynb")
    tf = find_trial(registry_path, "hotspot-patrol")
    first = er.build_effect_report(tf, notebook=nb)
    assert first == tf.dir / "reports" / "effect_report.html"
    assert "report for hotspot-patrol" in first.read_text()
    before = first.read_text()
    with pytest.raises(OverwriteError):
        er.build_effect_report(tf, notebook=nb)
    er.build_effect_report(tf, notebook=nb, rerun=True)
    archived = list((tf.dir / "reports" / "previous").glob("*/effect_report.html"))
    assert len(archived) == 1 and archived[0].read_text() == before


def test_report_refuses_identifiers(registry_path, tmp_path):
    nb = _tiny_notebook(tmp_path / "leak.ipynb")
    leaky = nbformat.read(nb, as_version=4)
    leaky.cells.append(new_code_cell("print('top:', 'OFF-' + '00042')"))
    nbformat.write(leaky, nb)
    from triplet.reports.disclosure import DisclosureError

    tf = find_trial(registry_path, "offender-focus")
    with pytest.raises(DisclosureError):
        er.build_effect_report(tf, notebook=nb)
    assert not (tf.dir / "reports" / "effect_report.html").exists()


def test_effect_report_notebook_runs_on_a_fixture_trial(registry_path):
    """The real notebook, executed (about 10 s)."""
    tf = find_trial(registry_path, "burglary-pop")
    page = er.build_effect_report(tf).read_text()
    for heading in (
        "1. Registration",
        "2. Flow of units (CONSORT)",
        "3. Balance at baseline",
        "6. The primary estimate, as registered",
        "7. Randomisation inference",
        "8. Bayesian estimate",
        "9. Displacement",
        "11. Caveats",
    ):
        assert heading in page
    assert BAYES_FAILED in page
    assert "SYNTHETIC DATA" in page
    assert "data:image/png;base64," in page  # the CONSORT diagram, embedded
    assert "er.load_context" not in page  # code cells hidden for readers
    assert "Traceback" not in page and "Error" not in page.split("<main>")[-1]


def test_displacement_table_labels_the_wdq_and_buffer_did(ctx):
    d = {
        "method": "Weighted Displacement Quotient (Bowers & Johnson 2003)",
        "n_buffer_units": 82,
        "wdq": {
            "wdq": -1.5614,
            "interpretation": "displacement greater than the direct effect (net harm)",
            "counts": {"treated": {"before": 617465.0, "after": 260142.5, "units": 20}},
        },
        "buffer_did": {"percent_change": 0.902, "percent_ci_low": -10.6, "p_value": 0.8773},
        "_figure": "not for readers",
        "extra_note": "kept",
    }
    ctx = er.ReportContext(ctx.trial_file, {**ctx.results, "displacement": d}, None, None)
    t = er.displacement_table(ctx).set_index("measure")["value"]
    assert t["Weighted Displacement Quotient"] == "-1.561"
    assert t["Buffer DiD: change (%)"] == "0.902"
    assert t["Buffer units"] == "82"
    assert t["Treated area: before -> after"] == "617,465 -> 260,142"
    assert t["extra_note"] == "kept"
    assert "_figure" not in " ".join(t.index)


def test_trends_figure_plots_arm_means_of_the_panel(registry_path, monkeypatch):
    import numpy as np
    import pandas as pd

    import triplet.tracking.panel as panel_mod

    months = pd.period_range("2022-01", "2024-12", freq="M")
    rows = []
    for unit, arm in (("u1", "treatment"), ("u2", "treatment"), ("u3", "control")):
        for i, m in enumerate(months):
            rows.append(
                {
                    "unit": unit,
                    "month": m,
                    "arm": arm,
                    "count": 1,
                    "harm": 10.0 * i
                    + (5 if unit == "u2" else 0)
                    + (100 if arm == "control" else 0),
                }
            )
    panel = pd.DataFrame(rows)
    monkeypatch.setattr(panel_mod, "build_panel", lambda tf, a: panel)
    ctx = er.load_context("offender-focus", registry_path)  # has an assignment
    fig = er.trends_figure(ctx)
    lines = {
        ln.get_label(): ln
        for ln in fig.axes[0].get_lines()
        if ln.get_label() in ("treatment", "control")
    }
    np.testing.assert_allclose(lines["treatment"].get_ydata(), 10.0 * np.arange(36) + 2.5)
    np.testing.assert_allclose(lines["control"].get_ydata(), 10.0 * np.arange(36) + 100)
