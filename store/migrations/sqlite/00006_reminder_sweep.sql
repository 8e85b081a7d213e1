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
UPDATE letter_recipients SET signed = TRUE
    WHERE EXISTS (SELECT 1 FROM signatures sg WHERE sg.letter_id = letter_recipients.letter_id AND sg.enterprise_id = letter_recipients.enterprise_id);
CREATE INDEX letter_recipients_unsigned ON letter_recipients (letter_id, enterprise_id) WHERE NOT signed;

-- +goose StatementBegin
CREATE TRIGGER signatures_signed_insert AFTER INSERT ON signatures
BEGIN
    UPDATE letter_recipients SET signed = TRUE
        WHERE letter_id = NEW.letter_id AND enterprise_id = NEW.enterprise_id AND NOT signed;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER signatures_signed_update AFTER UPDATE ON signatures
BEGIN
    UPDATE letter_recipients SET signed = EXISTS (SELECT 1 FROM signatures sg
            WHERE sg.letter_id = letter_recipients.letter_id AND sg.enterprise_id = letter_recipients.enterprise_id)
        WHERE (letter_id = OLD.letter_id AND enterprise_id = OLD.enterprise_id)
           OR (letter_id = NEW.letter_id AND enterprise_id = NEW.enterprise_id);
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER signatures_signed_delete AFTER DELETE ON signatures
BEGIN
    UPDATE letter_recipients SET signed = EXISTS (SELECT 1 FROM signatures sg
            WHERE sg.letter_id = letter_recipients.letter_id AND sg.enterprise_id = letter_recipients.enterprise_id)
        WHERE letter_id = OLD.letter_id AND enterprise_id = OLD.enterprise_id;
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER signatures_signed_delete;
DROP TRIGGER signatures_signed_update;
DROP TRIGGER signatures_signed_insert;
DROP INDEX letter_recipients_unsigned;
ALTER TABLE letter_recipients DROP COLUMN signed;
