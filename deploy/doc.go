// Package deploy holds the checks of the deployments: the tests in this
// directory load ../docker-compose.yml with the Compose specification's own
// loader and parse ../Dockerfile, so a broken service graph, a missing
// healthcheck or an environment variable pointing at the wrong host fails
// `go test` rather than `docker compose up`; and they render the Helm chart
// in helm/relutune with the Helm SDK (helm.sh/helm/v3, the library the helm
// CLI is built on) and decode every manifest into its k8s.io/api type with
// unknown fields refused, so a misspelt field fails `go test` rather than
// `helm install`. Helm and the Kubernetes types are linked into these tests
// only, never into the relutune binaries. The healthcheck subdirectory is
// the probe the controller and worker containers run.
package deploy
