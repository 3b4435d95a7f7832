-- Run once by the postgres image when it initialises an empty data volume
-- (docker-compose.yml mounts this directory as /docker-entrypoint-initdb.d).
-- The dashboard logs in as relutune_reader over TCP, where the image asks
-- for a password: give the role one now. The controller's migrations then
-- make it the read-only login role and keep this password. For local use
-- only, like the owner's password in docker-compose.yml.
CREATE ROLE relutune_reader LOGIN PASSWORD 'relutune-reader';
