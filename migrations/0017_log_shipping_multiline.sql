-- awslogs' multi-line records: the pattern that starts an event (from awslogs-multiline-pattern
-- or awslogs-datetime-format; NULL when every line is an event) and how long a joined event
-- waits for the next start line. The cursor of such a shipment stays before the event being
-- joined, so a restarted berth joins it again from its first line.
ALTER TABLE log_shipping ADD COLUMN multiline TEXT;
ALTER TABLE log_shipping ADD COLUMN flush_ms INTEGER NOT NULL DEFAULT 5000;
