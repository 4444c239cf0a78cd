ALTER TABLE resources DROP CONSTRAINT resources_pkey;
ALTER TABLE resources ADD PRIMARY KEY (res_type, res_id);
CREATE INDEX resources_tenant_id ON resources (tenant, res_type, res_id);
