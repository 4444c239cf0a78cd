-- Back to the database's default collation.
ALTER TABLE resources
    ALTER COLUMN tenant TYPE TEXT COLLATE "default",
    ALTER COLUMN res_type TYPE TEXT COLLATE "default",
    ALTER COLUMN res_id TYPE TEXT COLLATE "default";
ALTER TABLE resource_history
    ALTER COLUMN tenant TYPE TEXT COLLATE "default",
    ALTER COLUMN res_type TYPE TEXT COLLATE "default",
    ALTER COLUMN res_id TYPE TEXT COLLATE "default";
ALTER TABLE search_token
    ALTER COLUMN tenant TYPE TEXT COLLATE "default",
    ALTER COLUMN res_type TYPE TEXT COLLATE "default",
    ALTER COLUMN res_id TYPE TEXT COLLATE "default",
    ALTER COLUMN param TYPE TEXT COLLATE "default";
ALTER TABLE search_string
    ALTER COLUMN tenant TYPE TEXT COLLATE "default",
    ALTER COLUMN res_type TYPE TEXT COLLATE "default",
    ALTER COLUMN res_id TYPE TEXT COLLATE "default",
    ALTER COLUMN param TYPE TEXT COLLATE "default";
ALTER TABLE search_date
    ALTER COLUMN tenant TYPE TEXT COLLATE "default",
    ALTER COLUMN res_type TYPE TEXT COLLATE "default",
    ALTER COLUMN res_id TYPE TEXT COLLATE "default",
    ALTER COLUMN param TYPE TEXT COLLATE "default";
ALTER TABLE search_quantity
    ALTER COLUMN tenant TYPE TEXT COLLATE "default",
    ALTER COLUMN res_type TYPE TEXT COLLATE "default",
    ALTER COLUMN res_id TYPE TEXT COLLATE "default",
    ALTER COLUMN param TYPE TEXT COLLATE "default";
ALTER TABLE search_reference
    ALTER COLUMN tenant TYPE TEXT COLLATE "default",
    ALTER COLUMN res_type TYPE TEXT COLLATE "default",
    ALTER COLUMN res_id TYPE TEXT COLLATE "default",
    ALTER COLUMN param TYPE TEXT COLLATE "default",
    ALTER COLUMN target_type TYPE TEXT COLLATE "default",
    ALTER COLUMN target_id TYPE TEXT COLLATE "default",
    ALTER COLUMN target_url TYPE TEXT COLLATE "default",
    ALTER COLUMN identifier_value TYPE TEXT COLLATE "default";
ALTER TABLE search_uri
    ALTER COLUMN tenant TYPE TEXT COLLATE "default",
    ALTER COLUMN res_type TYPE TEXT COLLATE "default",
    ALTER COLUMN res_id TYPE TEXT COLLATE "default",
    ALTER COLUMN param TYPE TEXT COLLATE "default",
    ALTER COLUMN uri TYPE TEXT COLLATE "default";
ALTER TABLE hl7_messages
    ALTER COLUMN sending_application TYPE TEXT COLLATE "default",
    ALTER COLUMN sending_facility TYPE TEXT COLLATE "default",
    ALTER COLUMN control_id TYPE TEXT COLLATE "default",
    ALTER COLUMN message_type TYPE TEXT COLLATE "default",
    ALTER COLUMN status TYPE TEXT COLLATE "default";
ALTER TABLE billing_claims
    ALTER COLUMN claim_id TYPE TEXT COLLATE "default",
    ALTER COLUMN state TYPE TEXT COLLATE "default",
    ALTER COLUMN payer TYPE TEXT COLLATE "default",
    ALTER COLUMN assignee TYPE TEXT COLLATE "default";
ALTER TABLE billing_state_history
    ALTER COLUMN claim_id TYPE TEXT COLLATE "default",
    ALTER COLUMN to_state TYPE TEXT COLLATE "default";
