"""What every console's web face shares: who may open it, its language, its headers.

Only the person who started the console can use it: the URL it prints
carries a secret token, exchanged at the first visit for a session cookie
(HttpOnly, SameSite=Strict, signed with a key made at start), after which
the token leaves the address bar. A browser keeps cookies per host, not per
port, so each console's cookie has a name of its own (its kind and its
port): signing in to the auditor's console does not sign out of the
municipality's on the same machine. Every form carries a CSRF token
(Flask-WTF), the Host header must name this loopback address (no DNS
rebinding), and every answer says not to cache, not to frame, not to send
a referrer, and to run no script (the consoles have none). A failure is
logged without the path or the message, which may hold a V-number. A
console whose people sign in as themselves (``Party.signs_in``: the
municipality's, once it has accounts) admits by its own sign-in instead of
the token; the cookie, the CSRF tokens and the Host check stay the same.
"""

from __future__ import annotations

import hmac
import logging
import secrets
import signal
import threading
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from types import FrameType
from typing import Any

import click
from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    current_app,
    g,
    redirect,
    render_template,
    request,
    session,
)
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import HTTPException
from werkzeug.serving import make_server

from connectors.common.client import GatewayClient
from connectors.consoles import i18n

MAX_FORM_BYTES = 25 * 1024 * 1024
"""A scanned consent form of a few pages fits; the scan itself never leaves the machine"""

CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
CSP_REPORT = CSP.replace("style-src 'self'", "style-src 'unsafe-inline'")
"""The access report as the gateway wrote it: one page with its own inline style"""


@dataclass
class Party:
    """A console's party: its client, its secret token, its navigation; names by OIN."""

    client: GatewayClient
    token: str
    names: dict[str, str] = field(default_factory=dict)
    """OIN → name, from the gateway's directory"""
    nav: tuple[tuple[str, str, str], ...] = ()
    """(path, words, endpoint) of the header's links"""
    refresh: tuple[str, str] = ("", "")
    """(path, words) of the header's button that fetches anew now"""
    title: str = i18n.N_("Municipality console")
    cookie: str = "municipality_console"
    """the start of the session cookie's name; the port it is served on follows"""
    footer: str = i18n.N_(
        "This console runs on your own machine and shows what the gateway delivered to your "
        "municipality, nothing more."
    )

    def name(self, oin: str | None) -> str:
        if not oin:
            return ""
        if oin not in self.names:
            try:
                self.names.update({p["oin"]: p["name"] for p in self.client.directory()})
            except Exception:
                self.names.setdefault(oin, oin)
        return self.names.get(oin, oin)

    def links(self) -> tuple[tuple[str, str, str], ...]:
        """The header's links for the person reading (all of ``nav`` unless a console with
        roles says otherwise)."""
        return self.nav

    def signs_in(self) -> bool:
        """Whether its people sign in as themselves (then the console's own guard admits
        them, not the printed token)."""
        return False


class _App(Flask):
    def log_exception(self, exc_info: Any) -> None:
        """A failure said without the path (it holds a V-number) or the message (it may hold
        a value): the exception's type and where it was raised."""
        kind, _, trace = exc_info
        where = traceback.format_tb(trace)[-1].strip().splitlines()[0] if trace else "?"
        self.logger.error("console: %s at %s", getattr(kind, "__name__", "?"), where)


def cookie_name(party: Party, port: int) -> str:
    """The session cookie's name: the console's kind and port, so that two consoles on one
    host (cookies are not kept per port) never overwrite each other's."""
    return f"{party.cookie}_{port}"


def console_app(
    party: Party, blueprints: Iterable[Blueprint], port: int = 0, **template_globals: Any
) -> Flask:
    """A console's app; ``CONSOLE_PORT`` in its config is the port it is reached on."""
    app = _App(__name__)
    app.config.update(
        SECRET_KEY=secrets.token_bytes(32),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_NAME=cookie_name(party, port),
        PERMANENT_SESSION_LIFETIME=timedelta(hours=12),
        MAX_CONTENT_LENGTH=MAX_FORM_BYTES,
        WTF_CSRF_TIME_LIMIT=None,  # bound to the session, which ends with the console
        WTF_CSRF_SSL_STRICT=False,  # plain http on loopback; the Host check stands in
        CONSOLE_PORT=port,
    )
    app.extensions["console"] = party
    CSRFProtect(app)
    app.jinja_env.add_extension("jinja2.ext.i18n")
    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]
        i18n.gettext, i18n.ngettext, newstyle=True
    )
    app.jinja_env.globals.update(console=party, languages=i18n.LANGUAGES, **template_globals)

    app.before_request(_admit)
    app.after_request(_headers)
    app.register_error_handler(CSRFError, _csrf_refused)
    app.register_error_handler(HTTPException, _refused)
    for blueprint in blueprints:
        app.register_blueprint(blueprint)
    return app


def _admit() -> Any:
    """Only this loopback address, in the reader's language, and only once admitted by the
    printed token (swapped for a session cookie)."""
    party = current_app.extensions["console"]
    bound = current_app.config["CONSOLE_PORT"]
    if request.host not in (f"127.0.0.1:{bound}", f"localhost:{bound}"):
        abort(400)
    i18n.set_language(
        i18n.chosen(
            request.args.get("lang") or request.cookies.get("lang"),
            list(request.accept_languages),
        )
    )
    g.language = i18n.current_language()
    if request.endpoint == "static":
        return None
    if party.signs_in():
        return redirect(request.path) if "token" in request.args else None
    given = request.args.get("token")
    if given is not None:
        if not hmac.compare_digest(given.encode(), party.token.encode()):
            abort(403)
        session.clear()
        session["admitted"] = True
        session.permanent = True
        return redirect(request.path)
    if not session.get("admitted"):
        abort(403)
    return None


def _headers(response: Response) -> Response:
    """No script, no framing, no caching, no referrer: on every answer."""
    inline = response.headers.pop("X-Console-Style", None) == "inline"
    response.headers["Content-Security-Policy"] = CSP_REPORT if inline else CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Cache-Control"] = "no-store"
    if request.args.get("lang") in i18n.LANGUAGES:
        response.set_cookie("lang", str(request.args["lang"]), samesite="Strict", httponly=True)
    return response


def _csrf_refused(error: CSRFError) -> tuple[str, int]:
    return render_template(
        "error.html",
        status=400,
        what=i18n.gettext(
            "This form had expired or did not come from this console. Go back, reload the "
            "page and send it again."
        ),
    ), 400


def _refused(error: HTTPException) -> tuple[str, int]:
    """Every refusal as a page in words, never the framework's."""
    status = error.code or 500
    what = {
        403: i18n.gettext(
            "Open the console with the address it printed when it started "
            "(it holds a secret token)."
        ),
        404: i18n.gettext("There is nothing at this address."),
        413: i18n.gettext("The file is too large (at most 25 MB)."),
    }.get(status, i18n.gettext("The request could not be handled."))
    return render_template("error.html", status=status, what=what), status


def party_of() -> Any:
    return current_app.extensions["console"]


def serve(
    app: Flask,
    party: Party,
    port: int,
    what: str,
    *,
    start: Callable[[], None],
    stop: Callable[[], None],
) -> None:
    """Serve ``app`` on 127.0.0.1:``port`` (0: any free one) until SIGTERM or Ctrl-C, with
    the console's background work begun by ``start`` and ended by ``stop``.

    Prints the one address to open (with the token); Werkzeug's access log is off,
    because it would print every path, V-numbers and the token among them.
    """
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = make_server("127.0.0.1", port, app, threaded=True)
    app.config["CONSOLE_PORT"] = server.server_port
    app.config["SESSION_COOKIE_NAME"] = cookie_name(party, server.server_port)
    click.echo(
        f"{what} of {party.client.oin} at http://127.0.0.1:{server.server_port}/"
        f"?token={party.token}\n(open that address; the token is new at every start)"
    )

    def on_term(signum: int, frame: FrameType | None) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, on_term)
    start()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        stop()
        click.echo("console stopped")
