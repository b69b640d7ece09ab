"""Fieldkit's domain: models, rules, policies. Imports no Flask and commits no transaction:
the caller (a route, a CLI command, a sync batch) owns it."""
