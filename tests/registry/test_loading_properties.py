"""Property tests: no input makes loading or `triplet validate` fail with anything but InputError."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import random
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from triplet.cli.main import main
from triplet.errors import InputError
from triplet.registry import load_trial
from triplet.registry.loading import check_registry
from triplet.registry.yamlio import yaml_line

REPO = Path(__file__).resolve().parents[2]
HOTSPOT = (REPO / "trials/hotspot-patrol/trial.yaml").read_text()

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20)
    | st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2100, 1, 1))
)
structures = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(max_size=12) | st.integers(), children, max_size=5)
    ),
    max_leaves=25,
)

YAML_SNIPPETS = [
    "id: x\n",
    "{",
    "}",
    "[",
    "]",
    ":",
    "- ",
    "  ",
    "\t",
    "&a ",
    "*a ",
    "!!binary ",
    "!!set ",
    "? ",
    "|\n",
    ">-\n",
    "'",
    '"',
    "#",
    "---\n",
    "...\n",
    "%YAML 1.2\n",
    "\x00",
    "\ufeff",
    "2023-02-30",
    "0x",
    ".nan",
    "~",
    "<<: *a\n",
    "!tag ",
    "\\",
    "\r\n",
]


def assert_only_input_error(path: Path) -> None:
    try:
        tf = load_trial(path)
    except InputError as exc:
        assert exc.problems, "an InputError must carry at least one problem"
        # lines as the YAML reader counts them (CR LF, a lone CR, LF, NEL, LS, PS each end one)
        text = path.read_bytes().decode("utf-8", errors="replace") if path.exists() else ""
        n_lines = yaml_line(text)
        for p in exc.problems:
            assert p.message
            assert p.line is None or 1 <= p.line <= n_lines
    else:
        assert tf.trial.id


def dump(data: Any) -> str:
    buf = io.StringIO()
    YAML(typ="safe", pure=True).dump(data, buf)
    return buf.getvalue()


def set_at(data: dict, rng: random.Random, value: Any) -> dict:
    """Replace (or delete, or add) a randomly chosen key somewhere inside ``data``."""
    node: Any = data
    while True:
        if isinstance(node, dict) and node:
            key = rng.choice(list(node))
            if rng.random() < 0.5 and isinstance(node[key], dict | list) and node[key]:
                node = node[key]
                continue
            action = rng.random()
            if action < 0.2:
                del node[key]
            elif action < 0.3:
                node[f"{key}_x"] = value
            else:
                node[key] = value
            return data
        if isinstance(node, list) and node:
            i = rng.randrange(len(node))
            if rng.random() < 0.5 and isinstance(node[i], dict | list) and node[i]:
                node = node[i]
                continue
            node[i] = value
            return data
        return data


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.text(max_size=300))
def test_arbitrary_text(text: str) -> None:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "trial.yaml"
        path.write_bytes(text.encode("utf-8", "replace"))
        assert_only_input_error(path)


@settings(max_examples=100, deadline=None)
@given(data=st.binary(max_size=200))
def test_arbitrary_bytes(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "trial.yaml"
        path.write_bytes(data)
        assert_only_input_error(path)


@settings(max_examples=150, deadline=None)
@given(data=structures)
def test_arbitrary_yaml_structures(data: Any) -> None:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "trial.yaml"
        path.write_text(dump(data))
        assert_only_input_error(path)


@settings(max_examples=80, deadline=None)
@given(value=structures, seed=st.integers(0, 2**32 - 1))
def test_mutated_registrations(value: Any, seed: int) -> None:
    """Replace, delete or add one field anywhere in a real registration."""
    base = YAML(typ="safe", pure=True).load(HOTSPOT)
    mutated = set_at(base, random.Random(seed), value)
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "trial.yaml"
        path.write_text(dump(mutated))
        assert_only_input_error(path)


@settings(max_examples=80, deadline=None)
@given(
    edits=st.lists(
        st.tuples(st.integers(0, len(HOTSPOT)), st.sampled_from(YAML_SNIPPETS), st.integers(0, 5)),
        min_size=1,
        max_size=4,
    )
)
def test_corrupted_yaml_text(edits: list[tuple[int, str, int]]) -> None:
    """Insert YAML syntax fragments and delete characters at random places of a real file."""
    text = HOTSPOT
    for pos, snippet, n_delete in edits:
        pos = min(pos, len(text))
        text = text[:pos] + snippet + text[pos + n_delete :]
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "trial.yaml"
        path.write_text(text, encoding="utf-8")
        assert_only_input_error(path)


@settings(max_examples=40, deadline=None)
@given(
    registry=structures | st.text(max_size=80),
    trial=st.sampled_from(
        ["", "{", "id: [", HOTSPOT, HOTSPOT.replace("seed: 20231204", "seed: x")]
    ),
)
def test_validate_cli_never_tracebacks(registry: Any, trial: str) -> None:
    with tempfile.TemporaryDirectory() as d:
        root = Path(d)
        text = registry if isinstance(registry, str) else dump(registry)
        if isinstance(registry, dict) and registry:
            text = dump(
                {
                    "name": "x",
                    "trials": [
                        {
                            "id": "hotspot-patrol",
                            "folder": "trials/hotspot-patrol",
                            "intervention": "hot_spot_micro_patrol",
                        }
                    ],
                    **{str(k): v for k, v in registry.items()},
                }
            )
        (root / "registry.yaml").write_text(text, encoding="utf-8", errors="replace")
        (root / "trials/hotspot-patrol").mkdir(parents=True)
        (root / "trials/hotspot-patrol/trial.yaml").write_text(trial)
        check = check_registry(root / "registry.yaml")  # never raises
        stderr = io.StringIO()
        stdout = io.StringIO()
        with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(stdout):
            code = main(["validate", str(root / "registry.yaml")])
        assert code == (0 if check.ok and not check.problems else 1)
        assert "Traceback" not in stderr.getvalue()
        assert "internal error" not in stderr.getvalue()
        if code == 1:
            assert "problem" in stderr.getvalue()
