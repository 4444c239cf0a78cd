-- How a statement refuses to be committed: it raises an error. The statement that
-- finishes an HL7 message (src/store/staged_write.rs) is sent with the COMMIT
-- behind it, without waiting for its answer (one round trip instead of two). What
-- it finds wrong — a reference to another tenant's resource, a message row that
-- was not there to record — must therefore fail the statement itself: PostgreSQL
-- then answers the COMMIT with a ROLLBACK. The reason travels as the error's
-- constraint name (check_violation), the resource it names as detail and hint.
CREATE FUNCTION claimbridge_refuse(reason TEXT, res_type TEXT, res_id TEXT) RETURNS BIGINT
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    RAISE EXCEPTION 'refused: %', reason
        USING ERRCODE = 'check_violation', CONSTRAINT = reason, DETAIL = res_type, HINT = res_id;
END
$$;
