-- Issue 15: signed checkpoints, purgeable personal data, no rows at sequence <= 0.
-- 0001 is never edited; everything here is added to it.

-- The chain starts at 1: a row at 0 or below is never part of it. SQLite cannot add a
-- CHECK to an existing table without rebuilding it (copying every record at start-up,
-- with the write lock held, on a ledger of millions of records), and a CHECK is no
-- stronger against someone who writes the file than a trigger (PRAGMA
-- ignore_check_constraints turns it off per connection): both stop a faulty writer,
-- `ledger verify` stops the rest. So a trigger, applied in O(1).
CREATE TRIGGER ledger_sequence_positive BEFORE INSERT ON ledger
    WHEN NEW.sequence <= 0
BEGIN
    SELECT RAISE(ABORT, 'ledger sequence must be positive (CHECK (sequence > 0))');
END;

-- Record format: 1 = the hash covers user_agent and client_network in clear (the
-- records written before this migration; they keep them); 2 = the hash covers
-- user_agent_hash and client_network_hash (salted SHA-256), the columns user_agent and
-- client_network are empty, and the clear values and their salt live in ledger_personal
-- until `ledger purge` deletes them.
ALTER TABLE ledger ADD COLUMN format INTEGER NOT NULL DEFAULT 1;
ALTER TABLE ledger ADD COLUMN user_agent_hash BLOB;
ALTER TABLE ledger ADD COLUMN client_network_hash BLOB;

CREATE TABLE ledger_personal (
    sequence       INTEGER PRIMARY KEY CHECK (sequence > 0),
    recorded_at    INTEGER NOT NULL,
    salt           BLOB    NOT NULL,
    user_agent     TEXT    NOT NULL,
    client_network TEXT    NOT NULL
);

CREATE INDEX ledger_personal_recorded_at ON ledger_personal (recorded_at);

-- Personal data is written once and deleted by a purge, never changed.
CREATE TRIGGER ledger_personal_no_update BEFORE UPDATE ON ledger_personal
BEGIN
    SELECT RAISE(ABORT, 'personal data is never changed, only purged');
END;

-- Signed checkpoints of the chain's head (a compact JWS each, typ ledger-head+jwt).
CREATE TABLE checkpoints (
    sequence  INTEGER PRIMARY KEY CHECK (sequence > 0),
    hash      BLOB    NOT NULL,
    signed_at INTEGER NOT NULL,
    kid       TEXT    NOT NULL,
    token     TEXT    NOT NULL
);

CREATE TRIGGER checkpoints_no_update BEFORE UPDATE ON checkpoints
BEGIN
    SELECT RAISE(ABORT, 'the consent ledger is append-only');
END;

CREATE TRIGGER checkpoints_no_delete BEFORE DELETE ON checkpoints
BEGIN
    SELECT RAISE(ABORT, 'the consent ledger is append-only');
END;
