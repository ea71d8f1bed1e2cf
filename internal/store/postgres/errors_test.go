package postgres

import (
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

// A transaction PostgreSQL ends to break a deadlock or a serialization
// conflict is worth running again (503 with Retry-After), not an internal
// error; a constraint violation is neither.
func TestAbortedTransactions(t *testing.T) {
	for code, want := range map[string]bool{"40P01": true, "40001": true, "23505": false, "23503": false, "XX000": false} {
		err := fmt.Errorf("commit: %w", &pgconn.PgError{Code: code})
		if got := aborted(err); got != want {
			t.Errorf("SQLSTATE %s: aborted %v, want %v", code, got, want)
		}
	}
}
