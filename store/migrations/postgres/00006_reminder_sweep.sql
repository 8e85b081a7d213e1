-- +goose Up
-- The reminder sweep (store/remind.go) reads the unsigned (letter, enterprise)
-- pairs every working day. Found as an anti-join of letter_recipients against
-- signatures, that reads both tables whole although only a few percent of the
-- pairs are unsigned. letter_recipients.signed is kept equal to "a signature
-- of the pair exists" by the triggers below, so a partial index holds exactly
-- the unsigned pairs and the sweep reads only those. Recipients are inserted
-- with their letter, in its transaction, before any signature of it can
-- exist, so only changes to signatures need a trigger.
ALTER TABLE letter_recipients ADD COLUMN signed BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE letter_recipients r SET signed = TRUE
    WHERE EXISTS (SELECT 1 FROM signatures sg WHERE sg.letter_id = r.letter_id AND sg.enterprise_id = r.enterprise_id);
CREATE INDEX letter_recipients_unsigned ON letter_recipients (letter_id, enterprise_id) WHERE NOT signed;
-- The planner's statistics of the new column, at once.
ANALYZE letter_recipients;

-- One statement-level function for the three triggers (a bulk insert of
-- signatures updates the recipients in one join, not row by row).
-- +goose StatementBegin
CREATE FUNCTION letter_recipients_track_signed() RETURNS trigger AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE letter_recipients r SET signed = FALSE FROM old_rows o
            WHERE r.letter_id = o.letter_id AND r.enterprise_id = o.enterprise_id AND r.signed
              AND NOT EXISTS (SELECT 1 FROM signatures sg WHERE sg.letter_id = r.letter_id AND sg.enterprise_id = r.enterprise_id);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        UPDATE letter_recipients r SET signed = TRUE FROM new_rows n
            WHERE r.letter_id = n.letter_id AND r.enterprise_id = n.enterprise_id AND NOT r.signed;
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
-- +goose StatementEnd
CREATE TRIGGER signatures_signed_insert AFTER INSERT ON signatures
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION letter_recipients_track_signed();
CREATE TRIGGER signatures_signed_update AFTER UPDATE ON signatures
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION letter_recipients_track_signed();
CREATE TRIGGER signatures_signed_delete AFTER DELETE ON signatures
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION letter_recipients_track_signed();

-- +goose Down
DROP TRIGGER signatures_signed_delete ON signatures;
DROP TRIGGER signatures_signed_update ON signatures;
DROP TRIGGER signatures_signed_insert ON signatures;
DROP FUNCTION letter_recipients_track_signed;
DROP INDEX letter_recipients_unsigned;
ALTER TABLE letter_recipients DROP COLUMN signed;
