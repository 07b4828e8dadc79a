"""A municipality's consent records for one of its newcomers."""

from __future__ import annotations

from gateway.domain import policy, rights
from gateway.domain.parties import Party
from gateway.domain.records import History
from gateway.service.services import Services


def history(services: Services, municipality: Party, v_number: str) -> History:
    """The declarations and withdrawals recorded for this newcomer with ``municipality``.

    Raises NotAuthorised for a role that reads no consent, BadRequest when
    ``v_number`` is not a V-nummer.
    """
    policy.require(municipality.role, policy.READ_CONSENTS)
    rights.check_v_number(v_number)
    subject = services.pseudonym(v_number)
    return services.store.consent.histories(municipality.oin, [subject])[subject]
