DROP TABLE auth_revocations;
DROP TABLE auth_launch_contexts;
DROP TABLE auth_refresh_tokens;
DROP TABLE auth_codes;
DROP TABLE auth_users;
