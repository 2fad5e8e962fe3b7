"""Reminders: rows planned per registrant, session and offset, and their sending.

``planning`` writes the rows inside the caller's transaction (a notice, a
promotion, a schedule change); ``sending`` claims and sends what is due;
``queries`` answers what is pending for the scheduler and operators.
"""
