-- +goose Up
CREATE TABLE townships (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
);

CREATE TABLE departments (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
);

CREATE TABLE enterprises (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    credit_code    TEXT NOT NULL UNIQUE,
    name           TEXT NOT NULL,
    township       TEXT NOT NULL REFERENCES townships (name),
    sector         TEXT NOT NULL DEFAULT '',
    category       TEXT NOT NULL,
    small_type     TEXT NOT NULL DEFAULT '',
    key_unit       BOOLEAN NOT NULL DEFAULT FALSE,
    department     TEXT NOT NULL DEFAULT '',
    phone          TEXT NOT NULL DEFAULT '',
    address        TEXT NOT NULL DEFAULT '',
    last_inspected TEXT,                       -- YYYY-MM-DD in the campaign time zone
    active         BOOLEAN NOT NULL DEFAULT TRUE,
    created_at     TIMESTAMP NOT NULL,
    updated_at     TIMESTAMP NOT NULL
);
CREATE INDEX enterprises_township ON enterprises (township, category);
CREATE INDEX enterprises_name ON enterprises (name);

CREATE TABLE people (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    userid     TEXT NOT NULL UNIQUE,
    name       TEXT NOT NULL,
    role       TEXT NOT NULL CHECK (role IN ('principal', 'safety_officer', 'township', 'department', 'office')),
    township   TEXT NOT NULL DEFAULT '',
    department TEXT NOT NULL DEFAULT '',
    leader     BOOLEAN NOT NULL DEFAULT FALSE,
    phone      TEXT NOT NULL DEFAULT '',
    active     BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX people_role ON people (role, township);

CREATE TABLE contacts (
    enterprise_id INTEGER NOT NULL REFERENCES enterprises (id),
    person_id     INTEGER NOT NULL REFERENCES people (id),
    role          TEXT NOT NULL CHECK (role IN ('principal', 'safety_officer')),
    PRIMARY KEY (enterprise_id, person_id, role)
);
CREATE INDEX contacts_person ON contacts (person_id, role);

CREATE TABLE campaigns (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT NOT NULL UNIQUE,
    starts_on  TEXT NOT NULL,
    ends_on    TEXT NOT NULL,
    settings   TEXT NOT NULL DEFAULT '{}',
    created_at TIMESTAMP NOT NULL
);

-- Every callback is stored here before it is answered.
CREATE TABLE inbox (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    dedupe_key   TEXT NOT NULL UNIQUE,
    from_user    TEXT NOT NULL,
    kind         TEXT NOT NULL,
    create_time  TIMESTAMP NOT NULL,
    raw          TEXT NOT NULL,
    received_at  TIMESTAMP NOT NULL,
    processed_at TIMESTAMP,
    attempts     INTEGER NOT NULL DEFAULT 0,
    last_error   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX inbox_pending ON inbox (from_user, create_time, id) WHERE processed_at IS NULL;

-- Every outgoing message is a row before it is a request.
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    batch           TEXT NOT NULL,              -- rows of one batch share one body and go in one call
    recipient       TEXT NOT NULL,
    kind            TEXT NOT NULL DEFAULT 'send' CHECK (kind IN ('send', 'update')),
    payload         TEXT NOT NULL,
    dedupe_key      TEXT UNIQUE,
    state           TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sending', 'sent', 'failed', 'unknown')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    lease_until     TIMESTAMP,
    claimed_by      TEXT NOT NULL DEFAULT '',
    first_sent_at   TIMESTAMP,
    msgid           TEXT NOT NULL DEFAULT '',
    response_code   TEXT NOT NULL DEFAULT '',
    errcode         INTEGER NOT NULL DEFAULT 0,
    error           TEXT NOT NULL DEFAULT '',
    created_at      TIMESTAMP NOT NULL,
    sent_at         TIMESTAMP
);
CREATE INDEX outbox_due ON outbox (next_attempt_at, id) WHERE state = 'pending';
CREATE INDEX outbox_lease ON outbox (lease_until) WHERE state = 'sending';
CREATE INDEX outbox_batch ON outbox (batch);
CREATE INDEX outbox_recipient_open ON outbox (recipient, id) WHERE state IN ('pending', 'sending');

-- Append-only: the trigger refuses UPDATE and DELETE.
CREATE TABLE audit_log (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    at      TIMESTAMP NOT NULL,
    actor   TEXT NOT NULL,
    action  TEXT NOT NULL,
    subject TEXT NOT NULL,
    detail  TEXT NOT NULL DEFAULT '{}',
    sha256  TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_subject ON audit_log (subject);

-- +goose StatementBegin
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
-- +goose StatementEnd

-- A scheduled job run is claimed here (job name + time slot) before it runs.
CREATE TABLE job_runs (
    job_name    TEXT NOT NULL,
    slot        TEXT NOT NULL,
    owner       TEXT NOT NULL,
    state       TEXT NOT NULL DEFAULT 'running',
    claimed_at  TIMESTAMP NOT NULL,
    lease_until TIMESTAMP NOT NULL,
    finished_at TIMESTAMP,
    error       TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (job_name, slot)
);

-- Conversation state per user (open form, pending choice …); never in process memory.
CREATE TABLE conversations (
    userid     TEXT PRIMARY KEY,
    kind       TEXT NOT NULL,
    data       TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP
);

-- +goose Down
DROP TABLE conversations;
DROP TABLE job_runs;
DROP TRIGGER audit_log_no_update;
DROP TRIGGER audit_log_no_delete;
DROP TABLE audit_log;
DROP TABLE outbox;
DROP TABLE inbox;
DROP TABLE campaigns;
DROP TABLE contacts;
DROP TABLE people;
DROP TABLE enterprises;
DROP TABLE departments;
DROP TABLE townships;
