"""Who at the sender did it (profile v1.2, issue #30): a message may name the sending
organisation's own pseudonym of the person (``staff``); it is kept with the message, never
handed on, and anything but the pseudonym's shape is refused at its pointer."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from gateway.devtools import demo, synthetic
from gateway.errors import SchemaViolation

pytestmark = pytest.mark.e2e
STAFF = "staff-0123456789abcdef"


def test_a_staff_pseudonym_is_taken_and_not_handed_on(cast: demo.Cast) -> None:
    rng = random.Random(3101)
    coa = cast.client(demo.COA)
    profile = {**demo.profile(synthetic.Newcomer.make(rng), rng, datetime.now(UTC)),
               "staff": STAFF}  # fmt: skip
    assert coa.submit(coa.sign(profile)).status == 202
    utrecht = cast.client(profile["recipient"])
    after = 0
    while True:  # other tests share the inbox: page until this message is found
        page = utrecht.get_json("/v1/inbox", limit=500, after=after)
        mine = [d for d in page["deliveries"] if d["message_id"] == profile["message_id"]]
        if mine or len(page["deliveries"]) < 500:
            break
        after = page["next_cursor"]
    [delivery] = mine
    assert "staff" not in delivery and STAFF not in str(delivery)
    wrong = {**demo.profile(synthetic.Newcomer.make(rng), rng, datetime.now(UTC)),
             "staff": "Marieke de Vries"}  # fmt: skip
    with pytest.raises(SchemaViolation) as refused:
        coa.submit(coa.sign(wrong))
    assert "/staff" in refused.value.detail and "Marieke" not in refused.value.detail
