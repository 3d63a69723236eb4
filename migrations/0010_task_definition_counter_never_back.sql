-- The family counter never moves back: a revision inserted below the family's last one (none is
-- today, as every INSERT takes last_revision + 1) leaves last_revision where it is. Migration 0009
-- had already been applied to data dirs when this was found, so it stays as it was and the
-- trigger is replaced here.
DROP TRIGGER task_definitions_count_revision;
CREATE TRIGGER task_definitions_count_revision AFTER INSERT ON task_definitions
BEGIN
    INSERT INTO task_definition_families (region, family, last_revision, active_count)
    VALUES (NEW.region, NEW.family, NEW.revision, 1)
    ON CONFLICT (region, family) DO UPDATE
        SET last_revision = MAX(last_revision, excluded.last_revision), active_count = active_count + 1;
END;
