DROP FUNCTION claimbridge_refuse(TEXT, TEXT, TEXT);
