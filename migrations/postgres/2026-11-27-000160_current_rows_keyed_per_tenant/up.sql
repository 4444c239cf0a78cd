-- The current rows are keyed by (tenant, res_type, res_id), the index every read,
-- search and write already went through (`resources_tenant_id`), and lose their
-- key on (res_type, res_id): a resource written cost an entry in both (issues 4
-- and 5's figures, BENCHMARKS.md).
--
-- Ids stay unique across tenants: every resource's first version is in
-- resource_history, whose key (res_type, res_id, version_id) spans tenants, so
-- two tenants creating one id still collide there, in the same statement as
-- before. The questions that ignore the tenant (is this id anyone's? does a
-- reference name another tenant's resource?) are asked of that key now
-- (src/store/ops.rs `id_in_use`, src/store/search.rs
-- `foreign_target_statements`, src/store/staged_write.rs).
--
-- Upgrading builds the new key under an exclusive lock on the table: on a large
-- database, run it in a maintenance window.
DROP INDEX resources_tenant_id;
ALTER TABLE resources DROP CONSTRAINT resources_pkey;
ALTER TABLE resources ADD PRIMARY KEY (tenant, res_type, res_id);
