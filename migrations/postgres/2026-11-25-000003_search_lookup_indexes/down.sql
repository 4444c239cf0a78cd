DROP INDEX search_reference_target;
CREATE INDEX search_reference_target ON search_reference (target_type, target_id, param);

DROP INDEX search_token_code;
DROP INDEX search_token_system_code;
DROP INDEX search_token_system;
CREATE INDEX search_token_code ON search_token (res_type, hash_code);
CREATE INDEX search_token_system_code ON search_token (res_type, hash_system_code);
CREATE INDEX search_token_system ON search_token (res_type, hash_system);
CREATE INDEX search_token_param ON search_token (res_type, param);
