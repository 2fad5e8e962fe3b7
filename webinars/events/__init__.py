"""Events and their sessions: create, edit, reschedule, cancel, time-zone rule changes.

``service`` validates a whole change, applies it under the event lock and
has registrants told; ``queries`` finds events for the doors (lists, the
feed and its version); ``demo`` loads the announcement's events.
"""
