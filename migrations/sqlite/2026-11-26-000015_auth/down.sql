DROP TABLE auth_assertion_jtis;
DROP TABLE auth_signing_keys;
DROP TABLE auth_clients;
