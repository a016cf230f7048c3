-- The consent ledger. Append-only: the service inserts and never updates or deletes.
-- Each row carries the hash of the row before it, so an edited or deleted row breaks
-- the chain (`vivus-consent-server ledger verify`).
CREATE TABLE ledger (
    sequence        INTEGER PRIMARY KEY,
    consent_id      TEXT    NOT NULL UNIQUE,
    subject_id      TEXT    NOT NULL,
    kind            TEXT    NOT NULL,
    withdraws       TEXT,
    recorded_at     INTEGER NOT NULL,
    policy_version  TEXT    NOT NULL,
    policy_digest   TEXT    NOT NULL,
    language        TEXT    NOT NULL,
    categories      TEXT    NOT NULL,
    policy_accepted INTEGER NOT NULL,
    source          TEXT    NOT NULL,
    gpc             INTEGER NOT NULL,
    user_agent      TEXT    NOT NULL,
    client_network  TEXT    NOT NULL,
    request_hash    BLOB    NOT NULL,
    token           TEXT    NOT NULL,
    prev_hash       BLOB    NOT NULL,
    hash            BLOB    NOT NULL
);

CREATE INDEX ledger_subject ON ledger (subject_id, sequence);

-- Defence in depth: the service never updates or deletes, and these refuse it to
-- anyone else going through SQLite's normal path. Someone who edits the file around
-- them is still caught by the hash chain.
CREATE TRIGGER ledger_no_update BEFORE UPDATE ON ledger
BEGIN
    SELECT RAISE(ABORT, 'the consent ledger is append-only');
END;

CREATE TRIGGER ledger_no_delete BEFORE DELETE ON ledger
BEGIN
    SELECT RAISE(ABORT, 'the consent ledger is append-only');
END;
