"""Registrations: seats, the waiting list, what registrants hear, and who came.

``seats`` decides (register, cancel, promote, fill free seats) under the
event's seat lock; ``queries`` holds every rule that reads them (seats
left, open or closed, the order of arrival); ``mails`` composes what a
registrant hears; ``notices`` turns a new registration's promise of mail
into mail after the seat's commit; ``broadcast`` is an organizer's message
to registrants; ``attendance`` is the check-in per session.

A new rule about who gets a seat (approval, questions, invitations) belongs
in ``seats``, with the state it needs in ``models`` and what the person is
told in ``mails``.
"""
