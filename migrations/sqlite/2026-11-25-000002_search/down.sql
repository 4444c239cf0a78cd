DROP INDEX resources_type_updated;
DROP INDEX search_token_param;
DROP INDEX search_reference_url;
DROP INDEX search_reference_identifier;
