"""Continuity: what keeps the receipted data when a machine, a disk or a key is lost
(issue #33).

The operator's side of it, beside the server and below the command line:

- backups and their restore, checked against the log before anything is served:
  ``backups`` (SQLite's online copy, the files moved into place), ``logcheck`` (every
  entry, tree node and checkpoint of a copy verified), ``restore`` (the witnesses asked,
  the restore entered in the log), ``receipts`` (senders' receipts accounted for),
  ``report`` and ``procedures`` (the steps each command takes);
- the rotation of the instance's own secrets: ``rotation`` (the signing key, with an
  overlap in which old and new both verify) and ``rewrap`` (the master key, every data
  key rewrapped without reading a body).

The standby is PostgreSQL's own (streaming replication with synchronous commit); what the
gateway expects of it is in docs/deploy.md. Each room brings its click commands
(``backup_commands``, ``secret_commands``), which ``gateway.cli`` adds.
"""
