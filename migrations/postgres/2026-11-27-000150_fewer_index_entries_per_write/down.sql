ALTER TABLE billing_state_history ADD PRIMARY KEY (id);

CREATE INDEX audit_events_tenant_seq ON audit_events (tenant, seq);
ALTER TABLE audit_events DROP CONSTRAINT audit_events_pkey;
ALTER TABLE audit_events ADD PRIMARY KEY (seq);

DROP INDEX resource_history_updated;
CREATE INDEX resource_history_updated ON resource_history (last_updated);

CREATE INDEX resource_history_tenant_seq ON resource_history (tenant, change_seq);
ALTER TABLE resource_history DROP CONSTRAINT resource_history_pkey;
ALTER TABLE resource_history ADD PRIMARY KEY (change_seq);
