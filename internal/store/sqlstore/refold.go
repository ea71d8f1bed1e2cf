package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"

	"github.com/pressly/goose/v3"

	"roster/internal/core"
)

// MigrationName names an applied migration for people: its file, or its
// version for one written in Go, which has none.
func MigrationName(src *goose.Source) string {
	if src.Path != "" {
		return src.Path
	}
	return fmt.Sprintf("%05d (in Go)", src.Version)
}

// RefoldVersion is the migration that folds the compared forms written
// before core.Fold added Unicode normalization to lower-casing.
const RefoldVersion = 6

// foldedColumn is a compared form and the column it is made from.
type foldedColumn struct{ table, source, folded string }

var foldedColumns = []foldedColumn{
	{"users", "email", "email_norm"},
	{"users", "username", "username_norm"},
	{"users", "name", "name_norm"},
	{"tenants", "name", "name_norm"},
	{"resource_groups", "name", "name_norm"},
}

// RefoldMigration rewrites every compared form that core.Fold now makes
// differently from plain lower-casing: only text outside ASCII can differ,
// so few rows change. A row whose new form another live row already holds
// (two users whose emails differed only in how an accent was encoded)
// keeps its old form, found by id; lookups by that email find the other
// user, and an update of the row is refused until its email (or
// username) is changed to one of its own, so each such row is logged for
// the operator. Each write is tried under a savepoint, since PostgreSQL
// ends a transaction at a failed statement.
func RefoldMigration(d *Dialect) *goose.Migration {
	return goose.NewGoMigration(RefoldVersion, &goose.GoFunc{RunTx: func(ctx context.Context, tx *sql.Tx) error {
		for _, c := range foldedColumns {
			if err := refold(ctx, tx, d, c); err != nil {
				return fmt.Errorf("refold %s.%s: %w", c.table, c.folded, err)
			}
		}
		return nil
	}}, nil)
}

func refold(ctx context.Context, tx *sql.Tx, d *Dialect, c foldedColumn) error {
	rows, err := tx.QueryContext(ctx, `SELECT id, `+c.source+`, `+c.folded+` FROM `+c.table+` ORDER BY id`)
	if err != nil {
		return err
	}
	type change struct{ id, folded string }
	var changes []change
	for rows.Next() {
		var id, source, folded string
		if err := rows.Scan(&id, &source, &folded); err != nil {
			rows.Close()
			return err
		}
		if f := core.Fold(source); f != folded {
			changes = append(changes, change{id, f})
		}
	}
	if err := rows.Close(); err != nil {
		return err
	}
	if err := rows.Err(); err != nil {
		return err
	}
	update := d.rebind(`UPDATE ` + c.table + ` SET ` + c.folded + ` = ? WHERE id = ?`)
	for _, ch := range changes {
		if _, err := tx.ExecContext(ctx, "SAVEPOINT refold"); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, update, ch.folded, ch.id); err != nil {
			if _, ok := d.UniqueViolation(err); !ok {
				return err
			}
			if _, err := tx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT refold"); err != nil {
				return err
			}
			slog.WarnContext(ctx, "a compared form could not be folded: another row holds it; change this row's text",
				"table", c.table, "column", c.source, "id", ch.id)
		}
		if _, err := tx.ExecContext(ctx, "RELEASE SAVEPOINT refold"); err != nil {
			return err
		}
	}
	return nil
}
