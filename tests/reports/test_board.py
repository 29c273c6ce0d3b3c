"""The Board page: numbers match results.json, no identifiers, small counts suppressed."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import pytest

from triplet.errors import InputError, OverwriteError
from triplet.reports.board import (
    BAYES_FAILED,
    BoardConfig,
    BoardTrial,
    build_board,
    plain_question,
    render_board,
)
from triplet.reports.disclosure import DisclosureError, IdentifierSet
from triplet.reports.formatting import format_percent, format_probability


class _Numbers(HTMLParser):
    """Collect every element with data-field: (trial, field, data-value or None, text)."""

    def __init__(self):
        super().__init__()
        self.found: list[tuple[str, str, str | None, str]] = []
        self.pooled: list[tuple[str, str, str | None, str]] = []
        self._open: list[dict] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "data-field" in a:
            self._open.append({**a, "_text": ""})

    def handle_endtag(self, tag):
        if tag == "span" and self._open:
            a = self._open.pop()
            if "data-trial" in a:
                self.found.append(
                    (a["data-trial"], a["data-field"], a.get("data-value"), a["_text"])
                )
            else:
                self.pooled.append(
                    (a["data-pooled"], a["data-field"], a.get("data-value"), a["_text"])
                )

    def handle_data(self, data):
        self.text.append(data)
        if self._open:
            self._open[-1]["_text"] += data


def _numbers(page: str) -> _Numbers:
    p = _Numbers()
    p.feed(page)
    return p


def _get(d, dotted):
    for part in dotted.split("."):
        d = d[part]
    return d


@pytest.fixture
def entries(make_trial, results_dict):
    return [
        BoardTrial(make_trial("hotspot-patrol"), results_dict("hotspot-patrol")),
        BoardTrial(
            make_trial("burglary-pop", intervention="problem_oriented_policing"),
            results_dict(
                "burglary-pop",
                pct=4.26,
                lo=-8.91,
                hi=19.04,
                p_reduction=0.3149,
                n_treatment=12,
                n_control=15,
            ),
        ),
        BoardTrial(
            make_trial("cctv-matched", method="matched_control", intervention="cctv"),
            results_dict(
                "cctv-matched",
                pct=-9.0,
                lo=-20.0,
                hi=3.0,
                bayes_status="failed",
                n_treatment=3,
                n_control=6,
            ),
        ),
        BoardTrial(
            make_trial("victim-call", status="in_field", intervention="victim_focused"), None
        ),
    ]


def test_every_number_on_the_page_equals_results_json(entries):
    board = render_board(entries, registry_name="Example CSP")
    by_id = {e.trial.id: e.results for e in entries}
    persons = {e.trial.id: e.trial.units.kind.value == "person" for e in entries}
    nums = _numbers(board.html).found
    assert len(nums) >= 3 * 4  # effect, interval, counts for the analysed trials
    checked = set()
    for trial, field, value, text in nums:
        expected = _get(by_id[trial], field)
        if value is not None:  # exact JSON value on the element
            assert json.loads(value) == expected
        if field.startswith(("primary.percent", "bayesian.percent")):
            assert text == format_percent(expected)
            assert abs(float(text.rstrip("%")) - expected) <= 0.05 + 1e-12
        elif field == "bayesian.p_reduction":
            assert text == format_probability(expected)
            assert abs(float(text) - expected) <= 0.005 + 1e-12
        elif field in ("primary.estimate", "primary.ci_low", "primary.ci_high"):
            assert text == f"{expected:+.3g}"  # the absolute effect beside the per cent
        elif field.startswith("n_units."):
            small = persons[trial] and 0 < expected < 10  # only counts of people suppressed
            assert text == ("<10" if small else f"{expected:,}")
        else:
            pytest.fail(f"unexpected field {field}")
        checked.add((trial, field))
    # every analysed trial shows its effect, interval and unit counts
    for tid in ("hotspot-patrol", "burglary-pop", "cctv-matched"):
        for f in (
            "primary.percent_change",
            "primary.percent_ci_low",
            "primary.percent_ci_high",
            "n_units.treatment",
            "n_units.control",
        ):
            assert (tid, f) in checked
    assert ("hotspot-patrol", "bayesian.p_reduction") in checked
    assert ("hotspot-patrol", "primary.estimate") in checked  # twfe_did: absolute effect shown
    assert ("cctv-matched", "bayesian.p_reduction") not in checked  # the model failed
    assert not any(t == "victim-call" for t, *_ in nums)  # still running: no numbers


def test_verdicts_and_messages_on_the_page(entries):
    board = render_board(entries, registry_name="Example CSP")
    rows = board.summary().set_index("id")
    assert rows.loc["hotspot-patrol", "verdict"] == "reduction in this trial"
    assert rows.loc["hotspot-patrol", "headline"] == "Reduced crime harm in this trial"
    assert rows.loc["burglary-pop", "verdict"] == "no clear change in this trial"
    assert rows.loc["cctv-matched", "verdict"] == "no clear change in this trial"
    assert rows.loc["cctv-matched", "sms"] == 3
    assert rows.loc["victim-call", "verdict"] == "too early to say"
    assert BAYES_FAILED in board.html
    assert "SYNTHETIC" in board.html
    assert 'src="data:image/png;base64,' in board.html  # forest plot embedded
    assert "http://" not in board.html and "https://" not in board.html  # self-contained
    assert "Pooled results need at least 2 analysed trials" in board.html
    for label in (
        "reduction in this trial",
        "increase in this trial",
        "no clear change in this trial",
        "too early to say",
        "works",
        "does not work",
        "promising",
        "unknown",
    ):
        assert f"<strong>{label}</strong>" in board.html  # every rule and standard printed
    assert "Frequentist rule (registered)" in board.html  # each trial's own rule
    assert "at least two level 3 evaluations" in board.html  # the standard, paraphrased and cited


def test_body_of_evidence_is_per_intervention_type(entries):
    """A single trial that found a reduction makes its type 'promising', never 'works'."""
    import re as _re

    html = render_board(entries, registry_name="X").html
    row = _re.search(r'<tr data-intervention="Hot-spot micro-patrol">(.*?)</tr>', html, _re.S)
    assert row and 'class="verdict ev-promising">promising<' in row.group(1)
    assert "one trial is not enough" in row.group(1)


def test_small_counts_of_places_are_shown_as_they_are(entries):
    # issue 10, defect 13: suppression protects people; 6 cameras' places reveal no one
    assert {e.trial.id: e.trial.units.kind.value for e in entries}["cctv-matched"] == "place"
    html = render_board(entries, registry_name="X").html
    nums = {(t, f): (v, txt) for t, f, v, txt in _numbers(html).found}
    small = [
        (k, txt) for k, (_v, txt) in nums.items() if k[1].startswith("n_units.") and "<" in txt
    ]
    assert small == []
    treated = nums[("cctv-matched", "n_units.treatment")]
    assert treated[1] == treated[0] and int(treated[0]) < 10
    assert nums[("burglary-pop", "n_units.treatment")] == ("12", "12")
    cfg = BoardConfig(threshold=20)
    nums = {
        (t, f): txt
        for t, f, _v, txt in _numbers(
            render_board(entries, registry_name="X", config=cfg).html
        ).found
    }
    assert nums[("burglary-pop", "n_units.treatment")] == "12"
    assert nums[("hotspot-patrol", "n_units.treatment")] == "40"
    cctv = next(t for t in render_board(entries, registry_name="X").to_dict()["trials"]
                if t["id"] == "cctv-matched")  # fmt: skip
    assert cctv["n_treatment"] == treated[0]


def test_identifiers_in_unshown_results_never_reach_the_page(entries, make_trial, results_dict):
    pseudonym = "p_" + "3f" * 8
    raw = "OFF-77812"
    r = results_dict("offender-focus")
    r["primary"]["notes"] = f"largest residual {pseudonym} ({raw})"
    r["displacement"] = {"top_units": [pseudonym, raw]}
    r["analyses"][1]["notes"] = raw
    trial = make_trial("offender-focus", kind="person", intervention="offender_focused")
    ids = IdentifierSet.of([pseudonym, raw], "assignment.csv:unit")
    board = render_board([*entries, BoardTrial(trial, r)], registry_name="X", identifiers=ids)
    for text in (board.html, json.dumps(board.to_dict()), "\n".join(board.forest.labels())):
        assert pseudonym not in text and raw not in text
        assert not re.search(r"p_[0-9a-f]{16}", text)


@pytest.mark.parametrize("where", ["title", "description"])
def test_writer_refuses_when_an_identifier_would_be_shown(entries, make_trial, results_dict, where):
    raw = "OFF-77812"
    base = make_trial("offender-focus", kind="person", intervention="other")  # desc. shown
    if where == "title":
        trial = base.model_copy(update={"title": f"Focused deterrence for {raw}"})
    else:
        iv = base.intervention.model_copy(update={"description": f"Visits to {raw} weekly"})
        trial = base.model_copy(update={"intervention": iv})
    ids = IdentifierSet.of([raw], "assignment.csv:unit")
    with pytest.raises(DisclosureError, match="refusing to write"):
        render_board(
            [*entries, BoardTrial(trial, results_dict("offender-focus"))],
            registry_name="X",
            identifiers=ids,
        )


def test_pseudonym_pattern_refused_without_an_identifier_list(entries, make_trial, results_dict):
    trial = make_trial("p-test").model_copy(update={"title": "Follow-up of p_00ff00ff00ff00ff"})
    with pytest.raises(DisclosureError):
        render_board([*entries, BoardTrial(trial, results_dict("p-test"))], registry_name="X")


def test_plain_question(make_trial):
    assert plain_question(make_trial()) == (
        "Does hot-spot micro-patrolling reduce crime harm in the LSOAs that get it?"
    )
    person = make_trial(kind="person", intervention="offender_focused")
    assert plain_question(person) == (
        "Does offender-focused management reduce crime harm among the offenders who get it?"
    )
    other = make_trial(intervention="other")
    iv = other.intervention.model_copy(
        update={"description": "SYNTHETIC example. Street lighting upgrades. Other text."}
    )
    other = other.model_copy(update={"intervention": iv})
    assert plain_question(other) == (
        "Does street lighting upgrades reduce crime harm in the LSOAs that get it?"
    )


def test_board_config_file(tmp_path):
    assert BoardConfig.load(tmp_path / "board.yaml") == BoardConfig()
    (tmp_path / "board.yaml").write_text("threshold: 5\ntitle: Safer Town\n")
    assert BoardConfig.load(tmp_path / "board.yaml") == BoardConfig(5, "Safer Town")
    (tmp_path / "board.yaml").write_text("threshold: 0\n")
    with pytest.raises(InputError, match="threshold"):
        BoardConfig.load(tmp_path / "board.yaml")
    (tmp_path / "board.yaml").write_text("treshold: 5\n")
    with pytest.raises(InputError, match="unknown keys"):
        BoardConfig.load(tmp_path / "board.yaml")


def test_to_dict_is_json_ready(entries):
    d = render_board(entries, registry_name="X").to_dict()
    json.dumps(d, allow_nan=False)
    assert d["trials"][0]["id"] == "hotspot-patrol"


# --- the whole Board build from a registry on disk -------------------------------------------


def test_build_board_keeps_planted_identifiers_off_the_page(registry_path, planted, tmp_path):
    out = build_board(registry_path, tmp_path / "board.html")
    page = out.read_text()
    for ident in planted:
        assert ident not in page
    assert not re.search(r"p_[0-9a-f]{6,}", page)
    rows = {t: (f, txt) for t, f, _v, txt in _numbers(page).found if f == "n_units.treatment"}
    assert rows["offender-focus"] == ("n_units.treatment", "<10")  # 6 offenders: suppressed


@pytest.mark.parametrize("which", range(7))
def test_build_board_refuses_if_a_planted_identifier_would_show(
    registry_path, planted, which, tmp_path
):
    import yaml

    ident = planted[which]
    trial_yaml = registry_path.parent / "trials" / "burglary-pop" / "trial.yaml"
    data = yaml.safe_load(trial_yaml.read_text())
    data["title"] = f"Problem-solving with {ident} in mind"
    trial_yaml.write_text(yaml.safe_dump(data, sort_keys=False))
    out = tmp_path / "board.html"
    with pytest.raises(DisclosureError):
        build_board(registry_path, out)
    assert not out.exists()


def test_build_board_never_overwrites_and_reads_board_yaml(registry_path, tmp_path):
    out = tmp_path / "board.html"
    build_board(registry_path, out)
    with pytest.raises(OverwriteError):
        build_board(registry_path, out)
    (registry_path.parent / "board.yaml").write_text("threshold: 50\ntitle: Safer Fixture\n")
    build_board(registry_path, out, rerun=True)
    page = out.read_text()
    assert "Safer Fixture" in page
    nums = {(t, f): txt for t, f, _v, txt in _numbers(page).found}
    assert nums[("offender-focus", "n_units.treatment")] == "<50"  # people: suppressed
    assert nums[("hotspot-patrol", "n_units.treatment")] == "40"  # places: shown
    assert len(list((tmp_path / "previous").glob("*/board.html"))) == 1
    build_board(registry_path, tmp_path / "b2.html", threshold=5)
    nums = {(t, f): txt for t, f, _v, txt in _numbers((tmp_path / "b2.html").read_text()).found}
    assert nums[("offender-focus", "n_units.treatment")] == "6"


# --- pooled results per intervention type ---------------------------------------------------


def _two_hot_spot_trials(make_trial, results_dict):
    a = results_dict("hot-a", pct=-18.0, lo=-30.0, hi=-4.0)
    b = results_dict("hot-b", pct=-9.0, lo=-21.0, hi=5.0)
    return [
        BoardTrial(make_trial("hot-a", title="Hot spots A"), a),
        BoardTrial(make_trial("hot-b", title="Hot spots B"), b),
        BoardTrial(
            make_trial("pop-c", intervention="problem_oriented_policing"), results_dict("pop-c")
        ),
        BoardTrial(make_trial("hot-running", status="in_field"), None),  # not pooled
    ]


def test_pooled_rows_equal_the_pooling_module(make_trial, results_dict):
    pooling = pytest.importorskip("triplet.tracking.pooling")
    entries = _two_hot_spot_trials(make_trial, results_dict)
    board = render_board(entries, registry_name="X", config=BoardConfig(pool_bayesian=False))
    expected = pooling.pool_results(
        [entries[0].results, entries[1].results], bayesian=False
    ).to_dict()
    assert list(board.pooled["intervention"]) == ["Hot-spot micro-patrol"]
    assert board.pooled.loc[0, "k"] == 2
    spans = {f: (v, txt) for _k, f, v, txt in _numbers(board.html).pooled}
    for field in ("percent_change", "percent_ci_low", "percent_ci_high"):
        value, text = spans[f"pooled.{field}"]
        assert json.loads(value) == expected[field]
        assert text == format_percent(expected[field])
    assert "pooled.p_reduction" not in spans  # frequentist only: no probability
    assert expected["method"] == "random effects (REML + HKSJ)"
    assert "REML + HKSJ" in board.html  # the page says which method
    sens = expected["frequentist"]["tau_prior_sensitivity"]
    assert [s["tau_prior_sigma"] for s in sens] == [0.25, 0.5, 1.0]
    for i, s in enumerate(sens):  # prior sensitivity for tau, on the page
        value, text = spans[f"pooled.tau_sensitivity.{i}.percent_change"]
        assert json.loads(value) == s["percent_change"] and text == format_percent(
            s["percent_change"]
        )
    assert "Types with a single analysed trial" in board.html
    assert "Pooled: Hot-spot micro-patrol" in "\n".join(board.forest.labels())


@pytest.mark.slow
def test_pooled_bayesian_probability_on_the_page_or_its_failure(make_trial, results_dict):
    pytest.importorskip("triplet.tracking.pooling")
    pooling = pytest.importorskip("triplet.tracking.pooling")
    entries = _two_hot_spot_trials(make_trial, results_dict)
    board = render_board(entries, registry_name="X")
    expected = pooling.pool_results([entries[0].results, entries[1].results]).to_dict()
    spans = {f: (v, txt) for _k, f, v, txt in _numbers(board.html).pooled}
    if expected["bayesian"]["status"] == "ok":
        assert json.loads(spans["pooled.p_reduction"][0]) == expected["p_reduction"]
        assert "Bayesian" in board.pooled.loc[0, "method"]
    else:  # a failed fit is never reported as a probability
        assert "pooled.p_reduction" not in spans
        assert "Bayesian pooled estimate failed convergence checks" in board.html
    assert json.loads(spans["pooled.percent_change"][0]) == expected["percent_change"]
