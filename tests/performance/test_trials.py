"""Trials on the performance page: delivered dose words (phases are tested in test_monitor)."""

from __future__ import annotations

from triplet.performance.trials import dose_words


def test_dose_words_from_delivery_results():
    assert dose_words({"delivered_share": 0.62}) == "62% of the registered dose delivered to date"
    assert dose_words({"summary": {"dose_share": 0.5}}).startswith("50% of the registered dose")
    # no usable share: say that results exist rather than guess a number
    assert dose_words({"units": []}).startswith("delivery results recorded")
    assert dose_words([1, 2]).startswith("delivery results recorded")
    assert dose_words({"delivered_share": True}).startswith("delivery results recorded")
