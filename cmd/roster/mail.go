package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	"roster/internal/mail"
	"roster/internal/store"
)

const mailUsage = `usage: roster mail list [--db DB] [--status pending|sent|all] [--bodies]

Lists the mail outbox: what waits to be sent (with its attempts and last
error) and what was sent. Without ROSTER_SMTP_URL nothing is sent, and this
is how an operator sees the invitations. --bodies prints the text of each
unsent email, which holds its link: treat the output as a secret.
`

func mailCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "list" {
		fmt.Fprint(stderr, mailUsage)
		return errors.New("unknown mail command")
	}
	fs := flag.NewFlagSet("roster mail list", flag.ContinueOnError)
	fs.SetOutput(stderr)
	db := fs.String("db", "", "SQLite file path, or a postgres:// URL (env ROSTER_DB, default roster.db)")
	status := fs.String("status", "pending", "pending, sent or all")
	bodies := fs.Bool("bodies", false, "print the text of unsent emails (they hold invitation links)")
	limit := fs.Int("limit", 1000, "at most this many messages")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	dsn := *db
	if dsn == "" {
		dsn = getenv("ROSTER_DB")
	}
	if dsn == "" {
		dsn = "roster.db"
	}
	dsn, err := checkDB(dsn)
	if err != nil {
		return fmt.Errorf("--db: %w", err)
	}
	f := store.OutboxFilter{Limit: *limit}
	switch *status {
	case "pending":
		f.Pending = true
	case "sent":
		f.Sent = true
	case "all":
	default:
		return fmt.Errorf("--status must be pending, sent or all")
	}
	if !isPostgres(dsn) {
		// Reading must not make a new, empty database of a mistyped path.
		if _, err := os.Stat(dsn); err != nil {
			return fmt.Errorf("no database file at %s", dsn)
		}
	}
	st, err := openStore(ctx, dsn)
	if err != nil {
		return err
	}
	defer st.Close()
	msgs, err := st.ListOutbox(ctx, f)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CREATED\tKIND\tRECIPIENT\tSTATUS\tATTEMPTS\tNEXT ATTEMPT\tLAST ERROR")
	for _, m := range msgs {
		state, next := "pending", m.NextAttemptAt.Format(time.RFC3339)
		if m.SentAt != nil {
			state, next = "sent "+m.SentAt.Format(time.RFC3339), "-"
		}
		lastErr := m.LastError
		if lastErr == "" {
			lastErr = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\n", m.CreatedAt.Format(time.RFC3339), m.Kind, m.Recipient, state,
			m.Attempts, next, lastErr)
		if *bodies && m.SentAt == nil {
			tw.Flush()
			r, err := mail.RenderMessage(m)
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "\n  Subject: %s\n\n%s\n", r.Subject, indent(r.Text))
		}
	}
	tw.Flush()
	if len(msgs) == 0 {
		fmt.Fprintf(stdout, "no %s messages\n", *status)
	}
	return nil
}

func indent(s string) string {
	out := "  "
	for _, r := range s {
		out += string(r)
		if r == '\n' {
			out += "  "
		}
	}
	return out
}
