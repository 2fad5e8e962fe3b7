"""Mail: composing RFC 5322 bytes, the outbox table, the transports, and the pump.

Knows nothing of registrations or reminders: those compose their own texts
and hand the bytes to :func:`webinars.mail.outbox.queue`, inside their
write transaction; delivery follows the commit.
"""
