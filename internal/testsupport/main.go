package testsupport

import (
	"fmt"
	"os"
	"os/exec"
	"testing"

	"roster/internal/store"
)

// backendEnv selects the backend of servers that Start makes without an
// explicit store: sqlite (the default) or postgres.
const backendEnv = "ROSTER_TEST_BACKEND"

// MainOnEachBackend runs a package's tests on SQLite and then, in a child
// process of the same test binary with the same flags, on PostgreSQL, so
// that every end-to-end suite proves both backends without each test
// looping over them. Use it as the package's TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(testsupport.MainOnEachBackend(m)) }
func MainOnEachBackend(m *testing.M) int {
	code := m.Run()
	if os.Getenv(backendEnv) != "" {
		return code // the child
	}
	fmt.Println("=== the same tests on PostgreSQL")
	cmd := exec.Command(os.Args[0], os.Args[1:]...)
	cmd.Env = append(os.Environ(), backendEnv+"=postgres")
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		if code == 0 {
			code = 1
		}
	}
	return code
}

// OpenDefault opens a fresh store of the backend this process tests.
func OpenDefault(t testing.TB) store.Store {
	t.Helper()
	if os.Getenv(backendEnv) == "postgres" {
		return OpenPostgres(t)
	}
	return OpenSQLite(t)
}
