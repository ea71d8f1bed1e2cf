package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"roster/internal/store"
	"roster/internal/store/sqlite"
	"roster/internal/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.RunTests(t, func(t *testing.T) store.Store {
		s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "roster.db"))
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestMigrateIsIdempotent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "roster.db")
	applied, err := sqlite.Migrate(context.Background(), path)
	if err != nil || len(applied) == 0 {
		t.Fatalf("first migrate applied %v, %v", applied, err)
	}
	applied, err = sqlite.Migrate(context.Background(), path)
	if err != nil || len(applied) != 0 {
		t.Fatalf("second migrate applied %v, %v; want nothing", applied, err)
	}
}
