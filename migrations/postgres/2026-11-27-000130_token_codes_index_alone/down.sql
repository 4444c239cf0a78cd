CREATE INDEX search_token_system_code ON search_token (hash_identity, hash_system_code);
