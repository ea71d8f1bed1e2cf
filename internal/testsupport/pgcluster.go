package testsupport

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// PostgresCluster is a throwaway PostgreSQL server of the test's own, on a
// free loopback port, which the test may stop and start at will (the shared
// server must not be stopped under other tests' feet).
type PostgresCluster struct {
	bin  string
	dir  string
	port int
	// runAs is set when the test runs as root: PostgreSQL refuses to run
	// as root, so its commands run as this user.
	runAs string
}

// StartPostgresCluster initialises and starts a cluster; it is stopped and
// removed when the test ends. Without PostgreSQL's server binaries the test
// is skipped, or fails under CI=true.
func StartPostgresCluster(t testing.TB) *PostgresCluster {
	t.Helper()
	bin := postgresBinDir()
	if bin == "" {
		msg := "PostgreSQL server binaries (initdb, pg_ctl) not found; .ci/run installs Debian's postgresql"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	c := &PostgresCluster{bin: bin, port: freePort(t)}
	parent, err := os.MkdirTemp("", "roster-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(parent) })
	c.dir = filepath.Join(parent, "data")
	if os.Geteuid() == 0 {
		c.runAs = "postgres"
		u, err := user.Lookup(c.runAs)
		if err != nil {
			t.Fatalf("running as root needs the postgres user: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(parent, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := c.command("initdb", "-D", c.dir, "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8").CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	c.Start(t)
	t.Cleanup(func() {
		_ = c.command("pg_ctl", "-D", c.dir, "-m", "immediate", "-w", "stop").Run()
	})
	return c
}

func (c *PostgresCluster) command(name string, args ...string) *exec.Cmd {
	path := filepath.Join(c.bin, name)
	if c.runAs != "" {
		return exec.Command("runuser", append([]string{"-u", c.runAs, "--", path}, args...)...)
	}
	return exec.Command(path, args...)
}

// URL is the cluster's database URL.
func (c *PostgresCluster) URL() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", c.port)
}

// Start starts the server and waits until it accepts connections.
func (c *PostgresCluster) Start(t testing.TB) {
	t.Helper()
	opts := fmt.Sprintf("-p %d -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c fsync=off", c.port)
	if out, err := c.command("pg_ctl", "-D", c.dir, "-o", opts, "-l", c.dir+"/../server.log", "-w", "-t", "60", "start").CombinedOutput(); err != nil {
		log, _ := os.ReadFile(c.dir + "/../server.log")
		t.Fatalf("pg_ctl start: %v\n%s\n%s", err, out, log)
	}
	db, err := sql.Open("pgx", c.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		err := db.PingContext(ctx)
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("cluster did not accept connections: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Stop stops the server the way an operator restarting it would.
func (c *PostgresCluster) Stop(t testing.TB) {
	t.Helper()
	if out, err := c.command("pg_ctl", "-D", c.dir, "-m", "fast", "-w", "stop").CombinedOutput(); err != nil {
		t.Fatalf("pg_ctl stop: %v\n%s", err, out)
	}
}

// postgresBinDir finds Debian's (or a PATH's) PostgreSQL server binaries,
// newest version first.
func postgresBinDir() string {
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		if _, err := exec.LookPath("initdb"); err == nil {
			return filepath.Dir(p)
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return versionOf(dirs[i]) > versionOf(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d
		}
	}
	return ""
}

func versionOf(dir string) int {
	parts := strings.Split(dir, "/")
	n, _ := strconv.Atoi(parts[len(parts)-2])
	return n
}

func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
