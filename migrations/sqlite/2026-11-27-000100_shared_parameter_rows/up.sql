-- Parameters whose values another parameter of the type already indexes (the same
-- kind and paths) are no longer written: searches on them read that parameter's
-- rows (src/fhir/search/definitions.rs, `stored_as`). Patient's and
-- Practitioner's `phonetic` are their `name`, Coverage's `patient` its
-- `beneficiary`. The rows written under the old codes are read by nothing now.
DELETE FROM search_string WHERE res_type IN ('Patient', 'Practitioner') AND param = 'phonetic';
DELETE FROM search_reference WHERE res_type = 'Coverage' AND param = 'patient';
