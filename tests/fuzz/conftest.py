"""The fuzz suite (issue 10, "keep them closed"): hostile inputs give a result or a one-line
error naming file, line and field; never a traceback, never a silent drop.

Each test records how many generated cases it ran (``user_properties["fuzz_cases"]``, which
pytest-xdist carries back to the controller); the terminal summary (tests/conftest.py, loaded on the xdist controller too) prints
the total.
"""

from __future__ import annotations

import pytest


@pytest.fixture
def fuzz_cases(request):
    """A counter: ``fuzz_cases.hit()`` once per generated case; reported at the end.

    The count lives in the test's ``user_properties`` (updated in place), so it is in the
    call-phase report that pytest-xdist sends back to the controller.
    """
    entry = ["fuzz_cases", 0]
    request.node.user_properties.append(entry)

    class Counter:
        def hit(self) -> None:
            entry[1] += 1

    return Counter()
