"""What every domain stands on, knowing nothing of any workflow.

The database and its column types (``db``), the one way to write
(``transactions``) and the one-round-trip path (``roundtrip``), database
outages (``outages``: 503 and one log line each), the clock,
the domain errors every door translates, input validation, time zones and
countries, the public addresses of pages (``links``), configuration.
Nothing here imports another package of webinars.
"""
