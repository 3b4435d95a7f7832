-- relutune_reader becomes a login role of its own: `tunectl sql` and
-- analysts connect as it (RELUTUNE_READER_URL) instead of switching roles
-- inside an owner's session, which a query could switch back. It may read
-- the result views and nothing else.
--
-- Roles are cluster-wide and every database of the cluster applies this
-- file, possibly at the same time: role changes are serialized on the
-- shared catalog, each is made only when the role differs from what is
-- wanted, and settings an operator already gave the role (a lower
-- statement_timeout, a password) are kept.

-- Per-epoch metrics with the study name, trial number and activation, so
-- metric queries need no base table.
CREATE VIEW epoch_metrics AS
SELECT s.name AS study,
       t.number AS trial,
       t.activation,
       t.config_hash,
       t.replicate,
       t.seed,
       t.status,
       m.epoch,
       m.attempt,
       m.train_loss,
       m.val_loss,
       m.val_accuracy,
       m.dead_fraction,
       m.saturation,
       m.grad_norm,
       m.samples_per_sec,
       m.lr,
       m.layers,
       m.recorded_at
FROM trial_metrics m
JOIN trials t ON t.id = m.trial_id
JOIN studies s ON s.id = t.study_id;

DO $$
DECLARE
    me_super boolean := (SELECT rolsuper FROM pg_roles WHERE rolname = current_user);
    r pg_roles%ROWTYPE;
    cfg text[];
    m record;
BEGIN
    -- Locks on shared catalogs are cluster-wide: concurrent migrations of
    -- other databases wait here instead of failing with "tuple concurrently
    -- updated". Only a superuser may take it; others rely on the checks below.
    IF me_super THEN
        LOCK TABLE pg_catalog.pg_authid IN SHARE ROW EXCLUSIVE MODE;
    END IF;

    BEGIN
        -- No password: the operator sets one (ALTER ROLE relutune_reader
        -- PASSWORD '...') where pg_hba.conf asks for it.
        CREATE ROLE relutune_reader LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE
            NOREPLICATION NOBYPASSRLS NOINHERIT CONNECTION LIMIT 16;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN
        NULL; -- made by an earlier migration or another database
    END;

    SELECT * INTO r FROM pg_roles WHERE rolname = 'relutune_reader';
    IF r.rolsuper THEN
        ALTER ROLE relutune_reader NOSUPERUSER;
    END IF;
    IF r.rolreplication OR r.rolbypassrls THEN
        ALTER ROLE relutune_reader NOREPLICATION NOBYPASSRLS;
    END IF;
    IF r.rolcreatedb OR r.rolcreaterole OR r.rolinherit OR NOT r.rolcanlogin THEN
        ALTER ROLE relutune_reader LOGIN NOCREATEDB NOCREATEROLE NOINHERIT;
    END IF;
    IF r.rolconnlimit < 0 THEN
        ALTER ROLE relutune_reader CONNECTION LIMIT 16;
    END IF;

    -- No role memberships either way: 0003 made the migrating role a member
    -- of relutune_reader for SET ROLE, and the reader must never hold
    -- another role's rights.
    FOR m IN SELECT a.roleid::regrole AS granted, a.member::regrole AS member
             FROM pg_auth_members a
             WHERE a.member = 'relutune_reader'::regrole OR a.roleid = 'relutune_reader'::regrole
    LOOP
        EXECUTE format('REVOKE %s FROM %s', m.granted, m.member);
    END LOOP;

    -- Session defaults, applied at login. A session may change them (SET);
    -- privileges, not these, are what keeps the reader from writing.
    SELECT s.setconfig INTO cfg FROM pg_db_role_setting s
    WHERE s.setdatabase = 0 AND s.setrole = 'relutune_reader'::regrole;
    cfg := coalesce(cfg, '{}');
    IF NOT cfg @> ARRAY['default_transaction_read_only=on'] THEN
        ALTER ROLE relutune_reader SET default_transaction_read_only = on;
    END IF;
    IF NOT EXISTS (SELECT FROM unnest(cfg) c WHERE c LIKE 'statement\_timeout=%') THEN
        ALTER ROLE relutune_reader SET statement_timeout = '30s';
    END IF;
    IF NOT EXISTS (SELECT FROM unnest(cfg) c WHERE c LIKE 'idle\_in\_transaction\_session\_timeout=%') THEN
        ALTER ROLE relutune_reader SET idle_in_transaction_session_timeout = '60s';
    END IF;
    -- A cap the role cannot raise (only a superuser may set it): sorts and
    -- hashes of a runaway query spill at most this much to disk.
    IF me_super AND NOT EXISTS (SELECT FROM unnest(cfg) c WHERE c LIKE 'temp\_file\_limit=%') THEN
        ALTER ROLE relutune_reader SET temp_file_limit = '1GB';
    END IF;

    -- This database: connect, and nothing else that PUBLIC would give.
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO relutune_reader', current_database());
    IF me_super OR (SELECT datdba = (SELECT oid FROM pg_roles WHERE rolname = current_user)
                    FROM pg_database WHERE datname = current_database()) THEN
        EXECUTE format('REVOKE TEMPORARY ON DATABASE %I FROM PUBLIC', current_database());
        -- The metrics sink stages rows in a temporary table.
        EXECUTE format('GRANT TEMPORARY ON DATABASE %I TO CURRENT_USER', current_database());
    END IF;

    -- Functions PUBLIC may run that let a session act on others or write
    -- outside the tables: signalling backends, advisory locks (the
    -- migration lock among them) and large objects. Only the functions'
    -- owner, a superuser, can revoke these.
    IF me_super THEN
        FOR m IN SELECT p.oid::regprocedure AS fn, p.proname FROM pg_proc p
                 WHERE p.pronamespace = 'pg_catalog'::regnamespace
                   AND (p.proname IN ('pg_terminate_backend', 'pg_cancel_backend', 'pg_logical_emit_message',
                                      'lo_creat', 'lo_create', 'lo_from_bytea', 'lo_put', 'lowrite',
                                      'lo_unlink', 'lo_truncate', 'lo_truncate64', 'lo_open', 'lo_import', 'lo_export')
                        OR p.proname LIKE 'pg\_advisory\_%' OR p.proname LIKE 'pg\_try\_advisory\_%')
        LOOP
            EXECUTE format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC', m.fn);
            IF m.proname LIKE '%advisory%' THEN
                -- The migrations' lock; a superuser needs no grant, but a
                -- service role that is not one does.
                EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO CURRENT_USER', m.fn);
            END IF;
        END LOOP;
    END IF;
END
$$;

-- No one but the owner creates objects in the schema.
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO relutune_reader;

-- The views, nothing else: no base table, sequence or migration record.
-- SELECT on a view reads its tables with the view owner's rights.
REVOKE ALL ON ALL TABLES IN SCHEMA public FROM relutune_reader;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM relutune_reader;
GRANT SELECT ON trial_ranking, config_ranking, activation_summary, activation_seed_means,
    trial_diagnostics, epoch_metrics TO relutune_reader;
