"""The baseline: the smallest Flask endpoint that does what a registration must.

Parse the JSON body and insert one row with psycopg (no ORM, no locking, no
mail), under the same gunicorn settings as the app: the stack's own limit.
"""

from __future__ import annotations

import os

import psycopg
from flask import Flask, jsonify, request

app = Flask(__name__)
_conn: psycopg.Connection | None = None


def connection() -> psycopg.Connection:
    # One connection per worker process: sync workers serve one request at a time.
    global _conn
    if _conn is None or _conn.closed:
        _conn = psycopg.connect(os.environ["BARE_DATABASE_URL"])
    return _conn


@app.post("/api/v1/events/<slug>/registrations")
def register(slug: str):
    data = request.get_json()
    conn = connection()
    with conn.cursor() as cur:
        cur.execute("INSERT INTO bare_registrations (event, name, email) VALUES (%s, %s, %s)"
                    " RETURNING id", (slug, data["name"], data["email"]))
        (row_id,) = cur.fetchone()
    conn.commit()
    return jsonify({"id": row_id, "status": "confirmed"}), 201


@app.get("/rows/<int:row_id>")
def read(row_id: int):
    conn = connection()
    with conn.cursor() as cur:
        cur.execute("SELECT id, name, email FROM bare_registrations WHERE id = %s", (row_id,))
        row = cur.fetchone()
    conn.commit()
    return jsonify({"id": row[0], "name": row[1], "email": row[2]})


@app.get("/healthz")
def healthz():
    """What bench/common.warm_up sends: answered from the worker's database connection."""
    conn = connection()
    with conn.cursor() as cur:
        cur.execute("SELECT 1")
    conn.commit()
    return jsonify({"status": "ok"})
