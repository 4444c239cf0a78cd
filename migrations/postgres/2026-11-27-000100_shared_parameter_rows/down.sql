-- The earlier version reads these parameters' own rows: copied back from the rows
-- that hold their values now.
INSERT INTO search_string (tenant, res_type, res_id, param, value_normalized, value_exact)
    SELECT tenant, res_type, res_id, 'phonetic', value_normalized, value_exact
    FROM search_string WHERE res_type IN ('Patient', 'Practitioner') AND param = 'name';
INSERT INTO search_reference (tenant, res_type, res_id, param, target_type, target_id, target_url,
                              identifier_system, identifier_value)
    SELECT tenant, res_type, res_id, 'patient', target_type, target_id, target_url,
           identifier_system, identifier_value
    FROM search_reference WHERE res_type = 'Coverage' AND param = 'beneficiary';
