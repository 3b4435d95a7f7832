// Command tunectl submits, follows and ranks relutune studies.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/relutune/relutune/internal/cli/cmdutil"
	"github.com/relutune/relutune/internal/cli/root"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := root.Execute(ctx, cmdutil.System(), os.Args[1:])
	stop()
	os.Exit(code)
}
