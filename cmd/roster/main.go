// Command roster is a multi-tenant user-provisioning and identity service.
//
//	roster serve     run the service
//	roster migrate   apply database migrations and exit
//	roster mail list list the mail outbox
//	roster import    upload users from an NDJSON file
//	roster seed      fill a database for benchmarks
//	roster bench     load-test a roster over HTTP
//	roster config    print the configuration reference
//	roster version   print the version
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// The first signal asks for a graceful stop; the signals' default
		// comes back then, so that a second one ends the process at once.
		<-ctx.Done()
		stop()
	}()
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

const usage = `usage: roster <command> [flags]

commands:
  serve     run the service (HTTP API, vendor dialects, web pages)
  migrate   apply database migrations and exit
  mail list list the mail outbox (what waits to be sent, and why)
  import    upload users from an NDJSON file (POST /v1/users/import)
  seed      fill a database with tenants and users, for benchmarks
  bench     load-test a roster over HTTP
  config    print the configuration reference (flags and ROSTER_* variables)
  version   print the version

Run "roster <command> -h" for the flags of a command.
`

// run is main without the process: arguments, environment and output come
// in, an exit code goes out, so tests can drive it.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmd, rest := args[0], args[1:]
	var err error
	switch cmd {
	case "serve":
		err = serve(ctx, rest, getenv, stdout, stderr)
	case "migrate":
		err = migrate(ctx, rest, getenv, stdout, stderr)
	case "mail":
		err = mailCommand(ctx, rest, getenv, stdout, stderr)
	case "import":
		err = importCommand(ctx, rest, getenv, stdout, stderr)
	case "seed":
		err = seedCommand(ctx, rest, getenv, stdout, stderr)
	case "bench":
		err = benchCommand(ctx, rest, getenv, stdout, stderr)
	case "config":
		fmt.Fprint(stdout, configReference())
	case "version", "--version", "-v":
		fmt.Fprintln(stdout, "roster", version())
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprintf(stderr, "roster: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(stderr, "roster:", err)
		return 1
	}
	return 0
}

// version is the module version when built from a tagged module, else the
// VCS revision, else "dev".
func version() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "dev"
	}
	if v := info.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	for _, s := range info.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			return "dev-" + s.Value[:12]
		}
	}
	return "dev"
}
