-- Operator accounts: the people at the operator (data protection, compliance, support)
-- who read the ledger through /v1/operator/... . Only the SHA-256 of each token is
-- kept; the token itself is printed once by `vivus-consent-server operator add`. Names
-- are never reused, so the request log names one person.
CREATE TABLE operators (
    name       TEXT   PRIMARY KEY,
    token_hash BYTEA  NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);

-- The operator's figures and exports select records by time. The index carries every
-- column the figures read, so they are an index-only scan (a few dozen bytes per
-- record) that never reads the rows with their tokens (about 1 KB each). Its key grows
-- with time, so appends add to its last page.
CREATE INDEX ledger_recorded_at ON ledger (recorded_at)
    INCLUDE (sequence, kind, language, source, policy_accepted, gpc, categories, subject_id);
