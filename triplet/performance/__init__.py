"""Performance monitoring for the Board: is harm going up or down, and is this month unusual?

One concept per module:

- :mod:`~triplet.performance.framework`: ``performance.yaml`` (pydantic models, file:line errors,
  JSON Schema)
- :mod:`~triplet.performance.populations`: the places and people an indicator watches
- :mod:`~triplet.performance.series`: each indicator's monthly series from the records
- :mod:`~triplet.performance.expected`: expected values with prediction intervals (seasonal
  quasi-Poisson GLM)
- :mod:`~triplet.performance.spc`: XmR, Laney u' and seasonal u' charts; run rules
- :mod:`~triplet.performance.icons`: NHS "Making Data Count" variation and assurance icons
- :mod:`~triplet.performance.funnel`: funnel plots (Spiegelhalter 2005)
- :mod:`~triplet.performance.ytd`: year to date against the same months last year
- :mod:`~triplet.performance.simulate`: false-signal and detection rates of the rules
- :mod:`~triplet.performance.trials`: registered trials: phase, months remaining, coverage, dose
- :mod:`~triplet.performance.page`: the self-contained HTML page
- :mod:`~triplet.performance.monitor`: ``triplet monitor``: runs it all; the page, CSV and JSON

A monitored change is not an effect estimate: only trials estimate effects.
"""
