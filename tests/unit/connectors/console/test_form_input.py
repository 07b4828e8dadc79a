"""The console's forms on input a person (or a script) can send: each is a FormError said in
words, never a 500 (``months=abc``, ``signed_on=9999-12-31`` and hours ``²`` were)."""

from __future__ import annotations

import pytest
from flask import Flask
from werkzeug.datastructures import MultiDict

from connectors.municipality.console import actions
from connectors.municipality.console.planform import FormError, plan_from_form

PLAN = {"dated": "2026-01-10", "route": "b1-route", "level": "B1", "literacy": "NVT"}


@pytest.mark.parametrize("text", ["9999-12-31", "0001-01-01", "2026-13-01"])
def test_a_date_outside_1900_2100_or_none_is_said(text: str) -> None:
    form = {"signed_on": text}
    with Flask(__name__).test_request_context(method="POST", data=form), \
            pytest.raises(FormError, match="signed_on"):  # fmt: skip
        actions._day("signed_on")


@pytest.mark.parametrize(("form", "said"), [
    ({"signed_on": "2099-06-01"}, "(na vandaag|after today): signed_on"),  # nl, or en
    ({"months": "abc"}, "1 (tot|to) 60 (maanden|months)"),  # as an earlier test left it
    ({"months": "²"}, "1 (tot|to) 60 (maanden|months)"),
    ({"months": "61"}, "1 (tot|to) 60 (maanden|months)"),
])  # fmt: skip
def test_the_consent_form_says_what_is_wrong(form: dict[str, str], said: str) -> None:
    with Flask(__name__).test_request_context(method="POST", data=form), \
            pytest.raises(FormError, match=said):  # fmt: skip
        actions._signed_on() if "signed_on" in form else actions._months()


@pytest.mark.parametrize(("members", "field"), [
    ({"estimated_hours_b1": "²"}, "estimated_hours_b1"),
    ({"dated": "9999-12-31"}, "dated"),
])  # fmt: skip
def test_the_plan_form_says_what_is_wrong(members: dict[str, str], field: str) -> None:
    with pytest.raises(FormError, match=field):
        plan_from_form(MultiDict({**PLAN, **members}), None)
