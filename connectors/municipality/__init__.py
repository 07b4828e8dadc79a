"""A municipality's connector, as a script uses it: pull the inbox into the case system,
record consent, assignments and plans, read the newcomers placed with it.

The names are handed on from where they live (the pager and the sinks are
shared with the provider's brief puller; ``Pins``, COA's keys pinned here, is what
a version-2 profile is verified against); the municipality's commands are in
``cli``, its console in ``console``.
"""

from connectors.common.inbox import PullResult, follow, pull_once, verified
from connectors.common.issuers import Pins
from connectors.common.sinks import brief_file, delivery_file, folder_sink, webhook_sink
from connectors.municipality.messages import (
    assign,
    declare,
    placed_newcomers,
    send_plan,
    subject_of,
    utc,
    withdraw,
)

__all__ = [
    "Pins",
    "PullResult",
    "assign",
    "brief_file",
    "declare",
    "delivery_file",
    "folder_sink",
    "follow",
    "placed_newcomers",
    "pull_once",
    "send_plan",
    "subject_of",
    "utc",
    "verified",
    "webhook_sink",
    "withdraw",
]
