-- +goose Up
CREATE TABLE townships (
    id         BIGSERIAL PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE departments (
    id         BIGSERIAL PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE enterprises (
    id             BIGSERIAL PRIMARY KEY,
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
    created_at     TIMESTAMPTZ NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL
);
CREATE INDEX enterprises_township ON enterprises (township, category);
CREATE INDEX enterprises_name ON enterprises (name);

CREATE TABLE people (
    id         BIGSERIAL PRIMARY KEY,
    userid     TEXT NOT NULL UNIQUE,
    name       TEXT NOT NULL,
    role       TEXT NOT NULL CHECK (role IN ('principal', 'safety_officer', 'township', 'department', 'office')),
    township   TEXT NOT NULL DEFAULT '',
    department TEXT NOT NULL DEFAULT '',
    leader     BOOLEAN NOT NULL DEFAULT FALSE,
    phone      TEXT NOT NULL DEFAULT '',
    active     BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX people_role ON people (role, township);

CREATE TABLE contacts (
    enterprise_id BIGINT NOT NULL REFERENCES enterprises (id),
    person_id     BIGINT NOT NULL REFERENCES people (id),
    role          TEXT NOT NULL CHECK (role IN ('principal', 'safety_officer')),
    PRIMARY KEY (enterprise_id, person_id, role)
);
CREATE INDEX contacts_person ON contacts (person_id, role);

CREATE TABLE campaigns (
    id         BIGSERIAL PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    starts_on  TEXT NOT NULL,
    ends_on    TEXT NOT NULL,
    settings   TEXT NOT NULL DEFAULT '{}',
    created_at TIMESTAMPTZ NOT NULL
);

-- Every callback is stored here before it is answered.
CREATE TABLE inbox (
    id           BIGSERIAL PRIMARY KEY,
    dedupe_key   TEXT NOT NULL UNIQUE,
    from_user    TEXT NOT NULL,
    kind         TEXT NOT NULL,
    create_time  TIMESTAMPTZ NOT NULL,
    raw          TEXT NOT NULL,
    received_at  TIMESTAMPTZ NOT NULL,
    processed_at TIMESTAMPTZ,
    attempts     INTEGER NOT NULL DEFAULT 0,
    last_error   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX inbox_pending ON inbox (from_user, create_time, id) WHERE processed_at IS NULL;

-- Every outgoing message is a row before it is a request.
CREATE TABLE outbox (
    id              BIGSERIAL PRIMARY KEY,
    batch           TEXT NOT NULL,              -- rows of one batch share one body and go in one call
    recipient       TEXT NOT NULL,
    kind            TEXT NOT NULL DEFAULT 'send' CHECK (kind IN ('send', 'update')),
    payload         TEXT NOT NULL,
    dedupe_key      TEXT UNIQUE,
    state           TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sending', 'sent', 'failed', 'unknown')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ NOT NULL,
    lease_until     TIMESTAMPTZ,
    claimed_by      TEXT NOT NULL DEFAULT '',
    first_sent_at   TIMESTAMPTZ,
    msgid           TEXT NOT NULL DEFAULT '',
    response_code   TEXT NOT NULL DEFAULT '',
    errcode         INTEGER NOT NULL DEFAULT 0,
    error           TEXT NOT NULL DEFAULT '',
    created_at      TIMESTAMPTZ NOT NULL,
    sent_at         TIMESTAMPTZ
);
CREATE INDEX outbox_due ON outbox (next_attempt_at, id) WHERE state = 'pending';
CREATE INDEX outbox_lease ON outbox (lease_until) WHERE state = 'sending';
CREATE INDEX outbox_batch ON outbox (batch);
CREATE INDEX outbox_recipient_open ON outbox (recipient, id) WHERE state IN ('pending', 'sending');

-- Append-only: the trigger refuses UPDATE and DELETE.
CREATE TABLE audit_log (
    id      BIGSERIAL PRIMARY KEY,
    at      TIMESTAMPTZ NOT NULL,
    actor   TEXT NOT NULL,
    action  TEXT NOT NULL,
    subject TEXT NOT NULL,
    detail  TEXT NOT NULL DEFAULT '{}',
    sha256  TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_subject ON audit_log (subject);

-- +goose StatementBegin
CREATE FUNCTION audit_log_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END;
$$ LANGUAGE plpgsql;
-- +goose StatementEnd
CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();

-- A scheduled job run is claimed here (job name + time slot) before it runs.
CREATE TABLE job_runs (
    job_name    TEXT NOT NULL,
    slot        TEXT NOT NULL,
    owner       TEXT NOT NULL,
    state       TEXT NOT NULL DEFAULT 'running',
    claimed_at  TIMESTAMPTZ NOT NULL,
    lease_until TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ,
    error       TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (job_name, slot)
);

-- Conversation state per user (open form, pending choice …); never in process memory.
CREATE TABLE conversations (
    userid     TEXT PRIMARY KEY,
    kind       TEXT NOT NULL,
    data       TEXT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ
);

-- +goose Down
DROP TABLE conversations;
DROP TABLE job_runs;
DROP TRIGGER audit_log_no_update ON audit_log;
DROP FUNCTION audit_log_append_only;
DROP TABLE audit_log;
DROP TABLE outbox;
DROP TABLE inbox;
DROP TABLE campaigns;
DROP TABLE contacts;
DROP TABLE people;
DROP TABLE enterprises;
DROP TABLE departments;
DROP TABLE townships;
