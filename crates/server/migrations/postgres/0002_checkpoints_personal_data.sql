-- Issue 15: signed checkpoints, purgeable personal data, no rows at sequence <= 0.
-- 0001 is never edited; everything here is added to it.

-- The chain starts at 1: a row at 0 or below is never part of it. Validated against
-- the rows already there, so a ledger that holds one stops the migration (and the
-- start) with the constraint's name.
ALTER TABLE ledger ADD CONSTRAINT ledger_sequence_positive CHECK (sequence > 0);

-- Record format: 1 = the hash covers user_agent and client_network in clear (the
-- records written before this migration; they keep them); 2 = the hash covers
-- user_agent_hash and client_network_hash (salted SHA-256), the columns user_agent and
-- client_network are empty, and the clear values and their salt live in ledger_personal
-- until `ledger purge` deletes them.
ALTER TABLE ledger
    ADD COLUMN format SMALLINT NOT NULL DEFAULT 1,
    ADD COLUMN user_agent_hash BYTEA,
    ADD COLUMN client_network_hash BYTEA;

CREATE TABLE ledger_personal (
    sequence       BIGINT PRIMARY KEY CHECK (sequence > 0),
    recorded_at    BIGINT NOT NULL,
    salt           BYTEA  NOT NULL,
    user_agent     TEXT   NOT NULL,
    client_network TEXT   NOT NULL
);

CREATE INDEX ledger_personal_recorded_at ON ledger_personal (recorded_at);

-- Personal data is written once and deleted by a purge, never changed.
CREATE FUNCTION ledger_personal_no_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'personal data is never changed, only purged';
END;
$$;

CREATE TRIGGER ledger_personal_no_update BEFORE UPDATE ON ledger_personal
    FOR EACH ROW EXECUTE FUNCTION ledger_personal_no_update();

-- Signed checkpoints of the chain's head (a compact JWS each, typ ledger-head+jwt).
CREATE TABLE checkpoints (
    sequence  BIGINT PRIMARY KEY CHECK (sequence > 0),
    hash      BYTEA  NOT NULL,
    signed_at BIGINT NOT NULL,
    kid       TEXT   NOT NULL,
    token     TEXT   NOT NULL
);

CREATE TRIGGER checkpoints_no_update_or_delete BEFORE UPDATE OR DELETE ON checkpoints
    FOR EACH ROW EXECUTE FUNCTION ledger_append_only();

CREATE TRIGGER checkpoints_no_truncate BEFORE TRUNCATE ON checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only();
