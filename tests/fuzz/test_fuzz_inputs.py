"""Fuzzing every input format a user hands triplet (issue 10, "keep them closed").

For each format, hypothesis mutates a valid file (replacing, deleting and inserting lines and
characters, changing line endings to CR LF or a lone CR, injecting NUL or non-UTF-8 bytes) and
the reader must either accept it or raise a TripletError whose every problem is one line and
names the file and a line or a field. Readers of row data must account for every row
(kept + skipped == read). Seeds are fixed (derandomize) so a failure reproduces.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from triplet.errors import InputError, Problem, TripletError
from triplet.registry.yamlio import parse_yaml, yaml_line

REPO = Path(__file__).resolve().parents[2]
TRIAL_TEXT = (REPO / "trials" / "hotspot-patrol" / "trial.yaml").read_text(encoding="utf-8")
REGISTRY_TEXT = (REPO / "registry.yaml").read_text(encoding="utf-8")
FUZZ = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# ------------------------------------------------------------------------ mutations of text

JUNK = st.sampled_from(
    [
        "", ":", "- ", "  ", "\t", "{", "}", "[", "]", "'", '"', "#", "&a", "*a", "!!set", "?",
        "null", "~", "-1", "1e999", "nan", ".inf", "2023-02-30", "0x1F", "é", "\u2028",
        "\x85", "\r", "\n", "key: value", "status: bogus", "x" * 300, "`", "|", ">",
    ]
)  # fmt: skip


@st.composite
def mutated(draw, text: str) -> str:
    lines = text.splitlines(keepends=True)
    for _ in range(draw(st.integers(1, 3))):
        i = draw(st.integers(0, max(len(lines) - 1, 0)))
        op = draw(st.sampled_from(["replace", "delete", "insert", "chars", "truncate"]))
        if op == "replace":
            lines[i] = draw(JUNK) + draw(st.text(max_size=20)) + "\n"
        elif op == "delete" and lines:
            del lines[i]
        elif op == "insert":
            lines.insert(i, draw(JUNK) + "\n")
        elif op == "chars" and lines:
            line = lines[i]
            j = draw(st.integers(0, len(line)))
            lines[i] = line[:j] + draw(JUNK) + line[j:]
        elif op == "truncate" and lines:
            lines[i] = lines[i][: draw(st.integers(0, len(lines[i])))]
    out = "".join(lines)
    ending = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    return out.replace("\n", ending) if ending != "\n" else out


def assert_one_line_problems(problems: list[Problem], file_hint: str) -> None:
    assert problems, "an error with no problem listed"
    for p in problems:
        text = str(p)
        assert "\n" not in text and "\r" not in text, f"not one line: {text!r}"
        assert p.file and file_hint in p.file, text
        assert p.line is not None or p.field, f"names neither line nor field: {text}"
        assert "Traceback" not in text


# ------------------------------------------------------------------------ trial.yaml


@FUZZ
@given(text=mutated(TRIAL_TEXT))
def test_trial_yaml(tmp_path_factory, fuzz_cases, text):
    from triplet.registry.validate import validate_trial

    fuzz_cases.hit()
    folder = tmp_path_factory.mktemp("trial") / "hotspot-patrol"
    folder.mkdir()
    path = folder / "trial.yaml"
    path.write_bytes(text.encode("utf-8"))
    _tf, problems = validate_trial(path)  # never raises for bad input
    if problems:
        assert_one_line_problems(problems, "trial.yaml")
        n_lines = len(re.findall("\r\n|[\r\n\x85\u2028\u2029]", text)) + 1
        assert all(p.line is None or 1 <= p.line <= n_lines for p in problems)


@FUZZ
@given(
    text=st.sampled_from([TRIAL_TEXT, REGISTRY_TEXT]),
    ending=st.sampled_from(["\n", "\r\n", "\r"]),
    where=st.floats(0, 1),
    bad=st.sampled_from([b"\x00", b"\xff", b"\xc3("]),
)
def test_binary_bytes_are_reported_at_the_yaml_line(tmp_path, fuzz_cases, text, ending, where, bad):
    """The line of a NUL or a non-UTF-8 byte is counted as the YAML reader counts lines: a
    lone CR is a line break (the known trap)."""
    fuzz_cases.hit()
    body = text.replace("\n", ending)
    cut = int(where * len(body))
    path = tmp_path / "f.yaml"
    path.write_bytes(body[:cut].encode("utf-8") + bad + body[cut:].encode("utf-8"))
    parsed, problems = parse_yaml(path)
    assert parsed is None and len(problems) == 1
    assert problems[0].line == yaml_line(body[:cut])
    assert problems[0].line == body[:cut].replace("\r\n", "\n").replace("\r", "\n").count("\n") + 1


@FUZZ
@given(ending=st.sampled_from(["\r\n", "\r"]), n=st.integers(0, 30))
def test_yaml_lines_agree_with_the_parser(tmp_path, fuzz_cases, ending, n):
    """A syntax error placed on line n+1 is reported on line n+1 whatever the line endings."""
    fuzz_cases.hit()
    body = "".join(f"k{i}: {i}{ending}" for i in range(n)) + "bad: [unclosed" + ending
    path = tmp_path / "f.yaml"
    path.write_bytes(body.encode("utf-8"))
    _, problems = parse_yaml(path)
    assert problems and problems[0].line in (n + 1, n + 2)  # the flow ends at end of file
    assert yaml_line(body[: body.index("bad")]) == n + 1


# ------------------------------------------------------------------------ registry.yaml


@pytest.fixture(scope="module")
def registry_tree(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("registry")
    shutil.copytree(
        REPO / "trials",
        root / "trials",
        ignore=shutil.ignore_patterns(
            "assignment.csv", "lock.json", "results", "reports", "design"
        ),
    )
    return root


@FUZZ
@given(text=mutated(REGISTRY_TEXT))
def test_registry_yaml(registry_tree, fuzz_cases, text):
    from triplet.registry.validate import validate_registry

    fuzz_cases.hit()
    path = registry_tree / "registry.yaml"
    path.write_bytes(text.encode("utf-8"))
    check = validate_registry(path)
    registry_problems = [p for p in check.problems if p.file.endswith("registry.yaml")]
    if registry_problems:
        assert_one_line_problems(registry_problems, "registry.yaml")


# ------------------------------------------------------------------------ police.uk CSVs

HEADER = [
    "Crime ID", "Month", "Reported by", "Falls within", "Longitude", "Latitude", "Location",
    "LSOA code", "LSOA name", "Crime type", "Last outcome category", "Context",
]  # fmt: skip
CELL = st.one_of(
    st.sampled_from(
        ["", "2024-01", "2024-13", "24-01", "Burglary", "Robbery", "Anti-social behaviour",
         "E01000001", "-0.1", "51.5", "nan", "inf", "1e999", "abc", "On or near X", '"', ",",
         "\n", "é", "Unable to prosecute suspect"]
    ),
    st.text(max_size=8),
)  # fmt: skip


def _good_row(i: int) -> list[str]:
    return [f"c{i}", "2024-01", "Met", "Met", "-0.1", "51.5", "On or near X", "E01000001",
            "Name", "Burglary", "", ""]  # fmt: skip


@FUZZ
@given(
    rows=st.lists(
        st.tuples(st.integers(0, 11), CELL),  # a row: one cell replaced
        min_size=1,
        max_size=12,
    ),
    drop_column=st.one_of(st.none(), st.integers(0, 11)),
    ending=st.sampled_from(["\n", "\r\n"]),
)
def test_police_uk_csv(tmp_path_factory, fuzz_cases, rows, drop_column, ending):
    import csv
    import io

    from triplet.records.police_uk import read_police_uk

    fuzz_cases.hit()
    table = []
    for i, (col, value) in enumerate(rows):
        r = _good_row(i)
        r[col] = value
        table.append(r)
    header = list(HEADER)
    if drop_column is not None:
        header.pop(drop_column)
        table = [r[:drop_column] + r[drop_column + 1 :] for r in table]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator=ending)
    w.writerow(header)
    w.writerows(table)
    path = tmp_path_factory.mktemp("pu") / "2024-01-metropolitan-street.csv"
    path.write_bytes(buf.getvalue().encode("utf-8"))
    try:
        r = read_police_uk([path])
    except TripletError as exc:
        assert isinstance(exc, InputError), repr(exc)
        assert_one_line_problems(exc.problems, path.name)
        return
    assert r.n_read == len(table)  # every data row counted ...
    dropped = r.n_read - r.n_kept - r.n_skipped
    assert dropped >= 0 and (dropped == 0 or any("identical" in n for n in r.notes)), r.notes
    for _, s in r.skipped.iterrows():  # ... and every skipped row says where and why
        assert s["row"] and s["reason"]


# ------------------------------------------------------------------------ extract mappings

MAPPING = """\
columns:
  crime_id: REF
  date: WHEN
  crime_type: CAT
  lsoa_code: LSOA
date_format: "%d/%m/%Y %H:%M"
values:
  crime_type: {VIOL: Violence and sexual offences, BURG: Burglary}
constants: {force: Example Constabulary}
"""
EXTRACT = """\
REF,WHEN,CAT,LSOA
1,03/01/2023 14:05,VIOL,E01000001
2,04/02/2023 01:00,BURG,E01000002
3,05/02/2023 01:00,BURG,E01000002
"""


@FUZZ
@given(text=mutated(MAPPING))
def test_extract_mapping(tmp_path_factory, fuzz_cases, text):
    from triplet.records import read_extract

    fuzz_cases.hit()
    folder = tmp_path_factory.mktemp("ex")
    (folder / "x.csv").write_text(EXTRACT, encoding="utf-8")
    (folder / "m.yaml").write_bytes(text.encode("utf-8"))
    try:
        r = read_extract(folder / "x.csv", folder / "m.yaml", key="fuzz-key-0123456789")
    except TripletError as exc:
        assert isinstance(exc, InputError), repr(exc)
        assert_one_line_problems(exc.problems, "")
        assert all(p.file.endswith(("m.yaml", "x.csv")) for p in exc.problems)
        return
    assert r.n_read == 3 and r.n_kept + r.n_skipped == 3


# ------------------------------------------------------------------------ panel CSVs (triplet did)


def _panel_csv() -> str:
    rows = ["unit,time,y,d"]
    for u in range(6):
        for t in range(4):
            rows.append(f"u{u},{t},{(u * 7 + t * 3) % 11 + 0.5 * (u < 3) * (t >= 2)},"
                        f"{int(u < 3 and t >= 2)}")  # fmt: skip
    return "\n".join(rows) + "\n"


PANEL = _panel_csv()


@FUZZ
@given(text=mutated(PANEL))
def test_panel_csv(tmp_path_factory, fuzz_cases, text, capsys):
    from triplet.cli.main import main

    fuzz_cases.hit()
    path = tmp_path_factory.mktemp("panel") / "panel.csv"
    path.write_bytes(text.encode("utf-8"))
    capsys.readouterr()
    code = main(["did", str(path), "--outcome", "y", "--unit", "unit", "--time", "time",
                 "--treated", "d"])  # fmt: skip
    _out, err = capsys.readouterr()
    assert code in (0, 1), err  # 70 would be an internal error; 2 a usage error
    assert "Traceback" not in err and "internal error" not in err
    if code == 1:
        errors = [ln for ln in err.splitlines() if ln.startswith("error ")]
        assert errors, err
        for ln in errors:
            assert str(path) in ln, err
