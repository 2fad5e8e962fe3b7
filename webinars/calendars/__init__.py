"""How a session appears in someone's calendar: every ``.ics`` the app serves or mails,
the "add to calendar" links, and a session's times in two zones for mails.
"""
