"""Two organizers approving the same applications at once never confirm more than the seats.

One approves through the API, one call per application; the other ticks all
of them in the workspace and approves them at once. The server is gunicorn's
worker processes on PostgreSQL (threads on SQLite), so the two organizers'
requests are decided in different processes, each under the event's seat lock.
"""

import re
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
import sqlalchemy as sa
from organizer_helpers import PASSWORD
from test_api_events import TCTP
from test_concurrency import server  # noqa: F401  (the fixture)

from webinars.core.db import db
from webinars.models import AuditEntry, OutboxMessage, Registration

SEATS_LEFT = 5
APPLICANTS = 20


@pytest.mark.slow
def _csrf(session, url: str) -> str:
    return re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"',
                     session.get(url, timeout=60).text)[1]


def test_two_organizers_approve_twenty_for_five_seats(client, auth, organizer,
                                                      server):  # noqa: F811
    event = dict(TCTP, slug="tctp", capacity=10, verify_email=False)
    assert client.post("/api/v1/events", json=event, headers=auth).status_code == 201
    seated = [client.post("/api/v1/events/tctp/registrations", json={
        "name": f"Early {n}", "email": f"early{n}@example.org"}).json for n in range(5)]
    assert {s["status"] for s in seated} == {"confirmed"}
    client.patch("/api/v1/events/tctp", json={"admission": "approval"}, headers=auth)
    applied = [client.post("/api/v1/events/tctp/registrations", json={
        "name": f"Applicant {n}", "email": f"applicant{n}@example.org"}).json
        for n in range(APPLICANTS)]
    assert {a["status"] for a in applied} == {"pending"}
    db.session.commit()

    ids = [r.id for r in db.session.scalars(sa.select(Registration).where(
        Registration.status == "pending").order_by(Registration.id))]

    # Organizer B, signed in to the workspace, ticks all twenty and approves them at once.
    workspace = requests.Session()
    workspace.post(f"{server}/organizer/login", data={
        "csrf_token": _csrf(workspace, f"{server}/organizer/login"),
        "email": "organizer@example.org", "password": PASSWORD}, timeout=60).raise_for_status()
    page = f"{server}/organizer/events/tctp/registrations?status=pending"
    csrf = _csrf(workspace, page)
    barrier = threading.Barrier(2)

    def organizer_a():  # through the API, one application at a time, in the order they came
        barrier.wait()
        return [requests.post(f"{server}/api/v1/registrations/{a['token']}/approve",
                              headers=auth, timeout=120).status_code for a in applied]

    def organizer_b():  # two ticked at a time, from the last to apply backwards
        barrier.wait()
        decided = 0
        for chunk in (ids[::-1][n:n + 2] for n in range(0, APPLICANTS, 2)):
            answer = workspace.post(f"{server}/organizer/events/tctp/registrations/approve",
                                    data={"csrf_token": csrf, "registration": chunk},
                                    timeout=120)
            assert answer.status_code == 200
            said = re.search(r"(\d+) applications? approved", answer.text)
            decided += int(said[1]) if said else 0
        return decided

    with ThreadPoolExecutor(max_workers=2) as pool:
        a, b = pool.submit(organizer_a), pool.submit(organizer_b)
        codes, by_b = a.result(), b.result()
    assert set(codes) <= {200, 409}, codes
    # Each application was decided exactly once, by one organizer or the other.
    assert codes.count(200) + by_b == APPLICANTS

    db.session.rollback()  # a new transaction sees what both organizers committed
    rows = {r.email: r for r in db.session.scalars(sa.select(Registration))}
    # The order of the decisions, one at a time under the seat lock, is the audit trail's.
    decided = db.session.scalars(sa.select(AuditEntry.field).where(
        AuditEntry.old == "pending").order_by(AuditEntry.id)).all()
    by_id = {r.id: r for r in rows.values()}
    order = [by_id[int(re.search(r"\[(\d+)\]", field)[1])] for field in decided]
    assert len(order) == len(set(decided)) == APPLICANTS
    # The seats went to the first five approved; the others wait in the order approved.
    assert [r.status for r in order] == ["confirmed"] * SEATS_LEFT + \
        ["waitlisted"] * (APPLICANTS - SEATS_LEFT)
    listing = client.get("/api/v1/events/tctp/registrations", headers=auth).json
    waiting = [r["email"] for r in listing["registrations"] if r["status"] == "waitlisted"]
    assert waiting == [r.email for r in order[SEATS_LEFT:]]
    assert [r["waitlist_position"] for r in listing["registrations"]
            if r["status"] == "waitlisted"] == list(range(1, APPLICANTS - SEATS_LEFT + 1))
    assert client.get("/api/v1/events/tctp").json["seats_left"] == 0
    # One decision, one mail each: nothing lost, nothing twice.
    # (a seat's mail carries the first session's invitation; the other three follow alone)
    approved = Counter(db.session.scalars(sa.select(OutboxMessage.recipient).where(
        OutboxMessage.kind == "approved")))
    assert approved == {r.email: 4 if r.status == "confirmed" else 1 for r in order}
