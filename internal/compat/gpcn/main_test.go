package gpcn_test

import (
	"os"
	"testing"

	"roster/internal/testsupport"
)

// The dialect's end-to-end tests run on SQLite, then on PostgreSQL.
func TestMain(m *testing.M) { os.Exit(testsupport.MainOnEachBackend(m)) }
