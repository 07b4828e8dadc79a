"""The auditor's console: the log read in words, each entry proven included, a newcomer's
trail and the anomalies, on the auditor's machine (``web`` of ``connectors.consoles``)."""
