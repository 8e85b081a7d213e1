-- +goose Up
-- Self-inspection through chat forms (S2, S3, S7).

-- Who filled a submission in which capacity, what an official flagged when
-- sending it back, and the hash of the frozen answers for the audit trail.
ALTER TABLE submissions ADD COLUMN filler_role TEXT NOT NULL DEFAULT '';
ALTER TABLE submissions ADD COLUMN flagged TEXT NOT NULL DEFAULT '[]';      -- item keys to correct, JSON
ALTER TABLE submissions ADD COLUMN returned_by TEXT NOT NULL DEFAULT '';
ALTER TABLE submissions ADD COLUMN returned_at TIMESTAMPTZ;
ALTER TABLE submissions ADD COLUMN sha256 TEXT NOT NULL DEFAULT '';

-- Every photo of a submission, linked to the item it answers.
CREATE TABLE submission_photos (
    submission_id BIGINT NOT NULL REFERENCES submissions (id),
    item_key      TEXT NOT NULL,
    kind          TEXT NOT NULL CHECK (kind IN ('answer', 'problem', 'fixed')),
    sha256        TEXT NOT NULL REFERENCES photos (sha256),
    position      INTEGER NOT NULL,
    PRIMARY KEY (submission_id, item_key, kind, sha256)
);
CREATE INDEX submission_photos_sha ON submission_photos (sha256);

-- A user's unfinished form (one per user). It outlives the conversation row,
-- which other capabilities may overwrite, so 继续 finds it days later.
CREATE TABLE selfcheck_drafts (
    userid          TEXT PRIMARY KEY,
    enterprise_id   BIGINT NOT NULL REFERENCES enterprises (id),
    period          TEXT NOT NULL,               -- YYYY-MM
    base_submission BIGINT REFERENCES submissions (id),
    session         TEXT NOT NULL,
    data            TEXT NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    expires_at      TIMESTAMPTZ NOT NULL,
    warned_at       TIMESTAMPTZ
);
CREATE INDEX selfcheck_drafts_expires ON selfcheck_drafts (expires_at);

-- Secrets made once per installation (e.g. the key that signs report links).
CREATE TABLE install_secrets (
    name       TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);

-- +goose Down
DROP TABLE install_secrets;
DROP TABLE selfcheck_drafts;
DROP TABLE submission_photos;
ALTER TABLE submissions DROP COLUMN sha256;
ALTER TABLE submissions DROP COLUMN returned_at;
ALTER TABLE submissions DROP COLUMN returned_by;
ALTER TABLE submissions DROP COLUMN flagged;
ALTER TABLE submissions DROP COLUMN filler_role;
