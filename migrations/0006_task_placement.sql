-- Tasks placed on container instances (the EC2 launch type): the instance, the task's group,
-- and what it reserves there ({"cpu", "memory", "tcp": [ports], "udp": [ports]}), so that an
-- instance's remaining resources are its registered ones minus its unstopped tasks'.

ALTER TABLE tasks ADD COLUMN container_instance TEXT;   -- the instance id (last part of its ARN)
ALTER TABLE tasks ADD COLUMN task_group TEXT;
ALTER TABLE tasks ADD COLUMN reserved TEXT;
CREATE INDEX tasks_by_container_instance ON tasks (region, cluster, container_instance, last_status)
    WHERE container_instance IS NOT NULL;
