"""The Logboek Dataverwerkingen adapter: each processing as an OpenTelemetry span,
written as one JSON line per record to a file the operator ships to the logbook.

Beside storage in the layers: the composition root builds it (``Logbook``) and
hands it to the services as their ``ProcessingLog`` port.
"""
