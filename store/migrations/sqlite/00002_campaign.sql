-- +goose Up
CREATE TABLE letters (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    campaign_id INTEGER REFERENCES campaigns (id),
    title       TEXT NOT NULL,
    body        TEXT NOT NULL,
    sha256      TEXT NOT NULL,
    deadline    TEXT,                          -- YYYY-MM-DD
    scope       TEXT NOT NULL DEFAULT '{}',
    sender      TEXT NOT NULL,
    task_id     TEXT NOT NULL UNIQUE,
    created_at  TIMESTAMP NOT NULL
);

-- Who a letter was addressed to, frozen when it was sent: the denominator of 签收率.
CREATE TABLE letter_recipients (
    letter_id     INTEGER NOT NULL REFERENCES letters (id),
    enterprise_id INTEGER NOT NULL REFERENCES enterprises (id),
    userid        TEXT NOT NULL,
    PRIMARY KEY (letter_id, enterprise_id)
);
CREATE INDEX letter_recipients_user ON letter_recipients (userid, letter_id);

CREATE TABLE signatures (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    letter_id     INTEGER NOT NULL REFERENCES letters (id),
    enterprise_id INTEGER NOT NULL REFERENCES enterprises (id),
    userid        TEXT NOT NULL,
    signed_at     TIMESTAMP NOT NULL,
    sha256        TEXT NOT NULL,
    method        TEXT NOT NULL CHECK (method IN ('button', 'text')),
    UNIQUE (letter_id, enterprise_id)
);

CREATE TABLE photos (
    sha256       TEXT PRIMARY KEY,
    content_type TEXT NOT NULL,
    size         INTEGER NOT NULL,
    uploaded_by  TEXT NOT NULL,
    created_at   TIMESTAMP NOT NULL
);

CREATE TABLE submissions (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    enterprise_id INTEGER NOT NULL REFERENCES enterprises (id),
    period        TEXT NOT NULL,               -- YYYY-MM
    form_key      TEXT NOT NULL,
    form_version  TEXT NOT NULL,
    version       INTEGER NOT NULL DEFAULT 1,
    answers       TEXT NOT NULL,
    filler        TEXT NOT NULL,
    signer        TEXT NOT NULL DEFAULT '',
    signed_at     TIMESTAMP,
    state         TEXT NOT NULL,
    comment       TEXT NOT NULL DEFAULT '',
    created_at    TIMESTAMP NOT NULL,
    UNIQUE (enterprise_id, period, version)
);
CREATE INDEX submissions_period ON submissions (period, state);

CREATE TABLE hazards (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    enterprise_id INTEGER NOT NULL REFERENCES enterprises (id),
    submission_id INTEGER REFERENCES submissions (id),
    inspection_id INTEGER,
    source        TEXT NOT NULL,
    item_key      TEXT NOT NULL DEFAULT '',
    description   TEXT NOT NULL,
    grade         TEXT NOT NULL,
    status        TEXT NOT NULL,
    deadline      TEXT,                        -- YYYY-MM-DD
    found_at      TIMESTAMP NOT NULL,
    found_by      TEXT NOT NULL,
    closed_at     TIMESTAMP,
    tracker       TEXT NOT NULL DEFAULT '',
    measures      TEXT NOT NULL DEFAULT '',
    owner         TEXT NOT NULL DEFAULT '',
    funds         TEXT NOT NULL DEFAULT '',
    plan          TEXT NOT NULL DEFAULT '',
    photos        TEXT NOT NULL DEFAULT '[]',
    updated_at    TIMESTAMP NOT NULL
);
CREATE INDEX hazards_enterprise ON hazards (enterprise_id, status);
CREATE INDEX hazards_open_deadline ON hazards (deadline) WHERE status IN ('待整改', '整改中', '待复查', '停产整改');

CREATE TABLE hazard_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    hazard_id   INTEGER NOT NULL REFERENCES hazards (id),
    at          TIMESTAMP NOT NULL,
    actor       TEXT NOT NULL,
    from_status TEXT NOT NULL,
    to_status   TEXT NOT NULL,
    note        TEXT NOT NULL DEFAULT '',
    photos      TEXT NOT NULL DEFAULT '[]',
    deadline    TEXT
);
CREATE INDEX hazard_events_hazard ON hazard_events (hazard_id, at);

-- At most one reminder of a kind per target per day.
CREATE TABLE reminders (
    kind    TEXT NOT NULL,
    target  TEXT NOT NULL,
    day     TEXT NOT NULL,
    sent_at TIMESTAMP NOT NULL,
    PRIMARY KEY (kind, target, day)
);

CREATE TABLE inspections (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    kind          TEXT NOT NULL,
    enterprise_id INTEGER NOT NULL REFERENCES enterprises (id),
    inspector     TEXT NOT NULL,
    accompanying  TEXT NOT NULL DEFAULT '',
    led           BOOLEAN NOT NULL DEFAULT FALSE,
    inspected_on  TEXT NOT NULL,               -- YYYY-MM-DD
    items         TEXT NOT NULL DEFAULT '',
    findings      TEXT NOT NULL DEFAULT '',
    rectification TEXT NOT NULL DEFAULT '',
    deadline      TEXT,
    photos        TEXT NOT NULL DEFAULT '[]',
    status        TEXT NOT NULL,
    created_at    TIMESTAMP NOT NULL
);
CREATE INDEX inspections_enterprise ON inspections (enterprise_id, inspected_on);
CREATE INDEX inspections_inspector ON inspections (inspector, inspected_on);

CREATE TABLE inspection_signatures (
    inspection_id INTEGER NOT NULL REFERENCES inspections (id),
    role          TEXT NOT NULL,
    userid        TEXT NOT NULL,
    state         TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'signed', 'refused')),
    reason        TEXT NOT NULL DEFAULT '',
    at            TIMESTAMP,
    PRIMARY KEY (inspection_id, role)
);

CREATE TABLE notices (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    body       TEXT NOT NULL,
    groups     TEXT NOT NULL,
    ack        BOOLEAN NOT NULL DEFAULT FALSE,
    sender     TEXT NOT NULL,
    task_id    TEXT NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE notice_recipients (
    notice_id INTEGER NOT NULL REFERENCES notices (id),
    userid    TEXT NOT NULL,
    acked_at  TIMESTAMP,
    PRIMARY KEY (notice_id, userid)
);

CREATE TABLE spot_checks (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    department TEXT NOT NULL,
    township   TEXT NOT NULL DEFAULT '',
    percent    INTEGER NOT NULL,
    seed       INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE spot_check_assignments (
    spot_check_id INTEGER NOT NULL REFERENCES spot_checks (id),
    enterprise_id INTEGER NOT NULL REFERENCES enterprises (id),
    official      TEXT NOT NULL,
    PRIMARY KEY (spot_check_id, enterprise_id)
);

-- +goose Down
DROP TABLE spot_check_assignments;
DROP TABLE spot_checks;
DROP TABLE notice_recipients;
DROP TABLE notices;
DROP TABLE inspection_signatures;
DROP TABLE inspections;
DROP TABLE reminders;
DROP TABLE hazard_events;
DROP TABLE hazards;
DROP TABLE submissions;
DROP TABLE photos;
DROP TABLE signatures;
DROP TABLE letter_recipients;
DROP TABLE letters;
