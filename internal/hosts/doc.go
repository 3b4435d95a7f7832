// Package hosts runs relutune across several hosts built on one Linux
// machine: each worker host is a network namespace with its own empty
// working directory, joined by a veth pair to a bridge (10.77.0.1/24 in
// the root namespace). nats-server listens on the bridge's address only;
// the Temporal dev server runs on a services host of its own (10.77.0.2:
// it dials its internal services at 127.0.0.1 whatever address it is
// given, so it listens on every address of its namespace, which are that
// and its loopback). The controller runs in the root namespace, where it
// also reaches Postgres on the loopback address, and reaches Temporal and
// NATS through the bridge like every worker.
//
// The tests and the scale benchmark need root (CI runs as root) and are
// built only with the hosts tag, so a plain `go test ./...` never sees
// them:
//
//	make test-hosts      # go test -tags hosts ./internal/hosts
//	make bench-scale     # go test -tags hosts -run '^$' -bench Scale ./internal/hosts
//
// Every namespace, link and process the harness makes is named with the
// prefix "rth" (processes in the root namespace are recorded in
// /tmp/relutune-hosts), removed when the run ends, and swept at the start
// of the next run when a crash left any behind. Runs on one machine take
// turns (a lock file in /tmp/relutune-hosts).
package hosts
