-- +goose Up
-- Reminder scans (store/remind.go). Hazards that still need work are a few
-- percent of the table, and most closed ones have a deadline in the past,
-- so a plain condition on deadline makes the planner expect thousands of
-- overdue rows and hash-join whole tables. These expression indexes carry
-- the deadline of open hazards only (NULL otherwise) and give the planner
-- statistics of exactly that: the scans use the same expressions.
CREATE INDEX hazards_open_due ON hazards ((CASE WHEN status IN ('待整改', '整改中', '待复查', '停产整改') THEN deadline END));
CREATE INDEX hazards_actionable_due ON hazards ((CASE WHEN status IN ('待整改', '整改中', '停产整改') THEN deadline END));
-- Rectifications waiting for review.
CREATE INDEX hazards_review ON hazards (enterprise_id) WHERE status = '待复查';

-- +goose Down
DROP INDEX hazards_review;
DROP INDEX hazards_actionable_due;
DROP INDEX hazards_open_due;
