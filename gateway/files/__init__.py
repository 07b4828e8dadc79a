"""The adapter that reads the gateway's own files: the schemas and the policy, the
gettext catalogues, the access report's page, and a JWK from a key file.

The domain opens no file (so it judges the same documents wherever they came from,
and a test hands it a dict); this package reads them and hands the domain values,
as storage does for the database. It may import the domain; the domain never imports
it (``lint-imports``). Each module is imported on its own, so a command that needs the
schemas loads neither jinja2 nor Babel.
"""
