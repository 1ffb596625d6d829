"""The yardstick: verify the HMAC, parse the JSON, one unique INSERT as durable as the bridge's, 202.

Served by gunicorn with the bridge's own gunicorn.conf.py, as a Flask app
(`bench.minimal_receiver:create_app()`) or as a bare WSGI callable
(`bench.minimal_receiver:create_wsgi_app()`). Reads RAZORPAY_WEBHOOK_SECRET and
MINIMAL_DATABASE (a SQLite file path, or a postgresql:// URL).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any

from flask import Flask, request

Answer = tuple[dict[str, Any], int]
_local = threading.local()


def create_schema(database: str) -> None:
    """Create the one table, before the server starts."""
    blob, key = ("BYTEA", "BIGSERIAL") if _is_postgres(database) else ("BLOB", "INTEGER")
    connection = _connect(database)
    connection.execute(
        f"CREATE TABLE IF NOT EXISTS events (id {key} PRIMARY KEY, event_key TEXT NOT NULL UNIQUE,"
        f" body {blob} NOT NULL, received_at REAL NOT NULL)"
    )
    connection.commit()
    connection.close()


def _is_postgres(database: str) -> bool:
    return database.startswith("postgresql")


def _connect(database: str) -> Any:
    if _is_postgres(database):
        import psycopg

        return psycopg.connect(database)
    connection = sqlite3.connect(database, isolation_level=None, check_same_thread=False)
    # The bridge's durability (bridge/store/engine.py): WAL, fsync on every commit, wait for the lock.
    for pragma in ("journal_mode=WAL", "synchronous=FULL", "busy_timeout=30000"):
        connection.execute(f"PRAGMA {pragma}")
    return connection


def insert_event(database: str, event_key: str, body: bytes) -> int | None:
    """Store the delivery once in this thread's connection; None if the key was known."""
    connection = getattr(_local, "connection", None) or _connect(database)
    _local.connection = connection
    mark = "%s" if _is_postgres(database) else "?"
    insert = (
        f"INSERT INTO events (event_key, body, received_at) VALUES ({mark}, {mark}, {mark})"
        " ON CONFLICT (event_key) DO NOTHING RETURNING id"
    )
    if not _is_postgres(database):
        connection.execute("BEGIN IMMEDIATE")  # as the bridge's engine begins every transaction
    row = connection.execute(insert, (event_key, body, time.time())).fetchone()
    connection.commit() if _is_postgres(database) else connection.execute("COMMIT")
    return None if row is None else int(row[0])


def accept(secret: bytes, database: str, body: bytes, signature: str, event_key: str) -> Answer:
    """Verify, parse, store, and say what to answer."""
    expected = hmac.new(secret, body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature.strip().lower()):
        return {"status": "rejected", "error": "bad_signature"}, 401
    try:
        json.loads(body)
    except ValueError:
        return {"status": "rejected", "error": "bad_json"}, 400
    event_id = insert_event(database, event_key or hashlib.sha256(body).hexdigest(), body)
    if event_id is None:
        return {"status": "duplicate"}, 200
    return {"status": "accepted", "event_id": event_id}, 202


def create_app() -> Flask:
    """Return the receiver as a Flask app."""
    secret, database = os.environ["RAZORPAY_WEBHOOK_SECRET"].encode(), os.environ["MINIMAL_DATABASE"]
    app = Flask(__name__)

    @app.post("/webhooks/razorpay")
    def receive() -> Answer:
        headers = request.headers
        signature, event_key = headers.get("X-Razorpay-Signature", ""), headers.get("x-razorpay-event-id", "")
        return accept(secret, database, request.get_data(), signature, event_key)

    return app


WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def create_wsgi_app() -> WsgiApp:
    """Return the receiver as a bare WSGI callable, without any framework."""
    secret, database = os.environ["RAZORPAY_WEBHOOK_SECRET"].encode(), os.environ["MINIMAL_DATABASE"]

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        signature = environ.get("HTTP_X_RAZORPAY_SIGNATURE", "")
        event_key = environ.get("HTTP_X_RAZORPAY_EVENT_ID", "")
        answer, status = accept(secret, database, body, signature, event_key)
        encoded = json.dumps(answer).encode()
        headers = [("Content-Type", "application/json"), ("Content-Length", str(len(encoded)))]
        start_response(f"{status} {HTTPStatus(status).phrase}", headers)
        return [encoded]

    return application
