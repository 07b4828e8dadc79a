"""A witness of transparency logs (C2SP tlog-witness): ``gateway connect auditor witness``.

Another organisation (the auditor, a municipality, the Inspectie) runs one
so that the gateway cannot show one audit log to some parties and another to
others: the witness cosigns a checkpoint only when it extends the last one
it cosigned. The protocol's decisions are the client package's
(``gateway.client.witness``); here are what a witness adds around them: its
own state file (``state``), its HTTP server on the standard library
(``server``) and its commands (``command``). Imports no Flask.
"""
