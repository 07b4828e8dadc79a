"""Continuity: what keeps the receipted data when a machine, a disk or a key is lost
(issue #33).

The operator's side of it, beside the server and below the command line: backups and
their restore, checked against the log before anything is served (``backups``), and the
rotation of the instance's own secrets (``rotation``): the signing key with an overlap in
which both verify, the master key by rewrapping every data key without reading a body.
The standby is PostgreSQL's own (streaming replication with synchronous commit); what the
gateway expects of it is in docs/deploy.md. Each room brings its click commands
(``backup_commands``, ``secret_commands``), which ``gateway.cli`` adds.
"""
