// Package deploy holds the checks of the container deployment: the tests in
// this directory load ../docker-compose.yml with the Compose specification's
// own loader and parse ../Dockerfile, so a broken service graph, a missing
// healthcheck or an environment variable pointing at the wrong host fails
// `go test` rather than `docker compose up`. The healthcheck subdirectory is
// the probe the controller and worker containers run.
package deploy
