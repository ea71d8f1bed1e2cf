package postgres_test

import (
	"context"
	"testing"

	"roster/internal/store"
	"roster/internal/store/postgres"
	"roster/internal/store/storetest"
	"roster/internal/testsupport"
)

func TestConformance(t *testing.T) {
	storetest.RunTests(t, func(t *testing.T) store.Store { return testsupport.OpenPostgres(t) })
}

func TestMigrateIsIdempotent(t *testing.T) {
	url := testsupport.PostgresSchemaURL(t)
	applied, err := postgres.Migrate(context.Background(), url)
	if err != nil || len(applied) == 0 {
		t.Fatalf("first migrate applied %v, %v", applied, err)
	}
	applied, err = postgres.Migrate(context.Background(), url)
	if err != nil || len(applied) != 0 {
		t.Fatalf("second migrate applied %v, %v; want nothing", applied, err)
	}
}
