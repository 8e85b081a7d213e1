-- +goose Up
-- Indexes for the scoped compliance queries, field work and notices.
CREATE INDEX letter_recipients_enterprise ON letter_recipients (enterprise_id);
CREATE INDEX enterprises_department ON enterprises (department, township);
CREATE INDEX hazards_tracker ON hazards (tracker) WHERE tracker <> '';
CREATE INDEX hazards_inspection ON hazards (inspection_id) WHERE inspection_id IS NOT NULL;
CREATE INDEX inspection_signatures_user ON inspection_signatures (userid, state);
CREATE INDEX notice_recipients_user ON notice_recipients (userid);
CREATE INDEX spot_check_assignments_official ON spot_check_assignments (official);

-- +goose Down
DROP INDEX spot_check_assignments_official;
DROP INDEX notice_recipients_user;
DROP INDEX inspection_signatures_user;
DROP INDEX hazards_inspection;
DROP INDEX hazards_tracker;
DROP INDEX enterprises_department;
DROP INDEX letter_recipients_enterprise;
