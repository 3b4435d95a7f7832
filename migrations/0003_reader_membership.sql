-- Let the service role act as relutune_reader, so `tunectl sql` can run
-- analysts' queries with only the reader's privileges (SET ROLE).
DO $$
BEGIN
    IF NOT pg_has_role(current_user, 'relutune_reader', 'MEMBER') THEN
        EXECUTE format('GRANT relutune_reader TO %I', current_user);
    END IF;
END
$$;
