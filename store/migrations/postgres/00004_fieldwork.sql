-- +goose Up
-- Indexes for the scoped compliance queries, field work and notices.
CREATE INDEX letter_recipients_enterprise ON letter_recipients (enterprise_id);
-- Lists walk these in their order and stop after one page.
CREATE INDEX enterprises_township_name ON enterprises (township, name, id);
CREATE INDEX enterprises_department ON enterprises (department, township, name, id);
-- 企业 名称片段 searches names with LIKE '%…%': a trigram index when pg_trgm is
-- available (a trusted extension since Postgres 13); without it the search
-- scans the table, which is correct, only slower.
-- +goose StatementBegin
DO $$
BEGIN
    CREATE EXTENSION IF NOT EXISTS pg_trgm;
    CREATE INDEX enterprises_name_trgm ON enterprises USING gin (name gin_trgm_ops);
EXCEPTION WHEN OTHERS THEN
    RAISE NOTICE 'pg_trgm is not available (%): name search scans the table', SQLERRM;
END;
$$;
-- +goose StatementEnd
-- Hazard lists page in (deadline, id) order, no deadline last.
CREATE INDEX hazards_open_key ON hazards ((COALESCE(deadline, '9999-12-31')), id) WHERE status IN ('待整改', '整改中', '待复查', '停产整改');
CREATE INDEX hazards_major_open ON hazards ((COALESCE(deadline, '9999-12-31')), id) WHERE grade = '重大' AND status IN ('待整改', '整改中', '待复查', '停产整改');
CREATE INDEX hazards_tracker ON hazards (tracker) WHERE tracker <> '';
CREATE INDEX hazards_inspection ON hazards (inspection_id) WHERE inspection_id IS NOT NULL;
CREATE INDEX inspection_signatures_user ON inspection_signatures (userid, state);
CREATE INDEX notice_recipients_user ON notice_recipients (userid);
CREATE INDEX spot_check_assignments_official ON spot_check_assignments (official);

-- The officials' progress figures per township × department, recomputed when
-- older than a minute (or of another day): sums over these rows answer
-- 本镇进度, 进度 and 全市进度 without aggregating every hazard of the city.
CREATE TABLE progress_snapshot (
    township       TEXT NOT NULL,
    department     TEXT NOT NULL,
    enterprises    INTEGER NOT NULL,
    signed         INTEGER NOT NULL,
    self_inspected INTEGER NOT NULL,
    not_inspected  INTEGER NOT NULL,
    hazards        INTEGER NOT NULL,
    rectified      INTEGER NOT NULL,
    open           INTEGER NOT NULL,
    overdue        INTEGER NOT NULL,
    major          INTEGER NOT NULL,
    major_open     INTEGER NOT NULL,
    PRIMARY KEY (township, department)
);
-- One row: the day the snapshot counts for and when it was computed. The
-- refresher takes its row lock, so only one recomputes at a time.
CREATE TABLE progress_snapshot_meta (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    day         TEXT NOT NULL,
    computed_at TIMESTAMPTZ NOT NULL
);
INSERT INTO progress_snapshot_meta (id, day, computed_at) VALUES (1, '', '2000-01-01 00:00:00');

-- +goose Down
DROP TABLE progress_snapshot_meta;
DROP TABLE progress_snapshot;
DROP INDEX spot_check_assignments_official;
DROP INDEX notice_recipients_user;
DROP INDEX inspection_signatures_user;
DROP INDEX hazards_inspection;
DROP INDEX hazards_tracker;
DROP INDEX hazards_major_open;
DROP INDEX hazards_open_key;
DROP INDEX enterprises_department;
DROP INDEX IF EXISTS enterprises_name_trgm;
DROP INDEX enterprises_township_name;
DROP INDEX letter_recipients_enterprise;
