"""What both consoles share: the web face (token, CSRF, Host check, headers), the
templates and style, the translation catalogues, the local SQLite file, the options.
Knows neither party: each party's ``console`` package builds on it."""
