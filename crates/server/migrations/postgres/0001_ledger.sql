-- The consent ledger. Append-only: the service inserts and never updates or deletes.
-- Each row carries the hash of the row before it, so an edited or deleted row breaks
-- the chain (`vivus-consent-server ledger verify`). Several service instances may
-- share this table; they serialize appends with a transaction-level advisory lock.
CREATE TABLE ledger (
    sequence        BIGINT  PRIMARY KEY,
    consent_id      TEXT    NOT NULL UNIQUE,
    subject_id      TEXT    NOT NULL,
    kind            TEXT    NOT NULL,
    withdraws       TEXT,
    recorded_at     BIGINT  NOT NULL,
    policy_version  TEXT    NOT NULL,
    policy_digest   TEXT    NOT NULL,
    language        TEXT    NOT NULL,
    categories      TEXT    NOT NULL,
    policy_accepted BOOLEAN NOT NULL,
    source          TEXT    NOT NULL,
    gpc             BOOLEAN NOT NULL,
    user_agent      TEXT    NOT NULL,
    client_network  TEXT    NOT NULL,
    request_hash    BYTEA   NOT NULL,
    token           TEXT    NOT NULL,
    prev_hash       BYTEA   NOT NULL,
    hash            BYTEA   NOT NULL
);

CREATE INDEX ledger_subject ON ledger (subject_id, sequence);

-- Defence in depth: the service never updates or deletes, and this refuses it to
-- anyone else without the rights to drop the trigger. Someone who goes around it is
-- still caught by the hash chain.
CREATE FUNCTION ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the consent ledger is append-only';
END;
$$;

CREATE TRIGGER ledger_no_update_or_delete BEFORE UPDATE OR DELETE ON ledger
    FOR EACH ROW EXECUTE FUNCTION ledger_append_only();

CREATE TRIGGER ledger_no_truncate BEFORE TRUNCATE ON ledger
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only();
