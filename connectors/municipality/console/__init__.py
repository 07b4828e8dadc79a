"""A municipality's console: the connector with a web face, on the municipality's side.

It holds the municipality's key, talks to the gateway only through the
contract (docs/interface.md), keeps what it pulled in its own SQLite file,
and serves a small server-rendered UI on 127.0.0.1 behind a secret per-start
token, with CSRF protection on every form. It never imports the gateway's
server: what a client manager sees is what the municipality received.
"""
