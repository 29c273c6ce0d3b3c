"""Run a parameterised notebook with nbclient and export it as self-contained HTML (nbconvert).

Parameters are injected the way papermill does it, without papermill: the cell tagged
``parameters`` holds the defaults; a new cell tagged ``injected-parameters`` is inserted right
after it (replacing an earlier injected cell) assigning the given values, so the notebook's own
defaults stay visible and are overridden. The HTML embeds every image and loads nothing from the
network (no require.js, MathJax or mermaid from a CDN), so it can be mailed or archived as is.
"""

from __future__ import annotations

import copy
import os
import tempfile
from pathlib import Path
from typing import Any

import nbformat
from nbformat import NotebookNode

from triplet.errors import InputError, TripletError
from triplet.io import write_text

__all__ = [
    "NotebookError",
    "execute_notebook",
    "export_html",
    "inject_parameters",
    "run_notebook",
]

TEMPLATES = Path(__file__).parent / "templates"
INJECTED_TAG = "injected-parameters"


class NotebookError(TripletError):
    """A notebook cell raised an error while executing."""


def _literal(value: Any) -> str:
    if isinstance(value, Path):
        value = str(value)
    if isinstance(value, str | int | float | bool | type(None) | list | dict | tuple):
        return repr(value)
    raise TypeError(f"notebook parameter of type {type(value).__name__} is not a literal")


def inject_parameters(nb: NotebookNode, parameters: dict[str, Any]) -> NotebookNode:
    """A copy of ``nb`` with an ``injected-parameters`` cell after the ``parameters`` cell.

    An earlier injected cell is replaced. Without a ``parameters`` cell the injected cell goes
    first. Values must be Python literals (str, numbers, bool, None, lists, dicts, paths).
    """
    nb = copy.deepcopy(nb)
    cells = [c for c in nb.cells if INJECTED_TAG not in c.get("metadata", {}).get("tags", [])]
    at = 0
    for i, cell in enumerate(cells):
        if cell.cell_type == "code" and "parameters" in cell.get("metadata", {}).get("tags", []):
            at = i + 1
            break
    if parameters:
        source = "# Parameters injected by triplet\n" + "\n".join(
            f"{k} = {_literal(v)}" for k, v in parameters.items()
        )
        new = nbformat.v4.new_code_cell(source=source, metadata={"tags": [INJECTED_TAG]})
        cells.insert(at, new)
    nb.cells = cells
    return nb


def execute_notebook(
    notebook: str | Path | NotebookNode,
    *,
    parameters: dict[str, Any] | None = None,
    cwd: str | Path | None = None,
    timeout: int = 900,
    kernel_name: str = "python3",
) -> NotebookNode:
    """Inject ``parameters`` and execute every cell with nbclient; return the executed notebook.

    ``cwd`` is the kernel's working folder (default: the notebook's folder). A failing cell
    raises :class:`NotebookError` naming the cell and the error.
    """
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    if isinstance(notebook, NotebookNode):
        nb, where = notebook, "<notebook>"
    else:
        path = Path(notebook)
        if not path.exists():
            raise InputError(f"notebook not found: {path}", file=path)
        nb, where = nbformat.read(path, as_version=4), str(path)
        cwd = cwd if cwd is not None else path.parent
    nb = inject_parameters(nb, parameters or {})
    env_backend = os.environ.get("MPLBACKEND")
    os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    try:
        # IPC sockets in a private temporary folder: no TCP ports, no stray files in ``cwd``
        with tempfile.TemporaryDirectory(prefix="triplet-kernel-") as sockets:
            km = KernelManager(kernel_name=kernel_name, transport="ipc")
            km.ip = str(Path(sockets) / "kernel")
            client = NotebookClient(
                nb,
                km=km,
                timeout=timeout,
                kernel_name=kernel_name,
                resources={"metadata": {"path": str(cwd or Path.cwd())}},
            )
            try:
                client.execute()
            finally:  # nbclient leaves a kernel it did not create running
                if km.has_kernel:
                    km.shutdown_kernel(now=True)
    except CellExecutionError as exc:
        raise NotebookError(f"{where}: a cell failed while executing:\n{exc}") from None
    finally:
        if env_backend is None:
            os.environ.pop("MPLBACKEND", None)
        else:
            os.environ["MPLBACKEND"] = env_backend
    return nb


def export_html(nb: NotebookNode, *, include_code: bool = False, title: str | None = None) -> str:
    """Self-contained HTML of an executed notebook; input code cells hidden unless asked."""
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(
        template_name="lab",
        extra_template_paths=[str(TEMPLATES)],
        template_file="notebook_offline.html.j2",
        embed_images=True,
        exclude_input=not include_code,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        exclude_anchor_links=True,
    )
    if title:
        nb = copy.deepcopy(nb)
        nb.metadata["title"] = title
    body, _ = exporter.from_notebook_node(nb)
    return body


def run_notebook(
    notebook: str | Path,
    out: str | Path,
    *,
    parameters: dict[str, Any] | None = None,
    include_code: bool = False,
    title: str | None = None,
    overwrite: bool = False,
    timeout: int = 900,
) -> Path:
    """Execute ``notebook`` with ``parameters`` and write it to ``out`` as self-contained HTML."""
    nb = execute_notebook(notebook, parameters=parameters, timeout=timeout)
    return write_text(
        out, export_html(nb, include_code=include_code, title=title), overwrite=overwrite
    )
