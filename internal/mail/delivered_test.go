package mail_test

import (
	"bufio"
	"context"
	"log/slog"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"roster/internal/mail"
	"roster/internal/store"
	"roster/internal/testsupport"
)

// dropAfterQueue is a mail server that takes each message (250 after its
// data) and then loses the connection, as a network drop or a restart
// right after queueing would; accepted counts the messages it took.
func dropAfterQueue(t *testing.T) (addr string, accepted *atomic.Int32) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	accepted = new(atomic.Int32)
	serve := func(c net.Conn) {
		defer c.Close()
		r := bufio.NewReader(c)
		say := func(s string) { c.Write([]byte(s + "\r\n")) }
		say("220 drop.test ESMTP")
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			switch cmd := strings.ToUpper(strings.TrimSpace(line)); {
			case strings.HasPrefix(cmd, "EHLO"), strings.HasPrefix(cmd, "HELO"):
				say("250-drop.test\r\n250 8BITMIME")
			case strings.HasPrefix(cmd, "DATA"):
				say("354 go ahead")
				for {
					l, err := r.ReadString('\n')
					if err != nil {
						return
					}
					if l == ".\r\n" {
						break
					}
				}
				accepted.Add(1)
				say("250 2.0.0 queued")
				return // and the connection is gone
			case strings.HasPrefix(cmd, "QUIT"):
				say("221 bye")
				return
			default:
				say("250 OK")
			}
		}
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go serve(c)
		}
	}()
	return ln.Addr().String(), accepted
}

// A message the server took is sent, even when the session fails after
// (its reset or its goodbye): sending it again would deliver it twice.
func TestMessageTakenIsNotSentAgain(t *testing.T) {
	addr, accepted := dropAfterQueue(t)
	env := testsupport.Start(t, testsupport.Options{}) // no worker of its own
	invite(t, env, newTenant(t, env), "bob@example.com", "en")
	sender, err := mail.NewSMTPSender(mail.SMTPConfig{URL: "smtp://" + addr, From: "roster <no-reply@roster.test>", Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	w := mail.NewWorker(env.Store, sender, env.Clock, mail.WorkerConfig{}, slog.New(slog.DiscardHandler), nil)
	for range 5 {
		w.RunOnce(context.Background())
		env.ManualClock().Advance(11 * time.Minute)
	}
	msgs, err := env.Store.ListOutbox(context.Background(), store.OutboxFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if n := accepted.Load(); n != 1 || msgs[0].SentAt == nil {
		t.Fatalf("the server took the one invitation %d times; sent at %v after %d attempts (%q)",
			n, msgs[0].SentAt, msgs[0].Attempts, msgs[0].LastError)
	}
}
