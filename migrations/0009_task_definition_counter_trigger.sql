-- RegisterTaskDefinition in one statement: the new revision's row computes its number from the
-- family counter, and this trigger moves the counter in the same statement, so a registration is
-- one round trip to the writer instead of a transaction of four.
CREATE TRIGGER task_definitions_count_revision AFTER INSERT ON task_definitions
BEGIN
    INSERT INTO task_definition_families (region, family, last_revision, active_count)
    VALUES (NEW.region, NEW.family, NEW.revision, 1)
    ON CONFLICT (region, family) DO UPDATE
        SET last_revision = excluded.last_revision, active_count = active_count + 1;
END;
