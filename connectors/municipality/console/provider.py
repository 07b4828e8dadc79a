"""Signing in with the municipality's own accounts: its OpenID Connect provider, through Authlib.

A municipality already keeps its staff's accounts (Entra ID, Keycloak, an
eHerkenning-backed portal): a client manager who leaves is disabled there,
once. Where a provider is configured, the sign-in page offers it beside
the console's own accounts. The protocol is Authlib's (a maintained client:
the authorization-code flow with PKCE S256, the ID token's signature,
issuer, audience, expiry and nonce checked against the provider's
discovery document and keys), never our own. The console asks the
provider's userinfo endpoint for the name and the groups, and checks that
it speaks of the same subject as the ID token.

The provider decides who someone is and, by a group the municipality names
per role (``--oidc-role ROLE=GROUP``), what they may do here, again at every
sign-in: someone moved out of the client managers' group loses the role at
their next sign-in. An account is made at the first sign-in (so an
administrator gives newcomers to a client manager who has signed in once);
an administrator can still disable it here. Someone in no named group is
refused in words, and nothing is made.

The console's session cookie is SameSite=Lax while a provider is
configured: the provider sends the browser back with a top-level GET from
another site, which a Strict cookie would not accompany, and the session
holds Authlib's state, nonce and PKCE verifier for that return. Every
change is still a POST with a CSRF token on this loopback host.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import requests
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.flask_client import OAuth
from flask import Blueprint, Flask, current_app, redirect, session, url_for
from werkzeug.wrappers import Response

from connectors.consoles.i18n import gettext
from connectors.municipality.console.party import console_of
from connectors.municipality.console.signin import landing, refused, wanted
from connectors.municipality.console.users import (
    ADMINISTRATOR,
    CLIENT_MANAGER,
    POLICY_OFFICER,
    ROLES,
    NameTaken,
)

log = logging.getLogger(__name__)

blueprint = Blueprint("provider", __name__)
NAME = "municipality"
RANK = (ADMINISTRATOR, CLIENT_MANAGER, POLICY_OFFICER)
"""the role given when a person's groups name several: the one that may do the most"""
TIMEOUT_SECONDS = 10.0
"""for each request to the provider (discovery, keys, token, userinfo)"""


@dataclass(frozen=True)
class ProviderSettings:
    """The municipality's provider as the console is registered there."""

    issuer: str
    client_id: str
    client_secret: str
    roles: dict[str, str]
    """a group in the provider's groups claim → the console's role"""
    groups_claim: str = "groups"
    scope: str = "openid profile"
    ca_file: Path | None = None
    """the root the provider's certificate chains to, when the system does not trust it"""

    def role_of(self, claims: dict[str, Any]) -> str | None:
        """The highest role any of the person's groups gives; None when no group names one."""
        groups = claims.get(self.groups_claim)
        if isinstance(groups, str):
            groups = [groups]
        given = {self.roles[g] for g in groups or [] if isinstance(g, str) and g in self.roles}
        return next((role for role in RANK if role in given), None)


OPTIONS = (
    click.option("--oidc-issuer", envvar="GATEWAY_OIDC_ISSUER", default="", metavar="URL",
                 help="the municipality's OpenID Connect provider (https://…); people then sign "
                 "in with their municipality account"),
    click.option("--oidc-client-id", envvar="GATEWAY_OIDC_CLIENT_ID", default="", metavar="ID",
                 help="the console's client id at the provider"),
    click.option("--oidc-client-secret-file", envvar="GATEWAY_OIDC_CLIENT_SECRET_FILE",
                 type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None,
                 help="file holding the console's client secret (never on the command line)"),
    click.option("--oidc-role", "oidc_roles", multiple=True, metavar="ROLE=GROUP",
                 help="a group of the provider's that gives a role here (repeatable; e.g. "
                 "client-manager=inburgering-klantmanagers)"),
    click.option("--oidc-groups-claim", default="groups", show_default=True, metavar="CLAIM",
                 help="the userinfo claim that lists a person's groups"),
    click.option("--oidc-scope", default="openid profile", show_default=True,
                 help="the scopes asked for (add the one that releases the groups claim, if "
                 "the provider has one)"),
    click.option("--oidc-ca-file", type=click.Path(dir_okay=False, exists=True, path_type=Path),
                 default=None, help="the root certificate of the provider's own CA, when this "
                 "machine does not trust it already"),
)  # fmt: skip
"""The console's options for its provider (``command``)."""


def settings_from(
    oidc_issuer: str, oidc_client_id: str, oidc_client_secret_file: Path | None,
    oidc_roles: tuple[str, ...], oidc_groups_claim: str, oidc_scope: str,
    oidc_ca_file: Path | None,
) -> ProviderSettings | None:  # fmt: skip
    """The settings from the console's options; None when no issuer is given. Raises
    click.UsageError for settings that cannot work."""
    if not oidc_issuer:
        return None
    if not oidc_issuer.startswith("https://"):
        raise click.UsageError("--oidc-issuer: the provider's address starts with https://")
    if not oidc_client_id or oidc_client_secret_file is None:
        raise click.UsageError("--oidc-issuer needs --oidc-client-id and --oidc-client-secret-file")
    secret = oidc_client_secret_file.read_text().strip()
    if not secret:
        raise click.UsageError("--oidc-client-secret-file: the file is empty")
    mapping: dict[str, str] = {}
    for given in oidc_roles:
        role, _, group = given.partition("=")
        if role not in ROLES or not group:
            raise click.UsageError(f"--oidc-role: ROLE=GROUP, ROLE one of {', '.join(ROLES)}")
        mapping[group] = role
    if not mapping:
        raise click.UsageError("--oidc-issuer needs at least one --oidc-role ROLE=GROUP")
    if "openid" not in oidc_scope.split():
        raise click.UsageError("--oidc-scope: an OpenID Connect scope includes openid")
    return ProviderSettings(oidc_issuer.rstrip("/"), oidc_client_id, secret, mapping,
                            oidc_groups_claim, oidc_scope, oidc_ca_file)  # fmt: skip


def install(app: Flask, settings: ProviderSettings) -> None:
    """Register the provider with Authlib and serve the sign-in through it."""
    oauth = OAuth(app)
    client = oauth.register(  # type: ignore[no-untyped-call]  # Authlib's stubs leave it open
        NAME,
        client_id=settings.client_id,
        client_secret=settings.client_secret,
        server_metadata_url=f"{settings.issuer}/.well-known/openid-configuration",
        client_kwargs={
            "scope": settings.scope,
            "code_challenge_method": "S256",
            "verify": str(settings.ca_file) if settings.ca_file else True,
            "default_timeout": TIMEOUT_SECONDS,
            "trust_env": False,
        },
    )
    app.extensions["provider"] = (settings, client)
    app.extensions["provider_signout"] = signed_out
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.register_blueprint(blueprint)


def _provider() -> tuple[ProviderSettings, Any]:
    settings, client = current_app.extensions["provider"]
    return settings, client


def _unreachable(error: Exception) -> tuple[str, int]:
    log.warning("console: the sign-in provider failed: %s", type(error).__name__)
    return refused(
        gettext(
            "The municipality's sign-in service cannot be reached now, or answered what the "
            "console cannot use. Try again in a moment; if it lasts, tell the administrator."
        ),
        503,
    )


@blueprint.get("/signin/provider")
def start() -> Any:
    """To the provider's sign-in, with state, nonce and a PKCE challenge kept in the session."""
    settings, client = _provider()
    after = wanted()
    try:
        found = client.load_server_metadata().get("issuer", "").rstrip("/")
        if found != settings.issuer:  # OpenID Connect Discovery 1.0 §4.3: must be the same
            raise ValueError("the discovery document names another issuer")
        answer = client.authorize_redirect(url_for("provider.back", _external=True))
    except (requests.RequestException, AuthlibBaseError, ValueError, KeyError) as error:
        return _unreachable(error)
    session["after_signin"] = after
    return answer


@blueprint.get("/signin/provider/back")
def back() -> Any:
    """The provider's answer: the ID token checked, the person's account and role found."""
    settings, client = _provider()
    try:
        token = client.authorize_access_token()
        subject = str(token["userinfo"]["sub"])
        claims = dict(client.userinfo(token=token))
        if str(claims.get("sub")) != subject:  # OpenID Connect Core 1.0 §5.3.2
            raise ValueError("userinfo speaks of another subject")
    except AuthlibBaseError as error:
        log.warning("console: sign-in at the provider refused: %s", error.error)
        return refused(
            gettext(
                "Signing in at the municipality did not succeed (the answer was not for this "
                "sign-in, was refused, or came too late). Start again from the sign-in page."
            ),
            401,
        )
    except (requests.RequestException, ValueError, KeyError) as error:
        return _unreachable(error)
    return _admit(settings, subject, claims, token.get("id_token"))


def _admit(
    settings: ProviderSettings, subject: str, claims: dict[str, Any], id_token: str | None
) -> Any:
    role = settings.role_of(claims)
    if role is None:
        return refused(
            gettext(
                "Your account at the municipality has no role in this console. An administrator "
                "of the municipality's accounts can add you to the group for client managers, "
                "policy officers or administrators."
            )
        )
    users = console_of().users
    assert users is not None  # a provider is only installed on a console with accounts
    name = str(claims.get("name") or claims.get("preferred_username") or subject)
    try:
        user = users.from_provider(settings.issuer, subject, name, role)
    except NameTaken:
        return refused(
            gettext(
                "An account of this console already has your name. An administrator can "
                "rename or disable that account; then sign in again."
            ),
            409,
        )
    if user is None:
        return refused(gettext("An administrator of this console disabled your account."))
    after = str(session.get("after_signin", ""))
    session.clear()
    session.update(user=user.id, admitted=True, id_token=id_token or "")
    session.permanent = True
    return redirect(after or landing(user), code=303)


def signed_out(id_token: str) -> Response | None:
    """The provider's end of the session too (RP-initiated logout), where it offers one;
    None: the console's own sign-in page."""
    _, client = _provider()
    try:
        if not client.load_server_metadata().get("end_session_endpoint"):
            return None
        answer: Response = client.logout_redirect(
            post_logout_redirect_uri=url_for("signin.signin_page", _external=True),
            id_token_hint=id_token,
        )
    except (requests.RequestException, AuthlibBaseError, RuntimeError):
        return None
    return answer
