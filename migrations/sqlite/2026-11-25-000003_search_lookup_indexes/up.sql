-- Every search statement names the parameter, so the lookup indexes lead with it.
-- With (res_type, param) alone in front, a planner without fresh statistics (SQLite
-- always, PostgreSQL right after a bulk load) took the bare (res_type, param) index
-- and scanned every identifier of a type to find one.
DROP INDEX search_token_param;
DROP INDEX search_token_code;
DROP INDEX search_token_system_code;
DROP INDEX search_token_system;
CREATE INDEX search_token_code ON search_token (res_type, param, hash_code);
CREATE INDEX search_token_system_code ON search_token (res_type, param, hash_system_code);
CREATE INDEX search_token_system ON search_token (res_type, param, hash_system);

-- References are looked up by target id; the type is not always given (`patient=123`).
DROP INDEX search_reference_target;
CREATE INDEX search_reference_target ON search_reference (res_type, param, target_id);
