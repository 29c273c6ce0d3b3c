"""Parameter injection (papermill-style), execution and offline HTML export."""

from __future__ import annotations

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from triplet.reports.notebooks import (
    INJECTED_TAG,
    NotebookError,
    execute_notebook,
    export_html,
    inject_parameters,
    run_notebook,
)


def _nb(*cells):
    return new_notebook(
        cells=list(cells),
        metadata={
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
        },
    )


def test_injected_cell_goes_after_parameters_and_replaces_an_earlier_one():
    nb = _nb(
        new_markdown_cell("# title"),
        new_code_cell("x = 1", metadata={"tags": ["parameters"]}),
        new_code_cell("print(x)"),
    )
    once = inject_parameters(nb, {"x": 2, "name": "a'b", "path": None})
    assert [c.source for c in nb.cells] == ["# title", "x = 1", "print(x)"]  # input untouched
    assert INJECTED_TAG in once.cells[2].metadata["tags"]
    assert "x = 2" in once.cells[2].source and 'name = "a\'b"' in once.cells[2].source
    twice = inject_parameters(once, {"x": 3})
    injected = [c for c in twice.cells if INJECTED_TAG in c.metadata.get("tags", [])]
    assert len(injected) == 1 and "x = 3" in injected[0].source
    assert len(twice.cells) == 4
    nbformat.validate(twice)


def test_without_parameters_cell_injection_goes_first():
    nb = inject_parameters(_nb(new_code_cell("y = x + 1")), {"x": 1})
    assert nb.cells[0].source.endswith("x = 1")


def test_non_literal_parameter_is_refused():
    with pytest.raises(TypeError):
        inject_parameters(_nb(), {"x": object()})


def test_execute_and_export_self_contained(tmp_path):
    nb = _nb(
        new_code_cell("n = 2", metadata={"tags": ["parameters"]}),
        new_code_cell(
            "import matplotlib\nmatplotlib.use('Agg')\nfrom matplotlib.figure import Figure\n"
            "import io\nfrom IPython.display import Image, display\n"
            "fig = Figure(); fig.subplots().plot(range(n))\nbuf = io.BytesIO()\n"
            "fig.savefig(buf, format='png')\ndisplay(Image(data=buf.getvalue()))\n"
            "print('squares', [i * i for i in range(n)])"
        ),
    )
    path = tmp_path / "nb.ipynb"
    nbformat.write(nb, path)
    out = run_notebook(path, tmp_path / "nb.html", parameters={"n": 4})
    page = out.read_text()
    assert "squares [0, 1, 4, 9]" in page
    assert "data:image/png;base64," in page
    assert "savefig" not in page  # code hidden by default
    assert not [u for u in ("https://", "http://") if f'src="{u}' in page]
    executed = execute_notebook(path, parameters={"n": 3})
    assert "savefig" in export_html(executed, include_code=True)


def test_failing_cell_raises_notebook_error(tmp_path):
    path = tmp_path / "bad.ipynb"
    nbformat.write(_nb(new_code_cell("raise RuntimeError('boom')")), path)
    with pytest.raises(NotebookError, match="boom"):
        execute_notebook(path)
