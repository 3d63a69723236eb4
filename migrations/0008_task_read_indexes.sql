-- Placement reads the unstopped tasks on a cluster's instances for every RunTask. Without this
-- index SQLite walks every task the cluster ever had, STOPPED ones included, so placement got
-- slower with the cluster's history (measured in BENCHMARKS.md).
CREATE INDEX tasks_placed_live ON tasks (region, cluster)
    WHERE container_instance IS NOT NULL AND last_status != 'STOPPED';

-- ListTasks and the cluster counts read (region, cluster, desired_status) ranges in id order.
-- Covering the ARN and lastStatus spares a lookup of each row, whose large document sits
-- before them (measured: 100 STOPPED tasks listed in 1 ms instead of 3).
DROP INDEX tasks_by_desired_status;
CREATE INDEX tasks_by_desired_status ON tasks (region, cluster, desired_status, id, arn, last_status);

-- Forgetting stopped tasks asks which stopped before a cutoff; without this index every pass
-- parsed the document of every STOPPED task (1.9 s with 10,000, holding the writer).
CREATE INDEX tasks_stopped_at ON tasks (CAST(json_extract(doc, '$.stoppedAt') AS REAL))
    WHERE last_status = 'STOPPED';
