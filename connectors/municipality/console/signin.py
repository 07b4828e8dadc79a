"""Who is at the console: sign-in, sign-out, roles, and the administrator's users page.

Once the console has accounts (``users``), every page but the sign-in page
needs a signed-in person: the guard here runs before every request, after
the shared one (``web._admit``: the Host check, the language). Without
accounts it lets everything through, and the console is the one person's
it always was (``--staff-name``, the printed token).

Roles decide what a person sees: a policy officer the monitoring figures
only (a dossier is refused in words, not hidden behind a framework's
page); a client manager and an administrator the newcomers, and they act;
only an administrator manages the users and gives newcomers to client
managers.
"""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
)
from werkzeug.wrappers import Response

from connectors.consoles.i18n import N_, gettext
from connectors.municipality.console.party import console_of, signed_in
from connectors.municipality.console.users import (
    FAILURE_WINDOW,
    MAX_FAILURES,
    ROLES,
    Locked,
    User,
    Users,
)

blueprint = Blueprint("signin", __name__)

OPEN = {"static", "signin.signin_page", "signin.signin_post", "provider.start", "provider.back"}
"""what a person not signed in may reach"""
EVERYONE = {"signin.signout", "actions.pull_now"}
"""what every role may do (a pull sends nothing about anyone)"""
ADMINISTRATION = {"signin.users_page", "signin.add_user", "signin.disable_user"}

ROLE_WORDS = {
    "client-manager": N_("client manager"),
    "policy-officer": N_("policy officer"),
    "administrator": N_("administrator"),
}


def role_words(role: str) -> str:
    return gettext(ROLE_WORDS.get(role, role))


def refused(what: str, status: int = 403) -> tuple[str, int]:
    """A refusal as a page in words."""
    return render_template("error.html", status=status, what=what), status


def _accounts() -> Users:
    users = console_of().users
    assert users is not None  # the guard lets these pages through only with accounts
    return users


@blueprint.before_app_request
def guard() -> Any:
    """Signed in (with accounts), and in a role that may open this page."""
    console = console_of()
    if request.endpoint in OPEN or console.users is None or not console.signs_in():
        return None
    user = console.users.get(str(session.get("user", "")))
    if user is None or not user.active:
        session.pop("user", None)
        wanted = request.full_path.rstrip("?")
        return redirect("/signin" + (f"?next={wanted}" if request.method == "GET" else ""))
    g.user = user
    if request.endpoint in ADMINISTRATION:
        if user.administers:
            return None
        return refused(gettext("Only an administrator manages the console's users."))
    if user.acts or request.endpoint in EVERYONE or request.endpoint in console.monitoring:
        return None
    if request.endpoint == "listing.newcomers":
        return redirect("/cohort")
    return refused(
        gettext(
            "As a policy officer you see the monitoring figures only: no dossiers of "
            "newcomers and no actions. A client manager or an administrator can help you."
        )
    )


def wanted() -> str:
    """The page asked for before signing in (``next``), when it is one of this console's."""
    asked = request.args.get("next", "")
    # One of this console's paths, nothing a browser could read as another host: no
    # backslash, no control or space character (a tab made "/\t/evil" into "//evil").
    plain = asked.isascii() and all(" " < c < "\x7f" and c != "\\" for c in asked)
    if plain and asked.startswith("/") and not asked.startswith("//"):
        return asked
    return ""


def landing(user: User) -> str:
    """Where a person lands after signing in: the page asked for, or their start page."""
    return wanted() or ("/" if user.acts else "/cohort")


@blueprint.get("/signin")
def signin_page() -> str | Response:
    if not console_of().signs_in():
        return redirect("/")
    return _page("", "")


@blueprint.post("/signin")
def signin_post() -> tuple[str, int] | Response:
    if not console_of().signs_in():
        return redirect("/", code=303)
    name = request.form.get("name", "")
    try:
        user = _accounts().sign_in(name, request.form.get("password", ""))
    except Locked:
        said = gettext(
            "Too many failed attempts for this name: wait {minutes} minutes and try again, "
            "or ask an administrator."
        ).format(minutes=int(FAILURE_WINDOW.total_seconds() // 60))
        return _page(name, said), 429
    if user is None:
        said = gettext(
            "The name or the password is not right. After {n} failed attempts the name is "
            "refused for {minutes} minutes."
        ).format(n=MAX_FAILURES, minutes=int(FAILURE_WINDOW.total_seconds() // 60))
        return _page(name, said), 401
    session.clear()
    session["user"] = user.id
    session["admitted"] = True
    session.permanent = True
    return redirect(landing(user), code=303)


def _page(name: str, said: str) -> str:
    """The sign-in page: the provider's button where one is configured, the console's own
    form where it has accounts with a password."""
    users = console_of().users
    return render_template(
        "signin.html", name=name, said=said, provider="provider" in current_app.extensions,
        passwords=users is not None and users.any_password(),
    )  # fmt: skip


@blueprint.post("/signout")
def signout() -> Response:
    """Out of the console, and out of the provider's session where it offers that."""
    id_token = str(session.get("id_token", ""))
    session.clear()
    leave = current_app.extensions.get("provider_signout")
    answer: Response | None = leave(id_token) if leave and id_token else None
    return answer or redirect("/signin", code=303)


@blueprint.get("/users")
def users_page() -> str:
    return render_template("users.html", users=_accounts().all(), roles=ROLES)


@blueprint.post("/users")
def add_user() -> Response:
    try:
        made = _accounts().add(
            request.form.get("name", ""),
            request.form.get("role", ""),
            request.form.get("password", ""),
        )
    except ValueError:
        flash(
            gettext(
                "Not made: give a name not in use, a role, and a password of at least 12 "
                "characters."
            ),
            "refusal",
        )
    else:
        flash(gettext("User {name} made.").format(name=made.name), "receipt")
    return redirect("/users", code=303)


@blueprint.post("/users/disable")
def disable_user() -> Response:
    name = request.form.get("name", "")
    if signed_in() is not None and name == g.user.name:
        flash(gettext("You cannot disable your own account."), "refusal")
    elif _accounts().disable(name):
        flash(gettext("User {name} can no longer sign in.").format(name=name), "receipt")
    return redirect("/users", code=303)
